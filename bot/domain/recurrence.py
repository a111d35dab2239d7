"""Meeting schedules: RFC 5545 recurrence rules expanded in local wall time and pinned to UTC instants."""

from __future__ import annotations

import calendar
import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule
from icalendar import vRecur

from bot.errors import InvalidInputError

# Weekday codes in RFC 5545 order, indexed like date.weekday() (0 = Monday).
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Positions of a weekday in its month a monthly meeting may use. Not a fifth: most months have none, so a "fifth
# Tuesday" group would silently skip months.
WEEK_OF_MONTH_NAMES = {1: "First", 2: "Second", 3: "Third", 4: "Fourth", -1: "Last"}

# Meetings repeat at most daily; finer frequencies would flood a server with meetings and cost far more to expand.
ALLOWED_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})

# The largest jump in a zone's UTC offset on record is a whole day (Pacific/Apia skipped 2011-12-30, Kwajalein
# 1993), so a local window widened by two days on each side always contains every local time whose UTC instant
# falls in the UTC window.
_OFFSET_SWING = timedelta(days=2)

# next_occurrences looks this far ahead at most; it doubles its window from a week so a short look-up stays cheap.
_SEARCH_HORIZON = timedelta(days=366 * 50)
_FIRST_SEARCH_SPAN = timedelta(days=8)

# The Gregorian calendar repeats exactly every 400 years (146097 days = 20871 whole weeks), weekdays, leap years and
# ISO week numbers included. Shifting a start by whole cycles towards year 9999 lets dateutil search for the first
# occurrence with a bounded cost: it only ever stops at the year 9999 when a rule can produce no date at all.
_GREGORIAN_CYCLE_YEARS = 400
_PROBE_LAST_YEAR = 9999 - _GREGORIAN_CYCLE_YEARS - 1

# RFC 5545 section 3.3.10 rule parts; dateutil also reads BYEASTER, which calendar apps would not understand.
_RULE_PARTS = frozenset(("FREQ", "UNTIL", "COUNT", "INTERVAL", "WKST", "BYSETPOS")) | frozenset(
    f"BY{unit}" for unit in ("SECOND", "MINUTE", "HOUR", "DAY", "MONTHDAY", "YEARDAY", "WEEKNO", "MONTH")
)
_RRULE_PREFIX = "RRULE:"
_RRULE_EXAMPLE = "e.g. FREQ=WEEKLY;BYDAY=MO;BYHOUR=19;BYMINUTE=0"
_UNTIL_FORMATS = {15: "%Y%m%dT%H%M%S", 16: "%Y%m%dT%H%M%SZ"}
_BYDAY_RE = re.compile(r"(?P<position>-?[0-9])?(?P<code>MO|TU|WE|TH|FR|SA|SU)")
_LOCAL_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")
_MAX_ECHO = 60


