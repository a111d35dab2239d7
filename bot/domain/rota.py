"""Facilitator rota: a fair, deterministic choice of lead and co-facilitator for every meeting slot."""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Literal

from bot.domain.text import plural

Role = Literal["lead", "co"]
LEAD: Role = "lead"
CO: Role = "co"

# Roles a facilitator can hold; "host" (opening the meeting room) is part of the roster but not a rota duty.
FACILITATOR_ROLES = frozenset({"lead", "co", "host"})

# Whoever can lead can also co-facilitate; a co-facilitator is not trained to lead.
_CAPABLE_ROLES: Mapping[Role, frozenset[str]] = MappingProxyType(
    {LEAD: frozenset({"lead"}), CO: frozenset({"lead", "co"})}
)
_ROLE_WORDS: Mapping[Role, str] = MappingProxyType({LEAD: "lead", CO: "co-facilitate"})
_ROLE_ORDER: Mapping[Role, int] = MappingProxyType({LEAD: 0, CO: 1})
_NO_HISTORY: Mapping[int, int] = MappingProxyType({})
_NO_MONTH_DUTIES: Mapping[tuple[int, str], int] = MappingProxyType({})

# Why a facilitator cannot take a duty, in the order they are checked; the first that applies is reported, so a
# coordinator reads "away" before "at their monthly maximum" for someone who is both.
_ROLE = "role"
_PARTNER = "partner"
_AWAY = "away"
_BUSY = "busy"
_MONTHLY_MAX = "monthly maximum"
_IN_A_ROW = "in a row"


@dataclass(frozen=True, slots=True)
class Facilitator:
    """One person on the rota: what they can do, since when, how often, and when they cannot."""

    id: int
    roles: frozenset[str]
    trained_since: date
    max_per_month: int | None
    # Half-open [start, end) periods in aware UTC datetimes.
    unavailable: tuple[tuple[datetime, datetime], ...]
    preferred_series: frozenset[int]
    opted_out_of_naming: bool = False

    def __post_init__(self) -> None:
        """Reject roles, limits and periods the planner could only misread."""
        unknown = self.roles - FACILITATOR_ROLES
        if unknown:
            raise ValueError(f"unknown facilitator roles {sorted(unknown)}; accepted: {sorted(FACILITATOR_ROLES)}")
        if self.max_per_month is not None and self.max_per_month < 0:
            raise ValueError("max_per_month must be None or at least 0")
        for start, end in self.unavailable:
            _require_aware(start, "unavailable start")
            _require_aware(end, "unavailable end")
            if end <= start:
                raise ValueError("an unavailable period must end after it starts")

    def is_away(self, starts_at: datetime, ends_at: datetime) -> bool:
        """Return whether any unavailable period overlaps [starts_at, ends_at)."""
        return any(start < ends_at and starts_at < end for start, end in self.unavailable)


@dataclass(frozen=True, slots=True)
class Slot:
    """One meeting occurrence to staff; month_key is its month in the group's zone, e.g. "2026-12"."""

    occurrence_id: int
    series_id: int | None
    starts_at: datetime
    ends_at: datetime
    month_key: str

    def __post_init__(self) -> None:
        """Insist on aware times and a positive length so overlaps are well defined."""
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("a slot must end after it starts")


@dataclass(frozen=True, slots=True)
class Assignment:
    """A facilitator on duty for one occurrence; confirmed or pinned ones are never moved by regeneration."""

    occurrence_id: int
    role: Role
    facilitator_id: int
    confirmed: bool = False
    pinned: bool = False

    def __post_init__(self) -> None:
        """Reject a role the rota does not staff."""
        if self.role not in _ROLE_ORDER:
            raise ValueError(f"unknown duty role {self.role!r}; accepted: 'lead', 'co'")

    @property
    def fixed(self) -> bool:
        """Return whether regeneration must leave this assignment exactly as it is."""
        return self.confirmed or self.pinned


