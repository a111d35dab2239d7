"""Rota assignment: hard rules, fairness, rest, pairing of newcomers, stability and determinism."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bot.domain.rota import (
    Assignment,
    CO,
    Facilitator,
    LEAD,
    RotaPlan,
    RotaPolicy,
    Shortfall,
    Slot,
    assign,
    consecutive_runs,
    is_newly_trained,
    load_by_facilitator,
)

TODAY = date(2026, 11, 15)
# The horizon starts late in a month so plans cross two month boundaries and monthly maximums reset mid-plan.
HORIZON_START = datetime(2026, 11, 23, tzinfo=UTC)
HORIZON_UNITS = 8 * 7 * 4  # six-hour units in eight weeks
UNIT = timedelta(hours=6)
LONG_AGO = date(2020, 1, 1)
RECENTLY = date(2026, 10, 1)
SERIES = (None, 1, 2, 3)

# Generating a scenario costs far more than planning it; these budgets keep the whole file to a few seconds.
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TARGETED_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=75)


@dataclass(frozen=True)
class Scenario:
    """One planning input, as a service would build it."""

    slots: tuple[Slot, ...]
    facilitators: tuple[Facilitator, ...]
    existing: tuple[Assignment, ...]
    policy: RotaPolicy

    def plan(self) -> RotaPlan:
        return assign(self.slots, self.facilitators, self.existing, self.policy, today=TODAY)

    @property
    def fixed(self) -> tuple[Assignment, ...]:
        return tuple(assignment for assignment in self.existing if assignment.confirmed or assignment.pinned)


def make_slot(occurrence_id: int, start: datetime, minutes: int = 90, series_id: int | None = 1) -> Slot:
    return Slot(occurrence_id, series_id, start, start + timedelta(minutes=minutes), start.strftime("%Y-%m"))


def weekly_slots(count: int, first_id: int = 100) -> list[Slot]:
    return [make_slot(first_id + week, HORIZON_START + timedelta(weeks=week, hours=19)) for week in range(count)]


def person(
    facilitator_id: int,
    roles: frozenset[str] = frozenset({"lead", "co"}),
    *,
    trained_since: date = LONG_AGO,
    max_per_month: int | None = None,
    unavailable: tuple[tuple[datetime, datetime], ...] = (),
    preferred_series: frozenset[int] = frozenset(),
) -> Facilitator:
    return Facilitator(facilitator_id, roles, trained_since, max_per_month, unavailable, preferred_series)


def slot_lists(
    min_size: int = 1, max_size: int = 20, *, overlapping: bool = False
) -> st.SearchStrategy[tuple[Slot, ...]]:
    """Slots over eight weeks starting at least six hours apart; only the day-long ones overlap others."""
    minutes = st.sampled_from((60, 90, 120, 24 * 60) if overlapping else (60, 90, 120))
    slot = st.tuples(st.integers(0, HORIZON_UNITS - 1), st.integers(1, 10_000), minutes, st.sampled_from(SERIES))
    drawn = st.lists(slot, min_size=min_size, max_size=max_size, unique_by=(lambda s: s[0], lambda s: s[1]))
    return drawn.map(
        lambda rows: tuple(
            make_slot(o, HORIZON_START + unit * UNIT, length, series) for unit, o, length, series in rows
        )
    )


def unavailable_periods(max_size: int = 2) -> st.SearchStrategy[tuple[tuple[datetime, datetime], ...]]:
    """Absences of six hours to fifteen days, some starting before the horizon."""
    period = st.tuples(st.integers(-4, HORIZON_UNITS), st.integers(1, 60)).map(
        lambda p: (HORIZON_START + p[0] * UNIT, HORIZON_START + (p[0] + p[1]) * UNIT)
    )
    return st.lists(period, max_size=max_size).map(tuple)


ANY_ROLES = st.frozensets(st.sampled_from(("lead", "co", "host")))
LEAD_AND_CO = st.just(frozenset({"lead", "co"}))
TRAINING_DATES = st.sampled_from((LONG_AGO, RECENTLY, TODAY - timedelta(days=95)))
EXPERIENCED = st.just(LONG_AGO)


def rosters(
    min_size: int = 0,
    max_size: int = 8,
    *,
    roles: st.SearchStrategy[frozenset[str]] = ANY_ROLES,
    limits: bool = True,
    away: bool = True,
    trained: st.SearchStrategy[date] = TRAINING_DATES,
) -> st.SearchStrategy[tuple[Facilitator, ...]]:
    """Facilitators with unique ids; each kind of difference between them can be switched off."""
    facilitator = st.builds(
        Facilitator,
        id=st.integers(1, 500),
        roles=roles,
        trained_since=trained,
        max_per_month=st.none() | st.integers(0, 4) if limits else st.none(),
        unavailable=unavailable_periods() if away else st.just(()),
        preferred_series=st.frozensets(st.sampled_from((1, 2, 3))),
    )
    return st.lists(facilitator, min_size=min_size, max_size=max_size, unique_by=lambda f: f.id).map(tuple)


policies = st.builds(RotaPolicy, max_consecutive=st.integers(1, 3), co_facilitators=st.booleans())


@st.composite
def existing_assignments(
    draw: st.DrawFn, slots: tuple[Slot, ...], facilitators: tuple[Facilitator, ...]
) -> tuple[Assignment, ...]:
    """Earlier assignments: some confirmed or pinned, some tentative, some for people who have left the rota."""
    ids = [facilitator.id for facilitator in facilitators] + [9_999]
    existing = []
    for slot in slots:
        holders = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
        for role, holder in zip((LEAD, CO), holders, strict=False):
            if draw(st.booleans()):
                existing.append(
                    Assignment(
                        slot.occurrence_id, role, holder, confirmed=draw(st.booleans()), pinned=draw(st.booleans())
                    )
                )
    return tuple(existing)


@st.composite
def scenarios(draw: st.DrawFn, *, with_existing: bool = True) -> Scenario:
    slots = draw(slot_lists(overlapping=True))
    facilitators = draw(rosters())
    existing = draw(existing_assignments(slots, facilitators)) if with_existing else ()
    return Scenario(slots, facilitators, existing, draw(policies))


# Checks against the finished plan. Anything a later slot adds only makes a person less eligible, so "nobody could
# take this" judged on the final plan is implied by the planner's view at the time: the checks are sound.


def slot_index(slots: tuple[Slot, ...] | list[Slot]) -> dict[int, int]:
    ordered = sorted(slots, key=lambda slot: (slot.starts_at, slot.ends_at, slot.occurrence_id))
    return {slot.occurrence_id: i for i, slot in enumerate(ordered)}


def duties_of(plan: RotaPlan) -> dict[int, set[int]]:
    """Return occurrence ids per facilitator."""
    duties: dict[int, set[int]] = {}
    for assignment in plan.assignments:
        duties.setdefault(assignment.facilitator_id, set()).add(assignment.occurrence_id)
    return duties


def month_counts(plan: RotaPlan, slots: tuple[Slot, ...]) -> Counter[tuple[int, str]]:
    month = {slot.occurrence_id: slot.month_key for slot in slots}
    return Counter((a.facilitator_id, month[a.occurrence_id]) for a in plan.assignments)


def holders(plan: RotaPlan, occurrence_id: int) -> dict[str, int]:
    return {a.role: a.facilitator_id for a in plan.assignments if a.occurrence_id == occurrence_id}


def overlaps(a: Slot, b: Slot) -> bool:
    return a.occurrence_id != b.occurrence_id and a.starts_at < b.ends_at and b.starts_at < a.ends_at


def away_during(facilitator: Facilitator, slot: Slot) -> bool:
    """Return whether any moment of the slot falls in one of the facilitator's absences (not `is_away`: our own)."""
    # The later of the two starts comes before the earlier of the two ends exactly when the half-open periods share
    # a moment: however little of the slot the absence covers, and whichever end of it.
    return any(max(start, slot.starts_at) < min(end, slot.ends_at) for start, end in facilitator.unavailable)


