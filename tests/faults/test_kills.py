"""The bot killed without a clean shutdown at seeded points of a meeting's life, then restarted on the same database.

Each case lives the whole life of `scenario.STEPS` (rota confirmations and escalation, both reminders, the
opening, every phase from the panel, check-ins, feedback, the end) and is killed at several seeded points: once
a step is done, just before Discord handles one of the bot's requests, or just after Discord handled it but
before the bot heard back. The result must equal the life lived without faults: every message once (by
content, order and nonce), every phase reached and timed, attendance and feedback counted exactly.

Kill points are planned from the writes the life without faults made, each named by what it says (a restart may add
writes to a later step, such as a DM channel opened again, or make one of them early); a restart that makes a planned
write first is killed there. So every planned point is met, or the case fails saying which never came.

`FAULT_SWEEP=all` kills at every point of the life instead of the seeded sample `make test` uses.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import pytest

from tests.faults.killswitch import AFTER, BEFORE, RequestPoint
from tests.faults.scenario import DROP, IDLE, Point, RATE_LIMITED, Run, STEPS, differences, golden, live

pytestmark = pytest.mark.e2e

SEED = 20261201
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
EVERYTHING = os.environ.get("FAULT_SWEEP") == "all"
# make test: 2 x 16 = 32 points between steps or while answering a member, 4 x 6 while delivering (4: as many as
# kinds of write only the meeting's end makes). Everything: as many cases as the step with the most points has points
# (a case kills at most once per step).
ANSWERING_CASES, ANSWERING_KILLS = (5, 0) if EVERYTHING else (2, 16)
DELIVERING_CASES, DELIVERING_KILLS = (14, 0) if EVERYTHING else (4, 6)  # 14: the opening's 7 writes, before and after


@dataclass(frozen=True)
class Planned:
    """A kill point of the life: its step, where in the step, and its kind (what it kills around, and when)."""

    step: int
    point: Point
    kind: str


def points_of(run: Run, *, delivering: bool) -> list[Planned]:
    """Every kill point of the life: idle after each step and around each write (answers or deliveries).

    A write is named by what it says and how many of the same the step made before it, not by its place among the
    step's writes: a restart may add writes to a later step (a DM channel opened again) or take one away.
    """
    found = [] if delivering else [Planned(index, IDLE, IDLE) for index in range(len(STEPS))]
    for index, writes in enumerate(run.writes):
        for number, write in enumerate(writes):
            if (write.route != CALLBACK) != delivering:
                continue
            same = sum(1 for earlier in writes[:number] if earlier.matches(write.route, write.what))
            where = f"{write.route} in a DM" if write.in_dm else write.route
            for when in (BEFORE, AFTER):
                found.append(Planned(index, RequestPoint(same, when, write.route, write.what), f"{when} {where}"))
    return found


def plan(points: list[Planned], cases: int, per_case: int, case: int) -> dict[int, Point]:
    """Deal the points to `cases` cases, at most one per step each (all of them if `per_case` is 0).

    Every kind of point is dealt first, so the sample kills before and after each kind of write the bot makes (a
    message, a DM, an edit, an event, ...) however the life's writes change; then the rest, shuffled, while room lasts.
    """
    shuffled = random.Random(SEED).sample(points, len(points))
    dealt: list[dict[int, Point]] = [{} for _ in range(cases)]

    def deal(planned: Planned) -> bool:
        room = [plan for plan in dealt if planned.step not in plan and (per_case == 0 or len(plan) < per_case)]
        if room:
            min(room, key=len)[planned.step] = planned.point
        return bool(room)

    kinds: dict[str, list[Planned]] = {}
    for planned in shuffled:
        kinds.setdefault(planned.kind, []).append(planned)
    first = set()
    for kind, candidates in sorted(kinds.items(), key=lambda item: (len(item[1]), item[0])):  # the scarcest first
        placed = next((planned for planned in candidates if deal(planned)), None)
        assert placed is not None, f"no room in {cases} cases for a kill {kind}"
        first.add(placed)
    for planned in shuffled:
        if planned not in first:
            deal(planned)
    if per_case == 0:
        assert sum(len(plan) for plan in dealt) == len(points), "more cases needed to cover every point"
    return dealt[case]


def described(run: Run) -> str:
    return "faults: " + "; ".join(run.faults)


def check(run: Run, expected: Run, points: dict[int, Point]) -> None:
    """Check the run ended as the run without faults did, and met every kill point planned."""
    assert differences(run.outcome, expected.outcome) == [], described(run)
    assert run.missed == [], f"planned kill points never came: {run.missed}; {described(run)}"
    assert len(run.faults) == len(points), described(run)


@pytest.mark.parametrize("case", range(ANSWERING_CASES))
async def test_killed_between_steps_or_while_answering_a_member_nothing_is_posted_twice_or_lost(
    case: int, migrated_database_url: str
) -> None:
    expected = await golden()
    points = plan(points_of(expected, delivering=False), ANSWERING_CASES, ANSWERING_KILLS, case)
    run = await live(points, database_url=migrated_database_url)
    check(run, expected, points)


@pytest.mark.parametrize("case", range(DELIVERING_CASES))
async def test_killed_while_delivering_a_step_nothing_is_posted_twice_or_lost(case: int) -> None:
    expected = await golden()
    points = plan(points_of(expected, delivering=True), DELIVERING_CASES, DELIVERING_KILLS, case)
    run = await live(points)
    check(run, expected, points)


async def test_gateway_dropped_again_and_again_during_a_meeting_loses_and_repeats_nothing() -> None:
    expected = await golden()
    steps = [index for index, (name, _step) in enumerate(STEPS) if "time passes" not in name]
    dropped = dict.fromkeys(random.Random(SEED).sample(steps, 10), DROP)
    run = await live(dropped)
    assert differences(run.outcome, expected.outcome) == [], described(run)
    assert (run.identifies, run.resumes) == (1, len(dropped))  # one session throughout, resumed each time


async def test_rate_limit_bursts_at_the_opening_and_in_every_phase_post_each_message_once() -> None:
    expected = await golden()
    opening = next(index for index, (name, _step) in enumerate(STEPS) if name == "the meeting opens")
    bursts = {index: RATE_LIMITED for index, (name, _step) in enumerate(STEPS) if "moves on" in name}
    run = await live({opening: RATE_LIMITED, **bursts})
    assert differences(run.outcome, expected.outcome) == [], described(run)
