"""The bot killed without a clean shutdown at seeded points of a meeting's life, then restarted on the same database.

Each case lives the whole life of `scenario.STEPS` (rota confirmations and escalation, both reminders, the
opening, every phase from the panel, check-ins, feedback, the end) and is killed at several seeded points: once
a step is done, just before Discord handles one of the bot's requests, or just after Discord handled it but
before the bot heard back. The result must equal the life lived without faults: every message once (by
content, order and nonce), every phase reached and timed, attendance and feedback counted exactly.

`FAULT_SWEEP=all` kills at every point of the life instead of the seeded sample `make test` uses.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.faults.killswitch import AFTER, BEFORE, RequestPoint
from tests.faults.scenario import DROP, IDLE, Point, RATE_LIMITED, Run, STEPS, differences, golden, live

pytestmark = pytest.mark.e2e

SEED = 20261201
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
EVERYTHING = os.environ.get("FAULT_SWEEP") == "all"
# make test: 2 x 16 = 32 points between steps or while answering a member, 3 x 4 while delivering. Everything:
# as many cases as the step with the most points has points (a case kills at most once per step).
ANSWERING_CASES, ANSWERING_KILLS = (5, 0) if EVERYTHING else (2, 16)
DELIVERING_CASES, DELIVERING_KILLS = (14, 0) if EVERYTHING else (3, 4)  # 14: the opening's 7 writes, before and after


def points_of(run: Run, *, delivering: bool) -> list[tuple[int, Point]]:
    """Every kill point of the life: idle after each step and around each write (answers or deliveries)."""
    found: list[tuple[int, Point]] = [] if delivering else [(index, IDLE) for index in range(len(STEPS))]
    for index, writes in enumerate(run.writes):
        for number, route in enumerate(writes):
            if (route != CALLBACK) == delivering:
                found += [(index, RequestPoint(number, BEFORE)), (index, RequestPoint(number, AFTER))]
    return found


def plan(points: list[tuple[int, Point]], cases: int, per_case: int, case: int) -> dict[int, Point]:
    """Deal the shuffled points to `cases` cases, at most one per step each (all of them if `per_case` is 0)."""
    shuffled = list(points)
    random.Random(SEED).shuffle(shuffled)
    dealt: list[dict[int, Point]] = [{} for _ in range(cases)]
    for step, point in shuffled:
        room = [plan for plan in dealt if step not in plan and (per_case == 0 or len(plan) < per_case)]
        if room:
            min(room, key=len)[step] = point
    if per_case == 0:
        assert sum(len(plan) for plan in dealt) == len(points), "more cases needed to cover every point"
    return dealt[case]


def described(run: Run) -> str:
    return "faults: " + "; ".join(run.faults)


@pytest.mark.parametrize("case", range(ANSWERING_CASES))
async def test_killed_between_steps_or_while_answering_a_member_nothing_is_posted_twice_or_lost(
    case: int, empty_database_url: str
) -> None:
    expected = await golden()
    points = plan(points_of(expected, delivering=False), ANSWERING_CASES, ANSWERING_KILLS, case)
    run = await live(points, database_url=empty_database_url)
    assert differences(run.outcome, expected.outcome) == [], described(run)
    assert len(run.faults) == len(points), described(run)


# Cases whose plan kills at a write that a restart earlier in the run has already made: ending the meeting requests the
# event of the next meeting but four, which the restarted bot's start-up (extending the schedules) requested already.
# Everything else they check holds. With every point dealt out, other cases may meet it (or a kill in the middle of a
# "time passes" step, whose rest of the clock's advance is then not lived, moving the meeting's end).
MOVED_WRITE = pytest.mark.xfail(
    strict=not EVERYTHING,
    reason="a planned kill point never comes: one of the step's writes (the next event's POST .../scheduled-events, "
    "requested when the meeting ends) was made at an earlier restart instead, so the step makes one write fewer",
)
# Case 0's plan no longer meets it since the meeting's end posts its feedback button (the dealt points moved).
MOVED_WRITE_CASES = range(DELIVERING_CASES) if EVERYTHING else (1,)


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, marks=MOVED_WRITE) if case in MOVED_WRITE_CASES else case for case in range(DELIVERING_CASES)],
)
async def test_killed_while_delivering_a_step_nothing_is_posted_twice_or_lost(case: int) -> None:
    expected = await golden()
    points = plan(points_of(expected, delivering=True), DELIVERING_CASES, DELIVERING_KILLS, case)
    run = await live(points)
    assert differences(run.outcome, expected.outcome) == [], described(run)
    assert len(run.faults) == len(points), described(run)


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
