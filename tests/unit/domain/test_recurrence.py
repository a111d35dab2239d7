"""Recurrence: RFC 5545 localisation in gaps and folds, expansion, validation, and the iCalendar round trip."""

from __future__ import annotations

import calendar
import dataclasses
import functools
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import HealthCheck, event, given, settings, strategies as st
from typer.testing import CliRunner

from bot.cli_schedule import schedule_app
from bot.domain.ics import IcsEvent, build_calendar
from bot.domain.recurrence import (
    Occurrence,
    RecurrenceError,
    Repeat,
    ScheduleRule,
    clock_change,
    expand,
    first_monthly_start,
    first_occurrences,
    first_weekly_start,
    localize,
    monthly_rule,
    next_occurrences,
    parse_local_datetime,
    parse_rrule,
    parse_zone,
    repeat_of,
    rrule_for_export,
    weekday_of_month,
    weekly_rule,
)
from bot.errors import InvalidInputError

# The zones the issue names plus others with unusual transitions: Santiago changes at midnight, Dublin's summer time
# is its standard time (negative DST), Tehran had DST until 2022, Sao Paulo until 2019.
ZONES = (
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Tehran",
    "Europe/Dublin",
)
HISTORIC_DST_ZONES = ("America/Sao_Paulo", "Asia/Tehran", "America/Santiago", "Australia/Lord_Howe")
THREE_YEARS = timedelta(days=3 * 365 + 1)
GENERATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def wall(*parts: int) -> datetime:
    """Return a naive local wall time."""
    return datetime(*parts)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- an oracle for RFC 5545 section 3.3.5 that never relies on PEP 495's fold ------------------------------------


def offset_at(instant: datetime, zone: ZoneInfo) -> timedelta:
    """Return the zone's UTC offset at an instant (UTC to local is never ambiguous)."""
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


# Remembered: each expected wall time is read three times (window edge, selection, comparison), at 21 probes each.
@functools.lru_cache(maxsize=1 << 16)
def rfc5545_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the instant RFC 5545 gives a wall time, found from the zone's offsets around it."""
    nearby = {offset_at((local - timedelta(hours=hours)).replace(tzinfo=UTC), zone) for hours in range(-30, 31, 3)}
    readings = [(local - offset).replace(tzinfo=UTC) for offset in nearby]
    real = [instant for instant in readings if instant.astimezone(zone).replace(tzinfo=None) == local]
    if real:
        # A fold has two real readings; RFC 5545 takes the first.
        return min(real)
    # A gap: read with the offset in force before it, i.e. at the instant the later offset would give.
    before_gap = offset_at((local - max(nearby)).replace(tzinfo=UTC), zone)
    return (local - before_gap).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Transition:
    """One change of a zone's offset: the instant and the wall times just before and after it."""

    instant: datetime
    wall_before: datetime
    wall_after: datetime


@functools.cache
def transitions(zone_name: str, first_year: int, last_year: int) -> tuple[Transition, ...]:
    """Return the zone's offset changes in [first_year, last_year], found by a daily scan and bisection."""
    zone = ZoneInfo(zone_name)
    found = []
    day = utc(first_year, 1, 1)
    end = utc(last_year + 1, 1, 1)
    while day < end:
        following = day + timedelta(days=1)
        if offset_at(day, zone) != offset_at(following, zone):
            # Bisect on whole seconds: `high` ends as the first second with the new offset.
            low, high = 0, 86400
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(day + timedelta(seconds=middle), zone) == offset_at(day, zone):
                    low = middle
                else:
                    high = middle
            high = day + timedelta(seconds=high)
            found.append(
                Transition(
                    high, (high + offset_at(day, zone)).replace(tzinfo=None), high.astimezone(zone).replace(tzinfo=None)
                )
            )
        day = following
    return tuple(found)


def test_oracle_sees_the_transitions_it_should():
    london = transitions("Europe/London", 2026, 2026)
    assert [t.instant for t in london] == [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)]
    assert transitions("Asia/Kolkata", 2024, 2030) == ()
    assert transitions("America/Sao_Paulo", 2020, 2030) == ()
    assert len(transitions("America/Sao_Paulo", 2018, 2018)) == 2


# --- localize: explicit gap and fold instants in each zone ----------------------------------------------------------