def run_through(scenario: Scenario, plan: RotaPlan, facilitator_id: int, occurrence_id: int) -> int:
    """Return the run of adjacent duties the facilitator would have with this slot added to the final plan."""
    index = slot_index(scenario.slots)
    mine = {index[o] for o in duties_of(plan).get(facilitator_id, set())} | {index[occurrence_id]}
    i = index[occurrence_id]
    before = after = 0
    while i - before - 1 in mine:
        before += 1
    while i + after + 1 in mine:
        after += 1
    return before + 1 + after


def blocked_by_hard_rule(scenario: Scenario, plan: RotaPlan, facilitator: Facilitator, slot: Slot) -> bool:
    """Return whether the final plan shows the facilitator away, double-booked or at their monthly maximum."""
    if away_during(facilitator, slot):
        return True
    mine = duties_of(plan).get(facilitator.id, set())
    if any(overlaps(slot, other) for other in scenario.slots if other.occurrence_id in mine):
        return True
    limit = facilitator.max_per_month
    return limit is not None and month_counts(plan, scenario.slots)[facilitator.id, slot.month_key] >= limit


def planned(scenario: Scenario, plan: RotaPlan) -> list[Assignment]:
    """Return the assignments the planner made (not the confirmed or pinned ones it was given)."""
    fixed = {(a.occurrence_id, a.role) for a in scenario.fixed}
    return [a for a in plan.assignments if (a.occurrence_id, a.role) not in fixed]


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_duty_is_assigned_or_reported_exactly_once(scenario: Scenario) -> None:
    plan = scenario.plan()
    fixed_co = {a.occurrence_id for a in scenario.fixed if a.role == CO}
    for slot in scenario.slots:
        for role in (LEAD, CO):
            filled = [a for a in plan.assignments if (a.occurrence_id, a.role) == (slot.occurrence_id, role)]
            missing = [s for s in plan.shortfalls if (s.occurrence_id, s.role) == (slot.occurrence_id, role)]
            wanted = role == LEAD or scenario.policy.co_facilitators or slot.occurrence_id in fixed_co
            assert len(filled) + len(missing) == int(wanted)
            assert all(s.reason for s in missing)