class RecurrenceError(InvalidInputError, ValueError):
    """A schedule value (zone, rule, date or time) cannot be used; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class ScheduleRule:
    """A meeting series: an RFC 5545 RRULE (None for a one-off) in an IANA zone, starting at a local wall time."""

    rrule: str | None
    tz: str
    dtstart_local: datetime
    exdates_local: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        """Check the rule, normalise its RRULE text and insist that the start is its first occurrence."""
        _require_naive(self.dtstart_local, "dtstart_local")
        for exdate in self.exdates_local:
            _require_naive(exdate, "exdates_local")
        # Normalising here means every ScheduleRule holds the stored form, whichever way the caller spelt it.
        object.__setattr__(self, "tz", parse_zone(self.tz).key)
        object.__setattr__(self, "exdates_local", tuple(sorted(set(self.exdates_local))))
        if self.rrule is None:
            return
        object.__setattr__(self, "rrule", parse_rrule(self.rrule))
        problem = _first_occurrence_problem(self.rrule, self.dtstart_local, self.tz)
        if problem is not None:
            raise RecurrenceError(problem)

    @property
    def zone(self) -> ZoneInfo:
        """Return the rule's time zone."""
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting of a series: its local wall time in the rule (the unique key) and the UTC instant it starts."""

    local: datetime
    utc: datetime


def weekly_rule(weekday: int, local_time: time, *, interval_weeks: int = 1) -> str:
    """Return the RRULE for a meeting on `weekday` (0 = Monday) at `local_time`, every `interval_weeks` weeks."""
    if not 0 <= weekday <= 6:
        raise RecurrenceError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.")
    if interval_weeks < 1:
        raise RecurrenceError(f"A meeting can repeat every 1 or more weeks, not every {interval_weeks}.")
    if local_time.tzinfo is not None or local_time.microsecond:
        raise RecurrenceError("The meeting time must be a plain local time such as 19:00.")
    return (
        f"FREQ=WEEKLY;INTERVAL={interval_weeks};BYDAY={WEEKDAY_CODES[weekday]};"
        f"BYHOUR={local_time.hour};BYMINUTE={local_time.minute};BYSECOND={local_time.second}"
    )


def first_weekly_start(start_date: date, weekday: int, local_time: time) -> datetime:
    """Return the first local wall time on or after `start_date` that falls on `weekday` at `local_time`."""
    if not 0 <= weekday <= 6:
        raise RecurrenceError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.")
    days_ahead = (weekday - start_date.weekday()) % 7
    return datetime.combine(start_date + timedelta(days=days_ahead), local_time)


def monthly_rule(position: int, weekday: int, local_time: time) -> str:
    """Return the RRULE for a meeting on the `position`-th `weekday` of each month (-1: the last) at `local_time`."""
    _check_position(position)
    if not 0 <= weekday <= 6:
        raise RecurrenceError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.")
    if local_time.tzinfo is not None or local_time.microsecond:
        raise RecurrenceError("The meeting time must be a plain local time such as 19:00.")
    return (
        f"FREQ=MONTHLY;INTERVAL=1;BYDAY={position}{WEEKDAY_CODES[weekday]};"
        f"BYHOUR={local_time.hour};BYMINUTE={local_time.minute};BYSECOND={local_time.second}"
    )


def first_monthly_start(start_date: date, position: int, weekday: int, local_time: time) -> datetime:
    """Return the first local wall time on or after `start_date` on the `position`-th `weekday` of its month."""
    _check_position(position)
    if not 0 <= weekday <= 6:
        raise RecurrenceError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.")
    year, month = start_date.year, start_date.month
    # Every month has a 1st to 4th and a last of each weekday, so this month or the next always has one.
    for _ in range(2):
        day = weekday_of_month(year, month, position, weekday)
        if day >= start_date:
            return datetime.combine(day, local_time)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable: the next month always has the day")  # pragma: no cover


def weekday_of_month(year: int, month: int, position: int, weekday: int) -> date:
    """Return the `position`-th `weekday` (0 = Monday) of the month, counting from its end when `position` is -1."""
    _check_position(position)
    if position > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (position - 1))
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@dataclass(frozen=True, slots=True)
class Repeat:
    """How a series the bot built repeats: weekly every N weeks, or monthly on a weekday's position in the month."""

    weekday: int  # 0 = Monday
    interval_weeks: int = 1
    week_of_month: int | None = None  # 1 to 4, or -1 for the last; None for a weekly series

    def describe(self) -> str:
        """Return the repetition in words, e.g. "Every 2 weeks on Tuesday" or "Last Thursday of the month"."""
        day = WEEKDAY_NAMES[self.weekday]
        if self.week_of_month is not None:
            return f"{WEEK_OF_MONTH_NAMES[self.week_of_month]} {day} of the month"
        if self.interval_weeks == 1:
            return f"Every {day}"
        return f"Every {self.interval_weeks} weeks on {day}"


def repeat_of(rrule: str | None) -> Repeat | None:
    """Return the weekly or monthly-by-position pattern of a rule the bot builds; None for a one-off or other rule."""
    if rrule is None:
        return None
    parts: dict[str, str] = {}
    for part in rrule.split(";"):
        key, _, value = part.partition("=")
        parts[key] = value
    if set(parts) - {"FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND"}:
        return None
    match = _BYDAY_RE.fullmatch(parts.get("BYDAY", ""))
    interval = parts.get("INTERVAL", "1")
    if match is None or not interval.isdigit():
        return None
    weekday = WEEKDAY_CODES.index(match["code"])
    position = int(match["position"]) if match["position"] else None
    if parts.get("FREQ") == "WEEKLY" and position is None:
        return Repeat(weekday, interval_weeks=int(interval))
    if parts.get("FREQ") == "MONTHLY" and position in WEEK_OF_MONTH_NAMES and interval == "1":
        return Repeat(weekday, week_of_month=position)
    return None


def _check_position(position: int) -> None:
    """Refuse a weekday position other than first to fourth or last (not every month has a fifth)."""
    if position not in WEEK_OF_MONTH_NAMES:
        raise RecurrenceError(
            "A monthly meeting can be on the first, second, third, fourth or last weekday of the month, "
            f"not {position}."
        )