@dataclass(frozen=True, slots=True)
class RotaPolicy:
    """A group's rota rules."""

    max_consecutive: int = 2
    new_facilitator_months: int = 3
    co_facilitators: bool = True

    def __post_init__(self) -> None:
        """Reject limits that would make every plan break the rules."""
        if self.max_consecutive < 1:
            raise ValueError("max_consecutive must be at least 1")
        if self.new_facilitator_months < 0:
            raise ValueError("new_facilitator_months must be at least 0")


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A duty nobody could take, with a reason a coordinator can act on."""

    occurrence_id: int
    role: Role
    reason: str


@dataclass(frozen=True, slots=True)
class RotaPlan:
    """The planned rota in slot order (lead before co), and the duties left uncovered."""

    assignments: tuple[Assignment, ...]
    shortfalls: tuple[Shortfall, ...]


def is_newly_trained(facilitator: Facilitator, *, today: date, months: int) -> bool:
    """Return whether the facilitator was trained less than `months` calendar months before today."""
    return facilitator.trained_since > _months_before(today, months)


def load_by_facilitator(assignments: Iterable[Assignment]) -> dict[int, int]:
    """Return how many duties each facilitator holds."""
    return dict(Counter(assignment.facilitator_id for assignment in assignments))


def consecutive_runs(slots: Iterable[Slot], assignments: Iterable[Assignment]) -> dict[int, tuple[int, ...]]:
    """Return each facilitator's runs of duties in adjacent slots (time order), as run lengths in time order."""
    ordered = _sort_slots(slots)
    index = {slot.occurrence_id: i for i, slot in enumerate(ordered)}
    on_duty: dict[int, set[int]] = {}
    for assignment in assignments:
        if assignment.occurrence_id in index:
            on_duty.setdefault(assignment.facilitator_id, set()).add(index[assignment.occurrence_id])
    runs: dict[int, tuple[int, ...]] = {}
    for facilitator_id, indices in sorted(on_duty.items()):
        lengths: list[int] = []
        previous = None
        for i in sorted(indices):
            if previous is not None and i == previous + 1:
                lengths[-1] += 1
            else:
                lengths.append(1)
            previous = i
        runs[facilitator_id] = tuple(lengths)
    return runs


def assign(
    slots: Iterable[Slot],
    facilitators: Iterable[Facilitator],
    existing: Iterable[Assignment],
    policy: RotaPolicy,
    *,
    today: date,
    history: Mapping[int, int] = _NO_HISTORY,
    month_duties: Mapping[tuple[int, str], int] = _NO_MONTH_DUTIES,
) -> RotaPlan:
    """Plan a lead and, if the policy wants one, a co-facilitator for every slot.

    Confirmed or pinned assignments in `existing` are kept as they are and count towards loads and limits;
    unconfirmed ones are re-planned, their holder winning ties so a regenerated rota changes as little as it fairly
    can. Assignments for occurrences outside `slots` are ignored. `history` holds each facilitator's duties before
    this plan (a tie-break for long-run fairness); `month_duties` holds duties per (facilitator id, month key) already
    held outside `slots`, such as earlier this month, so monthly maximums count them.
    """
    return _Planner(slots, facilitators, existing, policy, today, history, month_duties).plan()