@PROPERTY_SETTINGS
@given(scenarios())
def test_never_assigns_an_unavailable_person(scenario: Scenario) -> None:
    plan = scenario.plan()
    slots = {slot.occurrence_id: slot for slot in scenario.slots}
    roster = {f.id: f for f in scenario.facilitators}
    for assignment in planned(scenario, plan):
        assert not away_during(roster[assignment.facilitator_id], slots[assignment.occurrence_id])


@st.composite
def partial_absence(draw: st.DrawFn, slot: Slot) -> tuple[datetime, datetime]:
    """Return an absence covering only part of the slot, by as little as a minute: its start, its end, or a middle."""
    length = int((slot.ends_at - slot.starts_at) / timedelta(minutes=1))
    inside = draw(st.integers(1, length - 1))
    beyond = timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))
    shape = draw(st.sampled_from(("covers the end", "covers the start", "inside")))
    if shape == "covers the end":
        return slot.starts_at + timedelta(minutes=inside), slot.ends_at + beyond
    if shape == "covers the start":
        return slot.starts_at - beyond, slot.starts_at + timedelta(minutes=inside)
    until = draw(st.integers(inside + 1, length))
    return slot.starts_at + timedelta(minutes=inside - 1), slot.starts_at + timedelta(minutes=until - 1)


@st.composite
def partly_away_scenarios(draw: st.DrawFn) -> Scenario:
    """Scenarios where people are away for part of some meetings (and wholly away from none)."""
    slots = draw(slot_lists(max_size=10, overlapping=True))
    roster = draw(rosters(min_size=1, roles=LEAD_AND_CO, limits=False, away=False))
    facilitators = []
    for facilitator in roster:
        missed = draw(st.lists(st.sampled_from(slots), max_size=len(slots)))
        absences = tuple(draw(partial_absence(slot)) for slot in missed)
        facilitators.append(replace(facilitator, unavailable=absences))
    return Scenario(slots, tuple(facilitators), (), draw(policies))


@TARGETED_SETTINGS
@given(partly_away_scenarios())
def test_nobody_away_for_any_part_of_a_meeting_is_assigned_to_it(scenario: Scenario) -> None:
    plan = scenario.plan()
    slots = {slot.occurrence_id: slot for slot in scenario.slots}
    roster = {f.id: f for f in scenario.facilitators}
    for assignment in plan.assignments:
        slot = slots[assignment.occurrence_id]
        # Checked minute by minute as well: no minute of the meeting falls in one of the person's absences.
        minutes = int((slot.ends_at - slot.starts_at) / timedelta(minutes=1))
        for start, end in roster[assignment.facilitator_id].unavailable:
            assert not [m for m in range(minutes) if start <= slot.starts_at + timedelta(minutes=m) < end]