def parse_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone called `name`, or raise RecurrenceError naming it and giving an example."""
    cleaned = name.strip()
    # "localtime" is the host's own zone, not a place: a schedule must mean the same thing on every server.
    if cleaned and cleaned != "localtime":
        try:
            return ZoneInfo(cleaned)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    hint = ""
    suggestion = _zone_names_by_lowercase().get(cleaned.lower().replace(" ", "_"))
    if suggestion is not None and suggestion != cleaned:
        hint = f" Did you mean {suggestion}?"
    raise RecurrenceError(
        f"Unknown time zone {_echo(name)}.{hint} Use an IANA zone name such as Europe/London or America/New_York."
    )


def parse_rrule(text: str) -> str:
    """Return `text` as a stored RRULE (no "RRULE:" prefix, upper case), or raise RecurrenceError saying why."""
    parts = _rule_parts(text)
    _check_frequency(parts)
    _check_limits(parts)
    normalised = ";".join(f"{key}={value}" for key, value in parts.items())
    _check_expandable(normalised, text)
    return normalised


def _rule_text(text: str) -> str:
    """Return the rule in upper case without its "RRULE:" prefix, refusing an empty one or one with spaces."""
    cleaned = text.strip()
    if cleaned[: len(_RRULE_PREFIX)].upper() == _RRULE_PREFIX:
        cleaned = cleaned[len(_RRULE_PREFIX) :]
    cleaned = cleaned.upper()
    if not cleaned or any(char.isspace() for char in cleaned):
        raise RecurrenceError(f"Recurrence rule {_echo(text)} isn't valid: give one RFC 5545 RRULE, {_RRULE_EXAMPLE}.")
    return cleaned


def _rule_parts(text: str) -> dict[str, str]:
    """Split an RRULE into its NAME=VALUE parts, upper case and in order, refusing unknown or repeated names."""
    parts: dict[str, str] = {}
    for part in _rule_text(text).split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise RecurrenceError(f"Recurrence rule part {_echo(part)} isn't NAME=VALUE ({_RRULE_EXAMPLE}).")
        if key not in _RULE_PARTS:
            raise RecurrenceError(f"Recurrence rule part {_echo(key)} isn't part of RFC 5545 ({_RRULE_EXAMPLE}).")
        if key in parts:
            raise RecurrenceError(f"Recurrence rule gives {key} twice.")
        parts[key] = value
    return parts


def _check_frequency(parts: dict[str, str]) -> None:
    """Refuse a rule without FREQ or repeating more often than daily."""
    if parts.get("FREQ") not in ALLOWED_FREQUENCIES:
        raise RecurrenceError(
            "Recurrence rule needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY (meetings repeat at most daily), "
            f"{_RRULE_EXAMPLE}."
        )


def _check_limits(parts: dict[str, str]) -> None:
    """Refuse a bad INTERVAL or COUNT, both COUNT and UNTIL, or an UNTIL that is no date-time."""
    for key in ("INTERVAL", "COUNT"):
        if key in parts and not (parts[key].isdigit() and int(parts[key]) >= 1):
            raise RecurrenceError(f"Recurrence rule {key} must be a whole number of at least 1.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("Recurrence rule may give COUNT or UNTIL, not both.")
    if "UNTIL" in parts:
        _parse_until(parts["UNTIL"])


def _check_expandable(normalised: str, text: str) -> None:
    """Refuse a rule that dateutil cannot expand or icalendar cannot export."""
    try:
        # dateutil expands the rule and icalendar exports it, so a rule either cannot take is refused here rather than
        # when a meeting is due or a calendar is built.
        dateutil_rrule.rrulestr(_without_until(normalised), dtstart=datetime(2000, 1, 3))  # noqa: DTZ001 - a wall time
        vRecur.from_ical(normalised)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise RecurrenceError(
            f"Recurrence rule {_echo(text)} isn't valid RFC 5545 ({error}); {_RRULE_EXAMPLE}."
        ) from None


def parse_local_datetime(text: str) -> datetime:
    """Return the local wall time YYYY-MM-DDTHH:MM[:SS] in `text` (no offset), or raise RecurrenceError."""
    cleaned = text.strip()
    if _LOCAL_DATETIME_RE.fullmatch(cleaned):
        try:
            return datetime.fromisoformat(cleaned)
        except ValueError:
            pass
    raise RecurrenceError(
        f"Start {_echo(text)} isn't understood. Use the local wall time as YYYY-MM-DDTHH:MM without an offset, "
        "e.g. 2026-03-29T19:00 (the time zone is given separately)."
    )


def localize(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of the naive wall time `local` in `zone`, by RFC 5545 section 3.3.5."""
    _require_naive(local, "local")
    # RFC 5545 3.3.5: a wall time in a spring-forward gap is read with the offset in force before the gap, and an
    # ambiguous one at fall-back is its first occurrence. PEP 495 gives fold=0 exactly that meaning in both cases:
    # the offset from before the transition.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def clock_change(local: datetime, zone: ZoneInfo) -> Literal["gap", "fold"] | None:
    """Return "gap" if clocks skip the wall time `local` in `zone`, "fold" if it happens twice, else None."""
    _require_naive(local, "local")
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    # In a fold both offsets give instants that read back as `local`; in a gap neither does.
    return "fold" if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local else "gap"