LOCALIZE_CASES = [
    # zone, wall time, expected UTC instant, clock change
    # London's gap is 01:00-02:00 (01:00 GMT becomes 02:00 BST), so 02:30 on that day is an ordinary BST time.
    ("Europe/London", wall(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30), "gap"),
    ("Europe/London", wall(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 30), None),
    ("Europe/London", wall(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30), "fold"),
    ("Europe/London", wall(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 0), None),
    ("Europe/Dublin", wall(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30), "gap"),
    ("Europe/Dublin", wall(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30), "fold"),
    ("America/New_York", wall(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 30), "gap"),
    ("America/New_York", wall(2026, 3, 8, 3, 0), utc(2026, 3, 8, 7, 0), None),
    ("America/New_York", wall(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30), "fold"),
    ("America/New_York", wall(2026, 11, 1, 0, 59), utc(2026, 11, 1, 4, 59), None),
    # Lord Howe moves by 30 minutes: +10:30 in winter, +11 in summer.
    ("Australia/Lord_Howe", wall(2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 45), "gap"),
    ("Australia/Lord_Howe", wall(2026, 10, 4, 2, 30), utc(2026, 10, 3, 15, 30), None),
    ("Australia/Lord_Howe", wall(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45), "fold"),
    # Chatham: +12:45 and +13:45, changing at 02:45 standard time.
    ("Pacific/Chatham", wall(2026, 9, 27, 3, 0), utc(2026, 9, 26, 14, 15), "gap"),
    ("Pacific/Chatham", wall(2026, 4, 5, 3, 0), utc(2026, 4, 4, 13, 15), "fold"),
    ("Pacific/Chatham", wall(2026, 4, 5, 3, 45), utc(2026, 4, 4, 15, 0), None),
    # Sao Paulo's DST (until 2019) began and ended at midnight, so the gap is 00:00-01:00 on a Sunday and the fold is
    # 23:00-24:00 on a Saturday.
    ("America/Sao_Paulo", wall(2018, 11, 4, 0, 30), utc(2018, 11, 4, 3, 30), "gap"),
    ("America/Sao_Paulo", wall(2018, 11, 4, 0, 0), utc(2018, 11, 4, 3, 0), "gap"),
    ("America/Sao_Paulo", wall(2019, 2, 16, 23, 30), utc(2019, 2, 17, 1, 30), "fold"),
    ("America/Sao_Paulo", wall(2024, 11, 3, 0, 30), utc(2024, 11, 3, 3, 30), None),
    ("America/Santiago", wall(2026, 9, 6, 0, 30), utc(2026, 9, 6, 4, 30), "gap"),
    ("America/Santiago", wall(2026, 4, 4, 23, 30), utc(2026, 4, 5, 2, 30), "fold"),
    ("Asia/Tehran", wall(2022, 3, 22, 0, 30), utc(2022, 3, 21, 21, 0), "gap"),
    ("Asia/Tehran", wall(2022, 9, 21, 23, 30), utc(2022, 9, 21, 19, 0), "fold"),
    ("Asia/Kolkata", wall(2026, 3, 29, 2, 30), utc(2026, 3, 28, 21, 0), None),
    ("Asia/Kolkata", wall(2026, 10, 25, 1, 30), utc(2026, 10, 24, 20, 0), None),
]


@pytest.mark.parametrize(("zone_name", "local", "expected", "change"), LOCALIZE_CASES)
def test_localize_follows_rfc5545(zone_name, local, expected, change):
    zone = ZoneInfo(zone_name)
    assert localize(local, zone) == expected
    assert localize(local, zone).tzinfo is UTC
    assert rfc5545_instant(local, zone) == expected
    assert clock_change(local, zone) == change


def test_gap_time_lands_where_the_clock_shows_the_same_minutes_later():
    # 02:30 in New York's gap is read as EST, which is 03:30 EDT on the wall.
    held = localize(wall(2026, 3, 8, 2, 30), ZoneInfo("America/New_York")).astimezone(ZoneInfo("America/New_York"))
    assert (held.hour, held.minute) == (3, 30)


def test_localize_rejects_aware_times():
    with pytest.raises(ValueError, match="naive"):
        localize(utc(2026, 1, 1), ZoneInfo("Europe/London"))


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    data=st.data(),
)
def test_localize_matches_oracle_near_every_transition(zone_name, data):
    zone = ZoneInfo(zone_name)
    changes = transitions(zone_name, 2010, 2030)
    if changes and data.draw(st.booleans(), label="near a transition"):
        change = data.draw(st.sampled_from(changes), label="transition")
        local = change.wall_before + timedelta(minutes=data.draw(st.integers(-90, 150), label="minutes"))
    else:
        local = data.draw(st.datetimes(wall(2010, 1, 1), wall(2030, 12, 31)), label="local").replace(microsecond=0)
    assert localize(local, zone) == rfc5545_instant(local, zone)


# --- expansion --------------------------------------------------------------------------------------------------------


def weekly(zone: str, start: datetime, *, interval: int = 1, exdates: tuple[datetime, ...] = ()) -> ScheduleRule:
    rule = weekly_rule(start.weekday(), start.time(), interval_weeks=interval)
    return ScheduleRule(rrule=rule, tz=zone, dtstart_local=start, exdates_local=exdates)


def test_weekly_rule_text():
    assert weekly_rule(0, time(19, 0)) == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;BYHOUR=19;BYMINUTE=0;BYSECOND=0"
    assert weekly_rule(6, time(7, 30), interval_weeks=3) == (
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU;BYHOUR=7;BYMINUTE=30;BYSECOND=0"
    )