@pytest.mark.parametrize(
    ("away_from", "away_until"),
    [
        (timedelta(minutes=89), timedelta(days=3)),  # leaves for a trip a minute before the end
        (-timedelta(days=3), timedelta(minutes=1)),  # back from one a minute after the start
        (timedelta(minutes=30), timedelta(minutes=40)),  # ten minutes in the middle
        (-timedelta(hours=1), timedelta(hours=3)),  # the whole meeting and more
    ],
)
def test_someone_away_for_part_of_a_meeting_is_not_assigned(away_from: timedelta, away_until: timedelta) -> None:
    [slot] = weekly_slots(1)  # 90 minutes
    away = ((slot.starts_at + away_from, slot.starts_at + away_until),)
    plan = assign([slot], [person(1, unavailable=away)], [], RotaPolicy(co_facilitators=False), today=TODAY)
    assert plan == RotaPlan((), (Shortfall(slot.occurrence_id, LEAD, "the only person who can lead is away"),))


@pytest.mark.parametrize(
    ("away_from", "away_until"),
    [(-timedelta(days=3), timedelta(0)), (timedelta(minutes=90), timedelta(days=3))],
)
def test_an_absence_that_only_touches_a_meeting_does_not_stop_the_assignment(
    away_from: timedelta, away_until: timedelta
) -> None:
    [slot] = weekly_slots(1)
    away = (
        (slot.starts_at + away_from, slot.starts_at + away_until),
    )  # back exactly at the start, or leaves at the end
    plan = assign([slot], [person(1, unavailable=away)], [], RotaPolicy(co_facilitators=False), today=TODAY)
    assert plan.assignments == (Assignment(slot.occurrence_id, LEAD, 1),)


@PROPERTY_SETTINGS
@given(scenarios())
def test_never_goes_over_a_monthly_maximum(scenario: Scenario) -> None:
    plan = scenario.plan()
    counts = month_counts(plan, scenario.slots)
    month = {slot.occurrence_id: slot.month_key for slot in scenario.slots}
    roster = {f.id: f for f in scenario.facilitators}
    for assignment in planned(scenario, plan):
        limit = roster[assignment.facilitator_id].max_per_month
        # Confirmed duties alone may already exceed a maximum lowered later; the planner then adds none.
        assert limit is None or counts[assignment.facilitator_id, month[assignment.occurrence_id]] <= limit


@PROPERTY_SETTINGS
@given(scenarios())
def test_only_people_with_the_role_and_never_two_duties_at_once(scenario: Scenario) -> None:
    plan = scenario.plan()
    roster = {f.id: f for f in scenario.facilitators}
    slots = {slot.occurrence_id: slot for slot in scenario.slots}
    duties = duties_of(plan)
    for assignment in planned(scenario, plan):
        roles = roster[assignment.facilitator_id].roles
        assert "lead" in roles if assignment.role == LEAD else roles & {"lead", "co"}
        slot = slots[assignment.occurrence_id]
        assert not [o for o in duties[assignment.facilitator_id] if overlaps(slot, slots[o])]
    for slot in scenario.slots:
        on_duty = holders(plan, slot.occurrence_id)
        assert on_duty.get(LEAD) is None or on_duty.get(LEAD) != on_duty.get(CO)


@PROPERTY_SETTINGS
@given(scenarios())
def test_a_duty_is_left_open_only_when_nobody_could_take_it(scenario: Scenario) -> None:
    plan = scenario.plan()
    slots = {slot.occurrence_id: slot for slot in scenario.slots}
    for shortfall in plan.shortfalls:
        slot = slots[shortfall.occurrence_id]
        partner = holders(plan, slot.occurrence_id).get(LEAD if shortfall.role == CO else CO)
        capable = {"lead"} if shortfall.role == LEAD else {"lead", "co"}
        for facilitator in scenario.facilitators:
            if not facilitator.roles & capable or facilitator.id == partner:
                continue
            too_many_in_a_row = (
                shortfall.role == CO
                and run_through(scenario, plan, facilitator.id, slot.occurrence_id) > scenario.policy.max_consecutive
            )
            assert blocked_by_hard_rule(scenario, plan, facilitator, slot) or too_many_in_a_row


@TARGETED_SETTINGS
@given(policies, slot_lists(min_size=2, max_size=24), st.data())
def test_consecutive_limit_kept_when_enough_people_are_available(
    policy: RotaPolicy, slots: tuple[Slot, ...], data: st.DataObject
) -> None:
    # Only the people on duty in the slot before can be blocked by the limit, so one more available person than
    # there are duties per slot always leaves someone rested to lead; a co-facilitator never breaks the limit.
    # That is max_consecutive + 1 people except for max_consecutive=1 with co-facilitators, which needs three.
    duties_per_slot = 2 if policy.co_facilitators else 1
    needed = max(policy.max_consecutive + 1, duties_per_slot + 1)
    facilitators = data.draw(rosters(min_size=needed, max_size=needed + 4, roles=LEAD_AND_CO, limits=False))
    for slot in slots:
        assume(sum(not away_during(f, slot) for f in facilitators) >= needed)
    plan = assign(slots, facilitators, [], policy, today=TODAY)
    for runs in consecutive_runs(slots, plan.assignments).values():
        assert max(runs) <= policy.max_consecutive