def expand(rule: ScheduleRule, start_utc: datetime, end_utc: datetime) -> list[Occurrence]:
    """Return the rule's occurrences starting in [start_utc, end_utc), each local wall time once, sorted by instant."""
    _require_aware(start_utc, "start_utc")
    _require_aware(end_utc, "end_utc")
    if end_utc <= start_utc:
        return []
    zone = rule.zone
    local_from = _local_bound(start_utc, zone, -_OFFSET_SWING)
    local_to = _local_bound(end_utc, zone, _OFFSET_SWING)
    cancelled = frozenset(rule.exdates_local)
    found: list[Occurrence] = []
    for local in _local_times_between(rule, local_from, local_to):
        if local in cancelled:
            continue
        utc = localize(local, zone)
        if start_utc <= utc < end_utc:
            found.append(Occurrence(local=local, utc=utc))
    # Local order and instant order differ only inside a gap (02:30 read before the gap starts after 03:00 did).
    found.sort(key=lambda occurrence: (occurrence.utc, occurrence.local))
    return found


def next_occurrences(rule: ScheduleRule, after_utc: datetime, count: int) -> list[Occurrence]:
    """Return up to `count` occurrences starting at or after `after_utc`, sorted by instant."""
    _require_aware(after_utc, "after_utc")
    found: list[Occurrence] = []
    window_start = after_utc
    span = _FIRST_SEARCH_SPAN
    horizon = after_utc + _SEARCH_HORIZON
    while len(found) < count and window_start < horizon:
        window_end = min(window_start + span, horizon)
        # Consecutive half-open windows meet without overlap, so nothing is returned twice.
        found.extend(expand(rule, window_start, window_end))
        window_start = window_end
        span *= 2
    return found[:count]


def first_occurrences(rule: ScheduleRule, count: int) -> list[Occurrence]:
    """Return the series' first `count` occurrences, from its start."""
    # An occurrence's instant can precede the start's own instant by at most the zone's biggest offset jump.
    earliest = localize(rule.dtstart_local, rule.zone) - _OFFSET_SWING
    return next_occurrences(rule, earliest, count)


def rrule_for_export(rule: ScheduleRule) -> str | None:
    """Return the rule's RRULE with any UNTIL as a UTC instant, as RFC 5545 requires beside a DTSTART with a TZID."""
    if rule.rrule is None:
        return None
    until_text = _until_text(rule.rrule)
    if until_text is None:
        return rule.rrule
    until = _parse_until(until_text)
    if until.tzinfo is not None:
        return rule.rrule
    return f"{_without_until(rule.rrule)};UNTIL={localize(until, rule.zone):%Y%m%dT%H%M%SZ}"


def _local_times_between(rule: ScheduleRule, local_from: datetime, local_to: datetime) -> list[datetime]:
    """Return the rule's local wall times in [local_from, local_to], exdates not yet removed."""
    if rule.rrule is None:
        return [rule.dtstart_local] if local_from <= rule.dtstart_local <= local_to else []
    expander, until_utc = _expander(rule.rrule, rule.dtstart_local, rule.tz)
    local_times = expander.between(local_from, local_to, inc=True)
    if until_utc is not None:
        zone = rule.zone
        local_times = [local for local in local_times if localize(local, zone) <= until_utc]
    return local_times


@functools.lru_cache(maxsize=1024)
def _expander(rrule_text: str, dtstart_local: datetime, tz: str) -> tuple[dateutil_rrule.rrule, datetime | None]:
    """Return a dateutil rule over naive wall times and, when UNTIL is a UTC instant, that instant."""
    until_text = _until_text(rrule_text)
    until = _parse_until(until_text) if until_text is not None else None
    if until is None or until.tzinfo is None:
        # A floating UNTIL is a wall time, which is what dateutil compares against when DTSTART is naive.
        return _dateutil_rule(rrule_text, dtstart_local), None
    # dateutil refuses a UTC UNTIL with a naive DTSTART, so it gets a wall-time bound that is certainly late enough
    # and the exact UTC bound is applied to each instant afterwards.
    loose_bound = _local_bound(until, ZoneInfo(tz), _OFFSET_SWING)
    return _dateutil_rule(_without_until(rrule_text), dtstart_local).replace(until=loose_bound), until