@pytest.mark.parametrize(
    ("weekday", "local_time", "interval", "message"),
    [(7, time(19), 1, "Weekday"), (-1, time(19), 1, "Weekday"), (0, time(19), 0, "every 1 or more weeks")],
)
def test_weekly_rule_rejects(weekday, local_time, interval, message):
    with pytest.raises(RecurrenceError, match=message):
        weekly_rule(weekday, local_time, interval_weeks=interval)


def test_first_weekly_start_moves_to_the_weekday():
    assert first_weekly_start(date(2026, 3, 25), 6, time(19)) == wall(2026, 3, 29, 19)
    assert first_weekly_start(date(2026, 3, 29), 6, time(19)) == wall(2026, 3, 29, 19)


def test_monthly_rule_text():
    assert monthly_rule(1, 1, time(19)) == "FREQ=MONTHLY;INTERVAL=1;BYDAY=1TU;BYHOUR=19;BYMINUTE=0;BYSECOND=0"
    assert monthly_rule(-1, 3, time(18, 30)) == "FREQ=MONTHLY;INTERVAL=1;BYDAY=-1TH;BYHOUR=18;BYMINUTE=30;BYSECOND=0"
    assert parse_rrule(monthly_rule(-1, 3, time(18, 30))) == monthly_rule(-1, 3, time(18, 30))


@pytest.mark.parametrize(
    ("position", "weekday", "message"),
    [
        (5, 1, "first, second, third, fourth or last weekday of the month, not 5"),
        (0, 1, "not 0"),
        (-2, 1, "not -2"),
        (1, 7, "Weekday must be 0 (Monday) to 6 (Sunday), not 7"),
    ],
)
def test_monthly_rule_rejects(position, weekday, message):
    with pytest.raises(RecurrenceError, match=re.escape(message)):
        monthly_rule(position, weekday, time(19))
    with pytest.raises(RecurrenceError, match=re.escape(message)):
        first_monthly_start(date(2026, 1, 1), position, weekday, time(19))


@pytest.mark.parametrize(
    ("year", "month", "position", "weekday", "expected"),
    [
        (2026, 12, 1, 1, date(2026, 12, 1)),  # the month starts on its first Tuesday
        (2026, 12, 4, 1, date(2026, 12, 22)),
        (2026, 12, -1, 1, date(2026, 12, 29)),
        (2026, 12, -1, 3, date(2026, 12, 31)),  # the month ends on its last Thursday
        (2027, 2, -1, 3, date(2027, 2, 25)),
        (2028, 2, -1, 1, date(2028, 2, 29)),  # a leap day
        (2026, 3, -1, 6, date(2026, 3, 29)),  # Europe's spring-forward Sunday
        (2026, 3, 2, 6, date(2026, 3, 8)),  # America's
    ],
)
def test_weekday_of_month(year, month, position, weekday, expected):
    assert weekday_of_month(year, month, position, weekday) == expected


def test_first_monthly_start_moves_to_the_next_such_day():
    assert first_monthly_start(date(2026, 11, 30), -1, 3, time(19)) == wall(2026, 12, 31, 19)
    assert first_monthly_start(date(2026, 12, 1), 1, 1, time(19)) == wall(2026, 12, 1, 19)
    assert first_monthly_start(date(2026, 12, 2), 1, 1, time(19)) == wall(2027, 1, 5, 19)
    assert first_monthly_start(date(2026, 12, 30), -1, 1, time(7)) == wall(2027, 1, 26, 7)


def test_monthly_by_position_expands_to_those_days_only():
    last_thursday = ScheduleRule(monthly_rule(-1, 3, time(19)), "Europe/London", wall(2026, 12, 31, 19))
    got = expand(last_thursday, utc(2026, 12, 1), utc(2027, 5, 1))
    assert [o.local for o in got] == [
        wall(2026, 12, 31, 19),
        wall(2027, 1, 28, 19),
        wall(2027, 2, 25, 19),
        wall(2027, 3, 25, 19),
        wall(2027, 4, 29, 19),
    ]
    assert got[-1].utc == utc(2027, 4, 29, 18)  # British Summer Time by then


def test_last_sunday_of_the_month_meets_in_london_clock_changes_once():
    # Europe changes its clocks on the last Sunday of March and October, at 01:00 UTC.
    rule = ScheduleRule(monthly_rule(-1, 6, time(1, 30)), "Europe/London", wall(2026, 1, 25, 1, 30))
    got = {o.local.month: o for o in expand(rule, utc(2026, 1, 1), utc(2027, 1, 1))}
    assert len(got) == 12
    assert got[3] == Occurrence(wall(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30))  # in the gap: read as GMT
    assert got[10] == Occurrence(wall(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30))  # in the fold: the first