@PROPERTY_SETTINGS
@given(scenarios())
def test_co_facilitators_never_break_the_consecutive_limit(scenario: Scenario) -> None:
    plan = scenario.plan()
    index = slot_index(scenario.slots)
    fixed = {(a.occurrence_id, a.role) for a in scenario.fixed}
    for assignment in planned(scenario, plan):
        if assignment.role != CO:
            continue
        # Measure the run only up to this slot plus fixed duties after it: later planned slots avoid it in turn.
        later_planned = {
            a.occurrence_id
            for a in plan.assignments
            if a.facilitator_id == assignment.facilitator_id
            and index[a.occurrence_id] > index[assignment.occurrence_id]
            and (a.occurrence_id, a.role) not in fixed
        }
        trimmed = RotaPlan(tuple(a for a in plan.assignments if a.occurrence_id not in later_planned), ())
        run = run_through(scenario, trimmed, assignment.facilitator_id, assignment.occurrence_id)
        assert run <= scenario.policy.max_consecutive


@TARGETED_SETTINGS
@given(
    slots=slot_lists(min_size=1, max_size=24),
    facilitators=rosters(
        min_size=1, max_size=12, roles=LEAD_AND_CO, limits=False, away=False, trained=st.just(LONG_AGO)
    ),
    policy=policies,
)
def test_load_spread_is_at_most_one_when_everyone_is_equally_available(
    slots: tuple[Slot, ...], facilitators: tuple[Facilitator, ...], policy: RotaPolicy
) -> None:
    # Any roster size: with few people the rest rule leaves co-facilitator duties open rather than unbalancing loads.
    plan = assign(slots, facilitators, [], policy, today=TODAY)
    assert not [shortfall for shortfall in plan.shortfalls if shortfall.role == LEAD]
    loads = load_by_facilitator(plan.assignments)
    everyone = [loads.get(f.id, 0) for f in facilitators]
    assert max(everyone) - min(everyone) <= 1


@TARGETED_SETTINGS
@given(
    slot_lists(overlapping=True),
    # Mostly newcomers, so the experienced few are in demand and often tired, away or at their maximum.
    rosters(
        min_size=2,
        roles=st.sampled_from((frozenset({"lead", "co"}), frozenset({"co"}))),
        trained=st.sampled_from((LONG_AGO, RECENTLY, RECENTLY)),
    ),
    policies,
)
def test_newcomers_are_paired_with_an_experienced_colleague_when_one_can_be(
    slots: tuple[Slot, ...], facilitators: tuple[Facilitator, ...], policy: RotaPolicy
) -> None:
    scenario = Scenario(slots, facilitators, (), policy)
    plan = scenario.plan()
    new = {f.id for f in facilitators if is_newly_trained(f, today=TODAY, months=3)}
    for slot in slots:
        on_duty = holders(plan, slot.occurrence_id)
        if not (on_duty.get(LEAD) in new and on_duty.get(CO) in new):
            continue
        for facilitator in facilitators:
            if facilitator.id in new:
                continue
            run = run_through(scenario, plan, facilitator.id, slot.occurrence_id)
            assert blocked_by_hard_rule(scenario, plan, facilitator, slot) or run > policy.max_consecutive


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_deterministic_whatever_the_input_order(scenario: Scenario, data: st.DataObject) -> None:
    plan = scenario.plan()
    assert scenario.plan() == plan
    reversed_order = assign(
        scenario.slots[::-1], scenario.facilitators[::-1], scenario.existing[::-1], scenario.policy, today=TODAY
    )
    assert reversed_order == plan
    shuffled = assign(
        data.draw(st.permutations(scenario.slots)),
        data.draw(st.permutations(scenario.facilitators)),
        data.draw(st.permutations(scenario.existing)),
        scenario.policy,
        today=TODAY,
    )
    assert shuffled == plan


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_regeneration_keeps_confirmed_and_pinned_assignments(scenario: Scenario, data: st.DataObject) -> None:
    first = scenario.plan()
    # Some of the first plan get confirmed or pinned; then people go away and the rota is planned again.
    kept = {
        a: replace(a, confirmed=data.draw(st.booleans()), pinned=data.draw(st.booleans()))
        for a in first.assignments
        if data.draw(st.booleans())
    }
    existing = [kept.get(a, a) for a in first.assignments]
    away = data.draw(unavailable_periods(max_size=3))
    facilitators = [replace(f, unavailable=f.unavailable + away) for f in scenario.facilitators]
    second = assign(scenario.slots, facilitators, existing, scenario.policy, today=TODAY)
    fixed = [a for a in existing if a.confirmed or a.pinned]
    for assignment in fixed:
        assert assignment in second.assignments
        assert not [
            other
            for other in second.assignments
            if (other.occurrence_id, other.role) == (assignment.occurrence_id, assignment.role) and other != assignment
        ]
    assert set(scenario.fixed) <= set(first.assignments)