def _dateutil_rule(rrule_text: str, dtstart_local: datetime) -> dateutil_rrule.rrule:
    """Return dateutil's rule for `rrule_text` starting at the naive wall time `dtstart_local`."""
    parsed = dateutil_rrule.rrulestr(rrule_text, dtstart=dtstart_local)
    if not isinstance(parsed, dateutil_rrule.rrule):  # pragma: no cover - one RRULE line never parses to a set
        raise RecurrenceError("Give a single recurrence rule.")
    return parsed


@functools.lru_cache(maxsize=1024)
def _first_occurrence_problem(rrule_text: str, start: datetime, tz: str) -> str | None:
    """Return why `start` cannot begin the series (RFC 5545 wants it to be the first occurrence), or None."""
    # dateutil never yields a date before DTSTART, so "start is the first occurrence" means "start is an occurrence".
    # Asking that of a start shifted by whole 400-year cycles close to 9999 gives the same answer but bounds dateutil's
    # search when the rule is impossible (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30 would otherwise take seconds).
    cycles = (_PROBE_LAST_YEAR - start.year) // _GREGORIAN_CYCLE_YEARS
    shift_years = cycles * _GREGORIAN_CYCLE_YEARS
    probe = _dateutil_rule(_without_until(rrule_text), start.replace(year=start.year + shift_years))
    first_shifted = next(iter(probe.replace(count=None)), None)
    if first_shifted is None:
        return "That recurrence rule never produces a date; check its BYMONTH, BYMONTHDAY and BYDAY parts."
    first = first_shifted.replace(year=first_shifted.year - shift_years)
    if first != start:
        return (
            f"The start {start.isoformat(timespec='minutes')} isn't a date the rule picks; its first occurrence "
            f"from then is {first.isoformat(timespec='minutes')}. Start the series on that date and time."
        )
    until_text = _until_text(rrule_text)
    until = _parse_until(until_text) if until_text is not None else None
    if until is not None:
        ends_before_start = localize(start, ZoneInfo(tz)) > until if until.tzinfo is not None else start > until
        if ends_before_start:
            return "The rule's UNTIL is before its start, so it has no meetings."
    return None


def _until_text(rrule_text: str) -> str | None:
    """Return the UNTIL value of a stored RRULE, if any."""
    for part in rrule_text.split(";"):
        key, _, value = part.partition("=")
        if key == "UNTIL":
            return value
    return None


def _without_until(rrule_text: str) -> str:
    """Return a stored RRULE without its UNTIL part."""
    return ";".join(part for part in rrule_text.split(";") if not part.startswith("UNTIL="))


def _parse_until(value: str) -> datetime:
    """Return an RRULE UNTIL as a wall time (floating) or a UTC instant (trailing Z)."""
    layout = _UNTIL_FORMATS.get(len(value))
    if layout is not None:
        try:
            parsed = datetime.strptime(value, layout)  # noqa: DTZ007 - floating unless the Z says UTC
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if value.endswith("Z") else parsed
    # A date-only UNTIL would end the series at midnight before that day's meeting, which nobody means.
    raise RecurrenceError(
        f"Recurrence rule UNTIL={_echo(value)} must be a date-time: 20261231T235959Z (UTC) "
        "or 20261231T235959 (local time)."
    )


def _local_bound(instant: datetime, zone: ZoneInfo, widen_by: timedelta) -> datetime:
    """Return the naive wall time of `instant` in `zone` moved by `widen_by`, clamped to the datetime range."""
    try:
        return instant.astimezone(zone).replace(tzinfo=None) + widen_by
    except OverflowError:
        # Only windows reaching the ends of time overflow; clamping keeps them as wide as the caller asked.
        return datetime.min if instant.year < 5000 else datetime.max  # noqa: DTZ901 - wall times are naive


def _require_naive(value: datetime, name: str) -> None:
    """Raise ValueError if `value` carries a time zone: wall times are naive and the zone travels beside them."""
    if value.tzinfo is not None:
        raise ValueError(f"{name} must be a naive local wall time, got {value!r}")


def _require_aware(value: datetime, name: str) -> None:
    """Raise ValueError if `value` has no time zone: instants must be unambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


@functools.cache
def _zone_names_by_lowercase() -> dict[str, str]:
    """Return every known zone name keyed by its lower-case form, for "did you mean" hints."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _echo(value: str) -> str:
    """Return user input quoted for an error message, shortened so the message stays small."""
    shown = value if len(value) <= _MAX_ECHO else value[: _MAX_ECHO - 1] + "…"
    return repr(shown)