@pytest.mark.parametrize(
    ("rrule", "repeat", "words"),
    [
        (weekly_rule(1, time(19)), Repeat(1), "Every Tuesday"),
        (weekly_rule(1, time(19), interval_weeks=2), Repeat(1, interval_weeks=2), "Every 2 weeks on Tuesday"),
        (monthly_rule(1, 1, time(19)), Repeat(1, week_of_month=1), "First Tuesday of the month"),
        (monthly_rule(-1, 3, time(19)), Repeat(3, week_of_month=-1), "Last Thursday of the month"),
    ],
)
def test_repeat_of_the_rules_the_bot_builds(rrule, repeat, words):
    assert repeat_of(rrule) == repeat
    assert repeat.describe() == words


@pytest.mark.parametrize(
    "rrule",
    [None, "FREQ=DAILY", "FREQ=MONTHLY;BYDAY=5TU", "FREQ=MONTHLY;BYDAY=1TU;COUNT=3", "FREQ=WEEKLY;BYDAY=MO,TU"],
)
def test_repeat_of_other_rules_is_none(rrule):
    assert repeat_of(rrule) is None


def test_weekly_across_a_spring_forward_night_keeps_every_sunday_once():
    rule = weekly("Europe/London", wall(2026, 3, 15, 1, 30))
    got = expand(rule, utc(2026, 3, 1), utc(2026, 4, 13))
    assert got == [
        Occurrence(wall(2026, 3, 15, 1, 30), utc(2026, 3, 15, 1, 30)),
        Occurrence(wall(2026, 3, 22, 1, 30), utc(2026, 3, 22, 1, 30)),
        Occurrence(wall(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30)),  # in the gap: read as GMT
        Occurrence(wall(2026, 4, 5, 1, 30), utc(2026, 4, 5, 0, 30)),
        Occurrence(wall(2026, 4, 12, 1, 30), utc(2026, 4, 12, 0, 30)),
    ]


def test_weekly_across_a_fall_back_night_is_not_doubled():
    rule = weekly("America/New_York", wall(2026, 10, 25, 1, 30))
    got = expand(rule, utc(2026, 10, 20), utc(2026, 11, 10))
    assert [o.utc for o in got] == [utc(2026, 10, 25, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)]


def test_midnight_gap_in_historic_sao_paulo():
    rule = weekly("America/Sao_Paulo", wall(2018, 10, 28, 0, 30))
    got = expand(rule, utc(2018, 10, 1), utc(2018, 11, 12))
    assert [o.utc for o in got] == [utc(2018, 10, 28, 3, 30), utc(2018, 11, 4, 3, 30), utc(2018, 11, 11, 2, 30)]


def test_every_two_and_three_weeks():
    two = weekly("Europe/Berlin", wall(2026, 1, 6, 18), interval=2)
    assert [o.local for o in expand(two, utc(2026, 1, 1), utc(2026, 2, 10))] == [
        wall(2026, 1, 6, 18),
        wall(2026, 1, 20, 18),
        wall(2026, 2, 3, 18),
    ]
    three = weekly("Europe/Berlin", wall(2026, 1, 6, 18), interval=3)
    got = expand(three, utc(2026, 1, 1), utc(2027, 1, 1))
    assert all(b.local - a.local == timedelta(weeks=3) for a, b in itertools.pairwise(got))
    assert len(got) == 18


def test_one_off():
    rule = ScheduleRule(rrule=None, tz="Asia/Kolkata", dtstart_local=wall(2026, 5, 1, 18, 30))
    assert expand(rule, utc(2026, 1, 1), utc(2027, 1, 1)) == [Occurrence(wall(2026, 5, 1, 18, 30), utc(2026, 5, 1, 13))]
    assert expand(rule, utc(2026, 5, 1, 13, 1), utc(2027, 1, 1)) == []
    cancelled = ScheduleRule(
        rrule=None, tz="Asia/Kolkata", dtstart_local=wall(2026, 5, 1, 18, 30), exdates_local=(wall(2026, 5, 1, 18, 30),)
    )
    assert expand(cancelled, utc(2026, 1, 1), utc(2027, 1, 1)) == []


def test_exdates_remove_occurrences_by_wall_time_even_in_a_gap():
    rule = weekly(
        "Europe/London", wall(2026, 3, 15, 1, 30), exdates=(wall(2026, 3, 29, 1, 30), wall(2026, 3, 22, 1, 30))
    )
    got = expand(rule, utc(2026, 3, 1), utc(2026, 4, 6))
    assert [o.local for o in got] == [wall(2026, 3, 15, 1, 30), wall(2026, 4, 5, 1, 30)]
    assert rule.exdates_local == (wall(2026, 3, 22, 1, 30), wall(2026, 3, 29, 1, 30))


def test_window_is_half_open():
    rule = weekly("UTC", wall(2026, 1, 5, 19))
    assert [o.utc for o in expand(rule, utc(2026, 1, 12, 19), utc(2026, 1, 19, 19))] == [utc(2026, 1, 12, 19)]
    assert expand(rule, utc(2026, 1, 19, 19), utc(2026, 1, 12, 19)) == []