@PROPERTY_SETTINGS
@given(scenarios())
def test_regenerating_an_unchanged_rota_changes_nothing(scenario: Scenario) -> None:
    plan = scenario.plan()
    again = assign(scenario.slots, scenario.facilitators, plan.assignments, scenario.policy, today=TODAY)
    assert again == plan


# Examples.


def test_newcomers_co_facilitate_beside_an_experienced_lead() -> None:
    # The newcomers have the lower ids, so only the preference (not the id tie-break) puts them in the co seat.
    roster = [person(1, trained_since=RECENTLY), person(2, trained_since=RECENTLY), person(3), person(4)]
    plan = assign(weekly_slots(6), roster, [], RotaPolicy(), today=TODAY)
    assert not plan.shortfalls
    for slot in weekly_slots(6):
        on_duty = holders(plan, slot.occurrence_id)
        assert on_duty[LEAD] in {3, 4}
        assert on_duty[CO] in {1, 2}
    assert set(load_by_facilitator(plan.assignments).values()) == {3}


def test_pairing_outranks_an_even_load() -> None:
    # One experienced facilitator and three newcomers: no two newcomers run a meeting together.
    roster = [
        person(1),
        person(2, trained_since=RECENTLY),
        person(3, trained_since=RECENTLY),
        person(4, trained_since=RECENTLY),
    ]
    slots = weekly_slots(6)
    plan = assign(slots, roster, [], RotaPolicy(max_consecutive=10), today=TODAY)
    assert all(1 in holders(plan, slot.occurrence_id).values() for slot in slots)


def test_a_new_lead_gets_an_experienced_co_facilitator() -> None:
    # Only the newcomer can lead; the co-facilitator must be the experienced one, though the other has done less.
    roster = [
        person(1, frozenset({"lead"}), trained_since=RECENTLY),
        person(2, frozenset({"co"}), trained_since=RECENTLY),
        person(3, frozenset({"co"})),
    ]
    [slot] = weekly_slots(1)
    history = {2: 0, 3: 40}
    plan = assign([slot], roster, [], RotaPolicy(), today=TODAY, history=history)
    assert holders(plan, slot.occurrence_id) == {LEAD: 1, CO: 3}


def test_newly_trained_is_measured_in_calendar_months() -> None:
    def trained(day: date) -> bool:
        return is_newly_trained(person(1, trained_since=day), today=date(2026, 5, 31), months=3)

    assert trained(date(2026, 3, 1))
    assert not trained(date(2026, 2, 28))
    assert is_newly_trained(person(1, trained_since=date(2026, 6, 2)), today=date(2026, 5, 31), months=0)


def test_load_spreads_evenly_and_rests_are_kept() -> None:
    roster = [person(i) for i in range(1, 6)]
    plan = assign(weekly_slots(8), roster, [], RotaPolicy(), today=TODAY)
    assert sorted(load_by_facilitator(plan.assignments).values()) == [3, 3, 3, 3, 4]
    assert all(max(runs) <= 2 for runs in consecutive_runs(weekly_slots(8), plan.assignments).values())


def test_a_lead_works_a_third_week_running_only_when_nobody_else_can() -> None:
    slots = weekly_slots(3)
    plan = assign(slots, [person(1), person(2)], [], RotaPolicy(max_consecutive=2), today=TODAY)
    assert LEAD in holders(plan, slots[2].occurrence_id)
    assert plan.shortfalls == (
        Shortfall(
            slots[2].occurrence_id,
            CO,
            "nobody available to co-facilitate "
            "(1 already leading this meeting, 1 would be on duty more than 2 meetings in a row)",
        ),
    )


