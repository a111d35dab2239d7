"""The iCalendar export: it parses back with VTIMEZONE, RRULE and EXDATE, and calendar readers get RFC 5545 instants."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from bot.domain.ics import IcsEvent, PRODID, build_calendar
from bot.domain.recurrence import ScheduleRule, weekly_rule

GENERATED_AT = datetime(2026, 2, 1, 12, 30, tzinfo=UTC)


def wall(*parts: int) -> datetime:
    """Return a naive local wall time."""
    return datetime(*parts)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def weekly(zone: str, start: datetime, *, interval: int = 1, exdates: tuple[datetime, ...] = ()) -> ScheduleRule:
    rule = weekly_rule(start.weekday(), start.time(), interval_weeks=interval)
    return ScheduleRule(rrule=rule, tz=zone, dtstart_local=start, exdates_local=exdates)


def event(uid: str, rule: ScheduleRule, **extra: str | None) -> IcsEvent:
    return IcsEvent(
        uid=uid, summary="SMART meeting", description="", rule=rule, duration=timedelta(minutes=90), **extra
    )


def parse(ics: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(ics)


def the_event(calendar: icalendar.Calendar, uid: str) -> icalendar.Event:
    (found,) = [component for component in calendar.walk("VEVENT") if str(component["UID"]) == uid]
    return found


def test_calendar_parses_back_with_everything_a_subscriber_needs():
    london = weekly(
        "Europe/London", wall(2026, 3, 15, 1, 30), exdates=(wall(2026, 3, 29, 1, 30), wall(2026, 4, 12, 1, 30))
    )
    new_york = weekly("America/New_York", wall(2026, 3, 3, 19), interval=2)
    ics = build_calendar(
        "SMART Online, Tuesdays; all welcome",
        [
            IcsEvent(
                uid="london@smart",
                summary="SMART: Sunday; early, late",
                description="Peer support.\nNot therapy.",
                rule=london,
                duration=timedelta(minutes=90),
                location="Discord voice: #meeting-room",
                url="https://discord.com/channels/1/2",
            ),
            event("ny@smart", new_york),
        ],
        generated_at=GENERATED_AT,
    )
    calendar = parse(ics)

    assert str(calendar["PRODID"]) == PRODID
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "SMART Online, Tuesdays; all welcome"
    assert str(calendar["NAME"]) == "SMART Online, Tuesdays; all welcome"
    assert sorted(tz.tz_name for tz in calendar.timezones) == ["America/New_York", "Europe/London"]
    assert calendar.get_missing_tzids() == set()

    meeting = the_event(calendar, "london@smart")
    assert str(meeting["SUMMARY"]) == "SMART: Sunday; early, late"
    assert str(meeting["DESCRIPTION"]) == "Peer support.\nNot therapy."
    assert str(meeting["LOCATION"]) == "Discord voice: #meeting-room"
    assert str(meeting["URL"]) == "https://discord.com/channels/1/2"
    assert meeting.duration == timedelta(minutes=90)
    assert meeting["DTSTAMP"].dt == GENERATED_AT
    # DTSTART keeps the scheduled wall time and its TZID, even where that wall time is later skipped by DST.
    assert meeting["DTSTART"].params["TZID"] == "Europe/London"
    assert meeting.start.replace(tzinfo=None) == wall(2026, 3, 15, 1, 30)
    assert meeting["RRULE"].to_ical() == b"FREQ=WEEKLY;INTERVAL=1;BYSECOND=0;BYMINUTE=30;BYHOUR=1;BYDAY=SU"
    assert meeting["EXDATE"].params["TZID"] == "Europe/London"
    assert [exdate.replace(tzinfo=None) for exdate in meeting.exdates] == [
        wall(2026, 3, 29, 1, 30),
        wall(2026, 4, 12, 1, 30),
    ]
    assert b"EXDATE;TZID=Europe/London:20260329T013000,20260412T013000" in ics
    assert b"DTSTART;TZID=Europe/London:20260315T013000" in ics
    # RFC 5545 folds content lines at 75 octets.
    assert max(len(line) for line in ics.split(b"\r\n")) <= 75

    fortnightly = the_event(calendar, "ny@smart")
    assert "EXDATE" not in fortnightly
    assert fortnightly["RRULE"]["INTERVAL"] == [2]


def test_recurring_reader_skips_cancelled_meetings():
    rule = weekly("Europe/London", wall(2026, 3, 15, 1, 30), exdates=(wall(2026, 3, 29, 1, 30),))
    calendar = parse(build_calendar("Group", [event("e@smart", rule)], generated_at=GENERATED_AT))
    starts = [e.start for e in recurring_ical_events.of(calendar).between(utc(2026, 3, 1), utc(2026, 4, 13))]
    assert [s.replace(tzinfo=None) for s in starts] == [
        wall(2026, 3, 15, 1, 30),
        wall(2026, 3, 22, 1, 30),
        wall(2026, 4, 5, 1, 30),
        wall(2026, 4, 12, 1, 30),
    ]


def test_vtimezone_covers_the_series_and_only_zones_used():
    rule = weekly("Australia/Lord_Howe", wall(2026, 1, 4, 1, 45))
    utc_rule = weekly("UTC", wall(2026, 1, 5, 9))
    calendar = parse(build_calendar("G", [event("a", rule), event("b", utc_rule)], generated_at=GENERATED_AT))
    (timezone,) = calendar.timezones
    assert timezone.tz_name == "Australia/Lord_Howe"
    # Offsets from the exported definition agree with the tz database for the coming decade, half-hour DST included.
    from_export = timezone.to_tz(lookup_tzid=False)
    zone = ZoneInfo("Australia/Lord_Howe")
    instant = utc(2026, 1, 4)
    while instant < utc(2035, 12, 1):
        assert instant.astimezone(from_export).utcoffset() == instant.astimezone(zone).utcoffset(), instant
        instant += timedelta(days=5, hours=7)
    # A UTC meeting needs no VTIMEZONE: its times are written with Z.
    assert parse(build_calendar("G", [event("b", utc_rule)], generated_at=GENERATED_AT)).timezones == []
    assert b"DTSTART:20260105T090000Z" in build_calendar("G", [event("b", utc_rule)], generated_at=GENERATED_AT)


def test_until_is_exported_in_utc():
    rule = ScheduleRule("FREQ=WEEKLY;UNTIL=20260112T100000;BYDAY=MO", "Europe/Berlin", wall(2026, 1, 5, 10))
    ics = build_calendar("G", [event("u", rule)], generated_at=GENERATED_AT)
    assert b"RRULE:FREQ=WEEKLY;UNTIL=20260112T090000Z;BYDAY=MO" in ics
    starts = recurring_ical_events.of(parse(ics)).between(utc(2026, 1, 1), utc(2026, 3, 1))
    assert [e.start.astimezone(UTC) for e in starts] == [utc(2026, 1, 5, 9), utc(2026, 1, 12, 9)]


def test_one_off_has_no_rrule_and_a_cancelled_one_is_marked():
    one_off = ScheduleRule(None, "Asia/Kolkata", wall(2026, 5, 1, 18, 30))
    cancelled = ScheduleRule(None, "Asia/Kolkata", wall(2026, 5, 8, 18, 30), (wall(2026, 5, 8, 18, 30),))
    calendar = parse(build_calendar("G", [event("one", one_off), event("gone", cancelled)], generated_at=GENERATED_AT))
    meeting = the_event(calendar, "one")
    assert "RRULE" not in meeting
    assert "STATUS" not in meeting
    assert meeting.start == datetime(2026, 5, 1, 18, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    gone = the_event(calendar, "gone")
    assert "RRULE" not in gone
    assert str(gone["STATUS"]) == "CANCELLED"


def test_export_is_deterministic_and_reads_no_clock():
    rule = weekly("Pacific/Chatham", wall(2026, 9, 27, 3))
    first = build_calendar("G", [event("a", rule)], generated_at=GENERATED_AT)
    assert first == build_calendar("G", [event("a", rule)], generated_at=GENERATED_AT)
    assert b"DTSTAMP:20260201T123000Z" in first
    later = build_calendar("G", [event("a", rule)], generated_at=GENERATED_AT + timedelta(days=1))
    assert b"DTSTAMP:20260202T123000Z" in later


def test_generated_at_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        build_calendar("G", [], generated_at=wall(2026, 1, 1))


def test_empty_calendar_is_valid():
    calendar = parse(build_calendar("Nothing yet", [], generated_at=GENERATED_AT))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["X-WR-CALNAME"]) == "Nothing yet"


# recurring-ical-events builds each occurrence as DTSTART's wall time with the TZID's tzinfo and fold=0, and with a
# zoneinfo tzinfo fold=0 means "the offset before the transition" in a gap and "the first occurrence" in a fold:
# RFC 5545 section 3.3.5 exactly. These pin that down with hand-computed instants, independent of the bot's code.
READER_CASES = [
    ("Europe/London", wall(2026, 3, 22, 1, 30), wall(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30)),
    ("Europe/London", wall(2026, 10, 18, 1, 30), wall(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30)),
    ("America/New_York", wall(2026, 3, 1, 2, 30), wall(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 30)),
    ("America/New_York", wall(2026, 10, 25, 1, 30), wall(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
    ("Australia/Lord_Howe", wall(2026, 9, 27, 2, 15), wall(2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 45)),
    ("Australia/Lord_Howe", wall(2026, 3, 29, 1, 45), wall(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45)),
    ("Pacific/Chatham", wall(2026, 9, 20, 3, 0), wall(2026, 9, 27, 3, 0), utc(2026, 9, 26, 14, 15)),
    ("Pacific/Chatham", wall(2026, 3, 29, 3, 0), wall(2026, 4, 5, 3, 0), utc(2026, 4, 4, 13, 15)),
    ("America/Sao_Paulo", wall(2018, 10, 28, 0, 30), wall(2018, 11, 4, 0, 30), utc(2018, 11, 4, 3, 30)),
    ("America/Sao_Paulo", wall(2019, 2, 9, 23, 30), wall(2019, 2, 16, 23, 30), utc(2019, 2, 17, 1, 30)),
    ("America/Santiago", wall(2026, 8, 30, 0, 30), wall(2026, 9, 6, 0, 30), utc(2026, 9, 6, 4, 30)),
]


@pytest.mark.parametrize(("zone", "start", "night", "expected"), READER_CASES)
def test_recurring_ical_events_reads_gap_and_fold_nights_by_rfc5545(zone, start, night, expected):
    rule = weekly(zone, start)
    calendar = parse(build_calendar("G", [event("n", rule)], generated_at=GENERATED_AT))
    occurrences = recurring_ical_events.of(calendar).between(
        expected - timedelta(hours=3), expected + timedelta(hours=3)
    )
    assert [(o.start.replace(tzinfo=None), o.start.astimezone(UTC)) for o in occurrences] == [(night, expected)]


def test_weekly_rule_export_uses_local_time_fields():
    rule = weekly("Asia/Kolkata", wall(2026, 1, 7, 7, 15), interval=3)
    meeting = the_event(parse(build_calendar("G", [event("k", rule)], generated_at=GENERATED_AT)), "k")
    recur = meeting["RRULE"]
    assert (recur["FREQ"], recur["INTERVAL"], recur["BYDAY"], recur["BYHOUR"], recur["BYMINUTE"]) == (
        ["WEEKLY"],
        [3],
        ["WE"],
        [7],
        [15],
    )
    assert meeting.start.timetz().replace(tzinfo=None) == time(7, 15)