def test_instants_are_sorted_even_when_a_gap_time_comes_after_a_later_wall_time():
    # 02:30 is in New York's gap and is read as EST (07:30Z); 03:00 the same night is EDT (07:00Z).
    rule = ScheduleRule("FREQ=DAILY;BYHOUR=2,3;BYMINUTE=0,30;BYSECOND=0", "America/New_York", wall(2026, 3, 7, 2, 0))
    night = expand(rule, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert [(o.local.time(), o.utc) for o in night] == [
        (time(2, 0), utc(2026, 3, 8, 7, 0)),
        (time(3, 0), utc(2026, 3, 8, 7, 0)),
        (time(2, 30), utc(2026, 3, 8, 7, 30)),
        (time(3, 30), utc(2026, 3, 8, 7, 30)),
    ]
    assert len({o.local for o in night}) == 4


def test_count_and_until():
    counted = ScheduleRule("FREQ=WEEKLY;COUNT=3;BYDAY=MO", "UTC", wall(2026, 1, 5, 10), (wall(2026, 1, 12, 10),))
    # RFC 5545: EXDATE removes from the COUNTed set, it does not extend it.
    assert [o.local for o in first_occurrences(counted, 10)] == [wall(2026, 1, 5, 10), wall(2026, 1, 19, 10)]
    until_utc = ScheduleRule("FREQ=WEEKLY;UNTIL=20260112T090000Z;BYDAY=MO", "Europe/Berlin", wall(2026, 1, 5, 10))
    assert [o.utc for o in first_occurrences(until_utc, 10)] == [utc(2026, 1, 5, 9), utc(2026, 1, 12, 9)]
    until_local = ScheduleRule("FREQ=WEEKLY;UNTIL=20260112T095959;BYDAY=MO", "Europe/Berlin", wall(2026, 1, 5, 10))
    assert [o.utc for o in first_occurrences(until_local, 10)] == [utc(2026, 1, 5, 9)]
    assert rrule_for_export(until_local) == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260112T085959Z"
    assert rrule_for_export(until_utc) == "FREQ=WEEKLY;UNTIL=20260112T090000Z;BYDAY=MO"


def test_next_occurrences():
    rule = weekly("Pacific/Chatham", wall(2024, 1, 1, 19))
    got = next_occurrences(rule, utc(2026, 6, 1, 6), 3)
    assert [o.local for o in got] == [wall(2026, 6, 1, 19), wall(2026, 6, 8, 19), wall(2026, 6, 15, 19)]
    assert got[0].utc == utc(2026, 6, 1, 6, 15)
    # At or after: an occurrence exactly at `after_utc` is still to come.
    assert next_occurrences(rule, utc(2026, 6, 1, 6, 15), 1) == got[:1]
    assert next_occurrences(rule, utc(2026, 6, 1, 6, 16), 1)[0].local == wall(2026, 6, 8, 19)
    finite = ScheduleRule("FREQ=WEEKLY;COUNT=2;BYDAY=MO", "UTC", wall(2026, 1, 5, 10))
    assert len(next_occurrences(finite, utc(2020, 1, 1), 10)) == 2


def test_expansion_far_from_the_start_is_cheap_and_exact():
    rule = weekly("Australia/Sydney", wall(2024, 1, 1, 19))
    got = expand(rule, utc(2043, 1, 1), utc(2044, 1, 1))
    assert len(got) in (52, 53)
    assert all(o.local.weekday() == 0 and o.local.time() == time(19) for o in got)


def test_expand_needs_aware_bounds():
    rule = weekly("UTC", wall(2026, 1, 5, 19))
    with pytest.raises(ValueError, match="aware"):
        expand(rule, wall(2026, 1, 1), utc(2026, 2, 1))


# --- validation -------------------------------------------------------------------------------------------------------


def test_parse_zone():
    assert parse_zone(" Europe/London ").key == "Europe/London"
    with pytest.raises(RecurrenceError, match=r"Unknown time zone 'Mars/Olympus'.*Europe/London"):
        parse_zone("Mars/Olympus")
    with pytest.raises(RecurrenceError, match="Did you mean America/New_York"):
        parse_zone("america/new_york")
    for bad in ("", "Europe", "/etc/passwd", "../../etc/passwd", "localtime", "x" * 500):
        with pytest.raises(RecurrenceError) as caught:
            parse_zone(bad)
        assert len(caught.value.message) < 200


def test_errors_are_user_facing_value_errors():
    with pytest.raises(RecurrenceError) as caught:
        parse_zone("Nowhere")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, InvalidInputError)
    assert caught.value.message == str(caught.value)