def test_someone_back_from_a_break_catches_up_without_leading_three_weeks_running() -> None:
    slots = weekly_slots(10)
    away = ((HORIZON_START, slots[6].starts_at),)
    roster = [person(1), person(2), person(3, unavailable=away)]
    plan = assign(slots, roster, [], RotaPolicy(co_facilitators=False), today=TODAY)
    leads = [holders(plan, slot.occurrence_id)[LEAD] for slot in slots]
    # Person 3 has the fewest duties on return, so takes two weeks, rests one, and takes the next.
    assert leads[6:] == [3, 3, 1, 3]
    assert sorted(load_by_facilitator(plan.assignments).values()) == [3, 3, 4]


def test_a_fixed_duty_later_counts_towards_a_run() -> None:
    # Person 1 is pinned to weeks 2 and 3; taking week 1 as well would make three in a row.
    slots = weekly_slots(3)
    pins = [Assignment(slots[i].occurrence_id, LEAD, 1, pinned=True) for i in (1, 2)]
    away_week_one = ((slots[0].starts_at, slots[0].ends_at),)
    roster = [person(1), person(2, frozenset({"lead"})), person(3, unavailable=away_week_one)]
    plan = assign(slots, roster, pins, RotaPolicy(), today=TODAY)
    assert holders(plan, slots[0].occurrence_id) == {LEAD: 2}
    [gap] = [s for s in plan.shortfalls if s.occurrence_id == slots[0].occurrence_id]
    assert "in a row" in gap.reason


def test_monthly_maximum_counts_confirmed_duties_and_earlier_duties() -> None:
    slots = weekly_slots(5)  # 23 and 30 November, then 7, 14 and 21 December
    confirmed = Assignment(slots[2].occurrence_id, LEAD, 1, confirmed=True)
    roster = [person(1, max_per_month=2), person(2, frozenset({"co"}))]
    plan = assign(slots, roster, [confirmed], RotaPolicy(), today=TODAY, month_duties={(1, "2026-11"): 1})
    leads = [holders(plan, slot.occurrence_id).get(LEAD) for slot in slots]
    assert leads == [1, None, 1, 1, None]
    assert [s.reason for s in plan.shortfalls if s.role == LEAD] == [
        "the only person who can lead is at their monthly maximum",
        "the only person who can lead is at their monthly maximum",
    ]


def test_nobody_is_double_booked_for_meetings_at_the_same_time() -> None:
    start = HORIZON_START + timedelta(hours=19)
    slots = [make_slot(1, start), make_slot(2, start + timedelta(minutes=30), series_id=2)]
    plan = assign(slots, [person(1), person(2), person(3)], [], RotaPolicy(), today=TODAY)
    first, second = (set(holders(plan, o).values()) for o in (1, 2))
    assert not first & second
    assert len(first | second) == 3
    assert [(s.occurrence_id, s.role) for s in plan.shortfalls] == [(2, CO)]
    assert plan.shortfalls[0].reason.startswith("nobody available to co-facilitate (")


@pytest.mark.parametrize(
    ("roster", "reason"),
    [
        ([], "nobody is on the rota"),
        ([person(1, frozenset({"co"})), person(2, frozenset({"host"}))], "nobody on the rota can lead"),
        (
            [person(1, unavailable=((HORIZON_START, HORIZON_START + timedelta(days=9)),))],
            "the only person who can lead is away",
        ),
        ([person(1, max_per_month=0), person(2, max_per_month=0)], "everyone who can lead is at their monthly maximum"),
        (
            [person(1, max_per_month=0), person(2, unavailable=((HORIZON_START, HORIZON_START + timedelta(days=9)),))],
            "nobody available to lead (1 away, 1 at their monthly maximum)",
        ),
    ],
)
def test_shortfall_reasons(roster: list[Facilitator], reason: str) -> None:
    [slot] = weekly_slots(1)
    plan = assign([slot], roster, [], RotaPolicy(co_facilitators=False), today=TODAY)
    assert plan.shortfalls == (Shortfall(slot.occurrence_id, LEAD, reason),)