class _Planner:
    """The greedy walk through the slots in time order; one instance plans once."""

    def __init__(
        self,
        slots: Iterable[Slot],
        facilitators: Iterable[Facilitator],
        existing: Iterable[Assignment],
        policy: RotaPolicy,
        today: date,
        history: Mapping[int, int],
        month_duties: Mapping[tuple[int, str], int],
    ) -> None:
        # Sorted inputs, and a rank that ends in the facilitator id, make the plan independent of row order.
        self.slots = _sort_slots(slots)
        self.policy = policy
        self.history = history
        self.index = {slot.occurrence_id: i for i, slot in enumerate(self.slots)}
        if len(self.index) != len(self.slots):
            raise ValueError("two slots share an occurrence id")
        self.facilitators = sorted(facilitators, key=lambda facilitator: facilitator.id)
        if len({facilitator.id for facilitator in self.facilitators}) != len(self.facilitators):
            raise ValueError("two facilitators share an id")
        self.preferred = {facilitator.id: facilitator.preferred_series for facilitator in self.facilitators}
        self.new = {
            facilitator.id: is_newly_trained(facilitator, today=today, months=policy.new_facilitator_months)
            for facilitator in self.facilitators
        }
        self.fixed: dict[tuple[int, Role], Assignment] = {}
        self.incumbents: dict[tuple[int, Role], int] = {}
        seen: set[tuple[int, Role]] = set()
        for assignment in existing:
            key = (assignment.occurrence_id, assignment.role)
            if key in seen:
                raise ValueError(f"two existing assignments for occurrence {key[0]} as {key[1]}")
            seen.add(key)
            if assignment.occurrence_id not in self.index:
                continue
            if assignment.fixed:
                self.fixed[key] = assignment
            else:
                self.incumbents[key] = assignment.facilitator_id
        for slot in self.slots:
            lead = self.fixed.get((slot.occurrence_id, LEAD))
            co = self.fixed.get((slot.occurrence_id, CO))
            if lead is not None and co is not None and lead.facilitator_id == co.facilitator_id:
                raise ValueError(f"facilitator {lead.facilitator_id} is fixed as both lead and co at once")
        self.overlapping = _overlapping_slots(self.slots)
        # Fixed duties count from the start, wherever they fall, so the walk balances loads around them.
        self.on_duty: dict[int, set[int]] = {}
        self.load: Counter[int] = Counter()
        self.month_load: Counter[tuple[int, str]] = Counter(month_duties)
        for (occurrence_id, _role), assignment in sorted(self.fixed.items()):
            self._record(assignment.facilitator_id, self.index[occurrence_id])
        self.last_duty: dict[int, int] = {}

    def plan(self) -> RotaPlan:
        """Walk the slots in time order, filling each open duty with the best eligible facilitator."""
        assignments: list[Assignment] = []
        shortfalls: list[Shortfall] = []
        for i, slot in enumerate(self.slots):
            lead = self.fixed.get((slot.occurrence_id, LEAD))
            co = self.fixed.get((slot.occurrence_id, CO))
            if lead is None:
                # The lead is planned first, so the only partner it can have is a fixed co-facilitator.
                lead_or_gap = self._fill(i, LEAD, partner=None if co is None else co.facilitator_id)
            else:
                lead_or_gap = lead
            co_or_gap: Assignment | Shortfall | None = co
            if co is None and self.policy.co_facilitators:
                partner = lead_or_gap.facilitator_id if isinstance(lead_or_gap, Assignment) else None
                co_or_gap = self._fill(i, CO, partner=partner)
            for duty in (lead_or_gap, co_or_gap):
                if isinstance(duty, Assignment):
                    assignments.append(duty)
                    self.last_duty[duty.facilitator_id] = i
                elif isinstance(duty, Shortfall):
                    shortfalls.append(duty)
        return RotaPlan(tuple(assignments), tuple(shortfalls))

    def _fill(self, i: int, role: Role, *, partner: int | None) -> Assignment | Shortfall:
        """Plan one open duty of slot i beside `partner` (the other duty's holder, if any)."""
        slot = self.slots[i]
        chosen, reasons = self._choose(i, role, partner)
        if chosen is None:
            return Shortfall(slot.occurrence_id, role, self._reason(role, reasons))
        self._record(chosen, i)
        return Assignment(slot.occurrence_id, role, chosen)

    def _choose(self, i: int, role: Role, partner: int | None) -> tuple[int | None, Counter[str]]:
        """Return the facilitator to take the duty (or None) and, per reason, how many could not."""
        slot = self.slots[i]
        reasons: Counter[str] = Counter()
        candidates: list[tuple[int, int]] = []  # (run length beyond the limit, facilitator id)
        for facilitator in self.facilitators:
            reason = self._ineligible(facilitator, i, role, partner)
            if reason is not None:
                reasons[reason] += 1
                continue
            excess = self._run_through(facilitator.id, i) - self.policy.max_consecutive
            if excess > 0 and role == CO:
                # A co-facilitator is only wanted where possible, so the rest rule is never broken for one; a
                # meeting cannot run without its lead, so for a lead it only decides between candidates.
                reasons[_IN_A_ROW] += 1
                continue
            candidates.append((max(excess, 0), facilitator.id))
        if not candidates:
            return None, reasons
        least_excess = min(excess for excess, _ in candidates)
        pool = [facilitator_id for excess, facilitator_id in candidates if excess == least_excess]
        partner_is_new = partner is not None and self.new.get(partner, False)
        if partner_is_new:
            # Someone newly trained is never paired with another newcomer while an experienced person can step in.
            experienced = [facilitator_id for facilitator_id in pool if not self.new[facilitator_id]]
            pool = experienced or pool
        incumbent = self.incumbents.get((slot.occurrence_id, role))

        def rank(facilitator_id: int) -> tuple[int, ...]:
            is_new = self.new[facilitator_id]
            if role == LEAD:
                # Prefer an experienced lead, so newcomers start as co-facilitators beside one.
                experience = int(is_new)
            elif partner is not None and not partner_is_new:
                experience = int(not is_new)
            else:
                experience = 0
            return (
                self.load[facilitator_id],
                experience,
                int(facilitator_id != incumbent),
                int(slot.series_id is None or slot.series_id not in self.preferred[facilitator_id]),
                # The longest rested goes first: duties rotate instead of clustering on a few people.
                self.last_duty.get(facilitator_id, -1),
                self.history.get(facilitator_id, 0),
                facilitator_id,
            )

        return min(pool, key=rank), reasons

    def _ineligible(self, facilitator: Facilitator, i: int, role: Role, partner: int | None) -> str | None:
        """Return why the facilitator cannot take this duty, or None when they can."""
        slot = self.slots[i]
        if not facilitator.roles & _CAPABLE_ROLES[role]:
            return _ROLE
        if facilitator.id == partner:
            return _PARTNER
        if facilitator.is_away(slot.starts_at, slot.ends_at):
            return _AWAY
        duties = self.on_duty.get(facilitator.id, set())
        # Holding the other duty here is caught above for a clearer reason; this also guards it on its own.
        if i in duties or any(j in duties for j in self.overlapping[i]):
            return _BUSY
        limit = facilitator.max_per_month
        if limit is not None and self.month_load[facilitator.id, slot.month_key] >= limit:
            return _MONTHLY_MAX
        return None

    def _run_through(self, facilitator_id: int, i: int) -> int:
        """Return the length of the run of adjacent duties the facilitator would have by also taking slot i."""
        duties = self.on_duty.get(facilitator_id, set())
        before = 0
        while i - before - 1 in duties:
            before += 1
        # Later slots can already hold fixed duties, which a new duty here would join up with.
        after = 0
        while i + after + 1 in duties:
            after += 1
        return before + 1 + after

    def _record(self, facilitator_id: int, i: int) -> None:
        """Count a duty at slot i towards the facilitator's load, month and runs."""
        self.on_duty.setdefault(facilitator_id, set()).add(i)
        self.load[facilitator_id] += 1
        self.month_load[facilitator_id, self.slots[i].month_key] += 1

    def _reason(self, role: Role, reasons: Counter[str]) -> str:
        """Say why nobody could take the duty, naming the commonest obstacles first."""
        word = _ROLE_WORDS[role]
        if not self.facilitators:
            return "nobody is on the rota"
        capable = {reason: count for reason, count in reasons.items() if reason != _ROLE}
        if not capable:
            return f"nobody on the rota can {word}"
        other = "co-facilitating" if role == LEAD else "leading"
        phrases = {
            _PARTNER: f"already {other} this meeting",
            _AWAY: "away",
            _BUSY: "at another meeting at that time",
            _MONTHLY_MAX: "at their monthly maximum",
            _IN_A_ROW: f"would be on duty more than {plural(self.policy.max_consecutive, 'meeting')} in a row",
        }
        if len(capable) == 1:
            (reason,) = capable
            who = "the only person" if capable[reason] == 1 else "everyone"
            return f"{who} who can {word} is {phrases[reason]}"
        # Commonest obstacle first; ties in the order they are checked, so the text never depends on input order.
        order = list(phrases)
        listed = ", ".join(
            f"{capable[reason]} {phrases[reason]}"
            for reason in sorted(capable, key=lambda reason: (-capable[reason], order.index(reason)))
        )
        return f"nobody available to {word} ({listed})"


def _sort_slots(slots: Iterable[Slot]) -> list[Slot]:
    """Return the slots in time order, ties broken by occurrence id."""
    return sorted(slots, key=lambda slot: (slot.starts_at, slot.ends_at, slot.occurrence_id))


def _overlapping_slots(slots: list[Slot]) -> list[tuple[int, ...]]:
    """Return, for each slot (sorted by start), the indices of the other slots that overlap it in time."""
    overlapping: list[list[int]] = [[] for _ in slots]
    for i, slot in enumerate(slots):
        j = i + 1
        # Sorted by start, so the first slot starting at or after this one's end ends the scan.
        while j < len(slots) and slots[j].starts_at < slot.ends_at:
            overlapping[i].append(j)
            overlapping[j].append(i)
            j += 1
    return [tuple(indices) for indices in overlapping]


def _months_before(day: date, months: int) -> date:
    """Return the same day `months` calendar months earlier, clamped to the month's last day."""
    year, month_index = divmod(day.year * 12 + day.month - 1 - months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _require_aware(moment: datetime, name: str) -> None:
    """Raise ValueError unless the datetime carries a UTC offset."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