def test_parse_rrule_normalises():
    assert parse_rrule(" rrule:freq=weekly;byday=mo ") == "FREQ=WEEKLY;BYDAY=MO"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "isn't valid"),
        ("FREQ=WEEKLY; BYDAY=MO", "isn't valid"),
        ("BYDAY=MO", "FREQ=DAILY, WEEKLY"),
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=MINUTELY", "at most daily"),
        ("FREQ=WEEKLY;BYDAY=XX", "isn't valid RFC 5545"),
        ("FREQ=WEEKLY;BYEASTER=0", "isn't part of RFC 5545"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT"),
        ("FREQ=WEEKLY;COUNT=-1", "COUNT"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20270101T000000Z", "not both"),
        ("FREQ=WEEKLY;UNTIL=20270101", "must be a date-time"),
        ("FREQ=WEEKLY;FREQ=DAILY", "twice"),
        ("FREQ=WEEKLY;BYDAY", "NAME=VALUE"),
        ("FREQ=DAILY;BYHOUR=24", "hour must be in 0..23"),
        ("FREQ=WEEKLY;INTERVAL=99999999999", "isn't valid RFC 5545"),
    ],
)
def test_parse_rrule_rejects(text, message):
    with pytest.raises(RecurrenceError, match=message):
        parse_rrule(text)


def test_schedule_rule_start_must_be_the_first_occurrence():
    with pytest.raises(RecurrenceError, match="first occurrence from then is 2026-01-05T19:00"):
        ScheduleRule(weekly_rule(0, time(19)), "UTC", wall(2026, 1, 1, 19))


def test_impossible_rule_is_refused_quickly():
    with pytest.raises(RecurrenceError, match="never produces a date"):
        ScheduleRule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "UTC", wall(2026, 1, 1))


def test_until_before_start_is_refused():
    with pytest.raises(RecurrenceError, match="before its start"):
        ScheduleRule("FREQ=WEEKLY;UNTIL=20250101T000000Z", "UTC", wall(2026, 1, 1))


def test_schedule_rule_needs_naive_wall_times():
    with pytest.raises(ValueError, match="naive"):
        ScheduleRule(None, "UTC", utc(2026, 1, 1))


def test_parse_local_datetime():
    assert parse_local_datetime("2026-03-29T02:30") == wall(2026, 3, 29, 2, 30)
    assert parse_local_datetime("2026-03-29 02:30:15") == wall(2026, 3, 29, 2, 30, 15)
    for bad in ("2026-03-29T02:30+01:00", "2026-03-29T02:30Z", "2026-03-29", "2026-02-30T10:00"):
        with pytest.raises(RecurrenceError, match="without an offset"):
            parse_local_datetime(bad)


# --- the acceptance property: `schedule preview` equals an independent expansion of the iCalendar export ------------
#
# recurring-ical-events expands the exported RRULE with dateutil over *aware* datetimes (DTSTART carrying the TZID's
# tzinfo) and turns each into an instant with the tzinfo's offset. With the zoneinfo provider (a TZID that is an IANA
# name) a wall time in a gap or fold therefore gets fold=0, PEP 495's offset-before-the-transition, which is exactly
# RFC 5545 section 3.3.5; no hours need avoiding. The second run renames the TZID so icalendar cannot find it by
# name and must build the zone from the exported VTIMEZONE (dateutil.tz.tzical): a different time zone
# implementation, checking that the VTIMEZONE itself means the same instants.

_private_tzids = itertools.count()


@dataclass(frozen=True)
class WeeklyCase:
    zone: str
    start: datetime
    interval: int
    exdates: tuple[datetime, ...]

    @property
    def rule(self) -> ScheduleRule:
        return weekly(self.zone, self.start, interval=self.interval, exdates=self.exdates)

    def wall_times(self) -> Iterator[datetime]:
        """Yield the series' wall times from its start, by adding whole periods: no rule engine involved."""
        local = self.start
        while True:
            yield local
            local += timedelta(weeks=self.interval)


def nth_weekday_by_calendar(year: int, month: int, position: int, weekday: int) -> date:
    """Return the month's `position`-th `weekday` (-1: last), read off the stdlib's month grid."""
    days = [week[weekday] for week in calendar.monthcalendar(year, month) if week[weekday]]
    return date(year, month, days[position - 1] if position > 0 else days[-1])


def months_from(year: int, month: int) -> Iterator[tuple[int, int]]:
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass(frozen=True)
class MonthlyCase:
    """A monthly meeting on the `position`-th (-1: last) weekday of its start, at the start's time."""

    zone: str
    start: datetime
    position: int
    exdates: tuple[datetime, ...]

    @property
    def rule(self) -> ScheduleRule:
        rrule = monthly_rule(self.position, self.start.weekday(), self.start.time())
        return ScheduleRule(rrule=rrule, tz=self.zone, dtstart_local=self.start, exdates_local=self.exdates)

    def wall_times(self) -> Iterator[datetime]:
        """Yield the series' wall times from its start, one a month from the calendar grid: no rule engine involved."""
        for year, month in months_from(self.start.year, self.start.month):
            day = nth_weekday_by_calendar(year, month, self.position, self.start.weekday())
            yield datetime.combine(day, self.start.time())