def test_preferred_series_and_history_break_ties() -> None:
    slot = make_slot(1, HORIZON_START + timedelta(hours=19), series_id=7)
    roster = [person(1), person(2, preferred_series=frozenset({7})), person(3)]
    policy = RotaPolicy(co_facilitators=False)
    history = {1: 12, 3: 4}

    def lead(slot: Slot, roster: list[Facilitator]) -> int:
        return holders(assign([slot], roster, [], policy, today=TODAY, history=history), slot.occurrence_id)[LEAD]

    assert lead(slot, roster) == 2
    assert lead(replace(slot, series_id=None), roster) == 2
    assert lead(replace(slot, series_id=None), [roster[0], roster[2]]) == 3


def test_a_tentative_holder_keeps_their_duty_unless_it_would_be_unfair() -> None:
    slots = weekly_slots(2)
    tentative = [Assignment(slots[0].occurrence_id, LEAD, 3), Assignment(slots[1].occurrence_id, LEAD, 3)]
    plan = assign(slots, [person(1), person(2), person(3)], tentative, RotaPolicy(co_facilitators=False), today=TODAY)
    # Person 3 keeps the first; the second goes to someone with fewer duties.
    assert [holders(plan, slot.occurrence_id)[LEAD] for slot in slots] == [3, 1]


def test_confirmed_assignments_stay_even_for_someone_now_away_or_gone() -> None:
    [slot] = weekly_slots(1)
    kept = [
        Assignment(slot.occurrence_id, LEAD, 1, confirmed=True),
        Assignment(slot.occurrence_id, CO, 77, pinned=True),
    ]
    away = ((slot.starts_at, slot.ends_at),)
    plan = assign([slot], [person(1, unavailable=away), person(2)], kept, RotaPolicy(), today=TODAY)
    assert plan == RotaPlan(tuple(kept), ())


def test_helpers() -> None:
    slots = weekly_slots(5)
    assignments = [Assignment(slots[i].occurrence_id, LEAD, 1) for i in (0, 1, 3)] + [
        Assignment(slots[2].occurrence_id, CO, 2)
    ]
    assert load_by_facilitator(assignments) == {1: 3, 2: 1}
    assert consecutive_runs(reversed(slots), assignments) == {1: (2, 1), 2: (1,)}


@pytest.mark.parametrize(
    "build",
    [
        lambda: person(1, frozenset({"chair"})),
        lambda: person(1, max_per_month=-1),
        lambda: person(1, unavailable=((datetime(2026, 1, 2), datetime(2026, 1, 3)),)),
        lambda: person(1, unavailable=((HORIZON_START, HORIZON_START),)),
        lambda: make_slot(1, datetime(2026, 1, 2, 19)),
        lambda: make_slot(1, HORIZON_START, minutes=0),
        lambda: Assignment(1, "host", 1),  # type: ignore[arg-type]
        lambda: RotaPolicy(max_consecutive=0),
        lambda: assign(weekly_slots(1) * 2, [], [], RotaPolicy(), today=TODAY),
        lambda: assign([], [person(1), person(1)], [], RotaPolicy(), today=TODAY),
        lambda: assign(
            weekly_slots(1), [], [Assignment(100, LEAD, 1), Assignment(100, LEAD, 2)], RotaPolicy(), today=TODAY
        ),
        lambda: assign(
            weekly_slots(1),
            [],
            [Assignment(100, LEAD, 1, confirmed=True), Assignment(100, CO, 1, pinned=True)],
            RotaPolicy(),
            today=TODAY,
        ),
    ],
)
def test_rejects_inconsistent_input(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_eight_weeks_for_fifty_facilitators_plans_well_under_100_ms() -> None:
    # Four meetings a week for eight weeks, fifty people with limits, absences, preferences and newcomers.
    slots = [
        make_slot(i, HORIZON_START + timedelta(days=i * 7 / 4, hours=19), series_id=i % 4 or None) for i in range(32)
    ]
    roster = [
        person(
            i,
            frozenset({"lead", "co"}) if i % 3 else frozenset({"co"}),
            trained_since=RECENTLY if i % 4 == 0 else LONG_AGO,
            max_per_month=2 if i % 5 == 0 else None,
            unavailable=((HORIZON_START + timedelta(days=i), HORIZON_START + timedelta(days=i + 10)),) if i % 7 else (),
            preferred_series=frozenset({i % 4}),
        )
        for i in range(50)
    ]
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        plan = assign(slots, roster, [], RotaPolicy(), today=TODAY)
        timings.append(time.perf_counter() - started)
    assert not plan.shortfalls
    assert min(timings) < 0.1
