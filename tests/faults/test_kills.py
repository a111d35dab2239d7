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
DELIVERING_CASES, DELIVERING_KILLS = (12, 0) if EVERYTHING else (3, 4)


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


@pytest.mark.xfail(
    strict=not EVERYTHING,  # with every point dealt out, a case may by chance hold only harmless ones
    reason="bug: after a kill mid-delivery the dead process's claim holds its item, and every later step of the "
    "same meeting (or the same DM), for the 2-minute lease: the panel lags the phases, or a DM a member is to answer "
    "in the next step is not there yet; in the seeded cases nothing is posted twice (see test_outbox_recovery.py)",
)
@pytest.mark.parametrize("case", range(DELIVERING_CASES))
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