Case = WeeklyCase | MonthlyCase


@st.composite
def weekly_cases(draw: st.DrawFn, zones: tuple[str, ...] = ZONES, years: tuple[int, int] = (2024, 2027)) -> WeeklyCase:
    """Draw a weekly schedule, most of them meeting inside a gap or fold on a night the three years cover."""
    zone = draw(st.sampled_from(zones), label="zone")
    interval = draw(st.integers(1, 3), label="interval")
    first_year, last_year = years
    changes = transitions(zone, first_year, last_year + 2)
    # Three in four aim at a clock change: random weekly times rarely meet on one of the few nights a year.
    if changes and draw(st.integers(0, 3), label="aim at a clock change") > 0:
        change = draw(st.sampled_from(changes), label="transition")
        low, high = sorted((change.wall_before, change.wall_after))
        # Every quarter hour the clock change skips or repeats (transitions fall on :00, :30 or :45).
        quarters = int((high - low) / timedelta(minutes=15))
        night = low + timedelta(minutes=15 * draw(st.integers(0, quarters - 1), label="quarter"))
        # Start a whole number of periods before that night, in the start years, with the night inside three years.
        period_days = 7 * interval
        fewest = max(0, -(-(night.date() - date(last_year, 12, 31)).days // period_days))
        most = min((night.date() - date(first_year, 1, 1)).days, (THREE_YEARS - timedelta(days=2)).days) // period_days
        periods_back = draw(st.integers(fewest, max(fewest, most)), label="periods back")
        start = night - timedelta(weeks=interval * periods_back)
    else:
        start_date = draw(st.dates(date(first_year, 1, 1), date(last_year, 12, 31)), label="start date")
        local_time = time(draw(st.integers(0, 23), label="hour"), draw(st.sampled_from((0, 15, 30, 45)), label="min"))
        start = first_weekly_start(start_date, draw(st.integers(0, 6), label="weekday"), local_time)
    cancelled = draw(st.lists(st.integers(1, 150), max_size=3, unique=True), label="cancelled periods")
    exdates = tuple(start + timedelta(weeks=interval * k) for k in cancelled)
    return WeeklyCase(zone, start, interval, exdates)


@st.composite
def monthly_cases(
    draw: st.DrawFn, zones: tuple[str, ...] = ZONES, years: tuple[int, int] = (2024, 2027)
) -> MonthlyCase:
    """Draw a monthly-by-position schedule, most of them meeting inside a gap or fold."""
    zone = draw(st.sampled_from(zones), label="zone")
    first_year, last_year = years
    changes = transitions(zone, first_year, last_year + 2)
    # Clocks mostly change on a weekday's position in its month ("last Sunday of March"), so aiming at a clock
    # change means meeting on that night's position: its n-th weekday, or the last one when it is.
    if changes and draw(st.integers(0, 3), label="aim at a clock change") > 0:
        change = draw(st.sampled_from(changes), label="transition")
        low, high = sorted((change.wall_before, change.wall_after))
        quarters = int((high - low) / timedelta(minutes=15))
        night = low + timedelta(minutes=15 * draw(st.integers(0, quarters - 1), label="quarter"))
        day = night.date()
        positions = [(day.day - 1) // 7 + 1] if day.day <= 28 else []
        if day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
            positions.append(-1)
        position = draw(st.sampled_from([p for p in positions if p <= 4]), label="position")
        # Start a whole number of months before that night, in the start years, with the night inside three years.
        lowest = max(first_year * 12, (day.year * 12 + day.month - 1) - 33)
        start_index = draw(st.integers(lowest, max(lowest, day.year * 12 + day.month - 1)), label="start month")
        start_year, start_month = divmod(start_index, 12)
        first = nth_weekday_by_calendar(start_year, start_month + 1, position, day.weekday())
        start = datetime.combine(first, night.time())
    else:
        start_date = draw(st.dates(date(first_year, 1, 1), date(last_year, 12, 31)), label="start date")
        local_time = time(draw(st.integers(0, 23), label="hour"), draw(st.sampled_from((0, 15, 30, 45)), label="min"))
        position = draw(st.sampled_from((1, 2, 3, 4, -1)), label="position")
        weekday = draw(st.integers(0, 6), label="weekday")
        start = first_monthly_start(start_date, position, weekday, local_time)
    cancelled = draw(st.lists(st.integers(1, 34), max_size=3, unique=True), label="cancelled months")
    series = MonthlyCase(zone, start, position, ())
    wall_times = list(itertools.islice(series.wall_times(), 36))
    return dataclasses.replace(series, exdates=tuple(wall_times[k] for k in cancelled))


def schedule_cases(zones: tuple[str, ...] = ZONES, years: tuple[int, int] = (2024, 2027)) -> st.SearchStrategy[Case]:
    """Draw weekly and monthly-by-position schedules alike."""
    return st.one_of(weekly_cases(zones, years), monthly_cases(zones, years))


def expected_wall_times(case: Case, window_end: datetime) -> list[datetime]:
    """Return every wall time the rule selects in the window, computed without dateutil or the code under test."""
    zone = ZoneInfo(case.zone)
    selected = []
    for local in case.wall_times():
        if rfc5545_instant(local, zone) >= window_end + timedelta(days=2):
            break
        if local not in case.exdates and rfc5545_instant(local, zone) < window_end:
            selected.append(local)
    return selected


def instants_from_ics(ics: bytes, start: datetime, end: datetime) -> list[datetime]:
    """Expand an iCalendar file with recurring-ical-events and return the UTC instants starting in [start, end)."""
    calendar = icalendar.Calendar.from_ical(ics)
    events = recurring_ical_events.of(calendar).between(start, end)
    # between() returns every event overlapping the span; the bot's window is by start instant.
    instants = sorted(event.DTSTART.astimezone(UTC) for event in events)
    return [instant for instant in instants if start <= instant < end]


def with_private_tzid(ics: bytes, zone: str) -> bytes:
    """Return the calendar with its TZID renamed, so a reader must use the VTIMEZONE rather than its own zone data."""
    unfolded = re.sub(rb"\r\n[ \t]", b"", ics)
    private = f"X-SMART-TEST-{next(_private_tzids)}".encode()
    return unfolded.replace(b"TZID:" + zone.encode() + b"\r\n", b"TZID:" + private + b"\r\n").replace(
        b"TZID=" + zone.encode() + b":", b"TZID=" + private + b":"
    )


def check_case(case: Case, *, via_vtimezone: bool) -> None:
    rule = case.rule
    zone = ZoneInfo(case.zone)
    window_start = localize(case.start, zone) - timedelta(hours=1)
    window_end = window_start + THREE_YEARS

    ours = expand(rule, window_start, window_end)
    kinds = {clock_change(o.local, zone) for o in ours} - {None}
    event(f"meets in a {' and a '.join(sorted(kinds))}" if kinds else "never meets in a gap or fold")
    if isinstance(case, MonthlyCase):
        event(f"monthly, {'last' if case.position == -1 else 'n-th'} weekday")

    # Every selected wall time exactly once: none lost on spring-forward nights, none doubled at fall-back.
    expected = expected_wall_times(case, window_end)
    assert [o.local for o in ours] == expected
    assert [o.utc for o in ours] == [rfc5545_instant(local, zone) for local in expected]
    assert len({o.utc for o in ours}) == len(ours)

    ics = build_calendar(
        "Property", [IcsEvent("p@test", "Meeting", "", rule, timedelta(minutes=90))], generated_at=GENERATED_AT
    )
    if via_vtimezone:
        ics = with_private_tzid(ics, case.zone)
        assert case.zone.encode() not in ics
        # The reader really builds the zone from our VTIMEZONE (dateutil's tzical), not from its own tz database.
        start = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0].start
        assert start.tzinfo is not None
        assert not isinstance(start.tzinfo, ZoneInfo)
    assert instants_from_ics(ics, window_start, window_end) == [o.utc for o in ours]


def preview_json(case: Case, count: int) -> list[dict[str, str | None]]:
    """Run `schedule preview --json` for the case's rule and return the parsed rows."""
    rrule = case.rule.rrule
    assert rrule is not None
    args = ["preview", "--rrule", rrule, "--tz", case.zone, "--start", case.start.isoformat(), "--count", str(count)]
    result = CliRunner().invoke(schedule_app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@settings(max_examples=160, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=schedule_cases())
def test_preview_equals_independent_expansion_of_the_ics_export(case):
    check_case(case, via_vtimezone=False)

    # What `schedule preview` prints for the series (it takes no cancellations) against the export of that series.
    series = dataclasses.replace(case, exdates=())
    count = 40 if isinstance(series, WeeklyCase) else 30  # a monthly series meets 36 or 37 times in three years
    rows = preview_json(series, count)
    printed = [datetime.fromisoformat(str(row["utc"])) for row in rows]
    ics = build_calendar(
        "Preview", [IcsEvent("s@test", "Meeting", "", series.rule, timedelta(minutes=90))], generated_at=GENERATED_AT
    )
    window_start = localize(series.start, ZoneInfo(series.zone)) - timedelta(hours=1)
    assert printed == instants_from_ics(ics, window_start, window_start + THREE_YEARS)[:count]
    expected = expected_wall_times(series, window_start + THREE_YEARS)[:count]
    assert [row["wall_time"] for row in rows] == [local.isoformat() for local in expected]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=schedule_cases())
def test_exported_vtimezone_gives_the_same_instants(case):
    check_case(case, via_vtimezone=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=schedule_cases(zones=HISTORIC_DST_ZONES, years=(2012, 2019)))
def test_historic_midnight_transitions_match_too(case):
    check_case(case, via_vtimezone=False)
