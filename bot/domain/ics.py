"""iCalendar (RFC 5545) export of a group's meetings, so members can subscribe from any calendar app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vRecur

from bot.domain.recurrence import ScheduleRule, rrule_for_export

PRODID = "-//SMART Recovery meetings bot//Meetings//EN"

# VTIMEZONE definitions list each transition, so they are cut to the years a subscriber can see. Calendar apps poll
# the feed and get a fresh export, so ten years beyond the latest date involved is more than any of them needs.
VTIMEZONE_YEARS_AHEAD = 10


@dataclass(frozen=True, slots=True)
class IcsEvent:
    """One meeting series (or one-off meeting) as it appears in the exported calendar."""

    uid: str
    summary: str
    description: str
    rule: ScheduleRule
    duration: timedelta
    location: str | None = None
    url: str | None = None


def build_calendar(calendar_name: str, events: Iterable[IcsEvent], *, generated_at: datetime) -> bytes:
    """Return an iCalendar file with each event, its RRULE and EXDATEs, and a VTIMEZONE for each zone used."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be an aware datetime")
    stamp = generated_at.astimezone(UTC)
    events = list(events)
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    # NAME is RFC 7986; X-WR-CALNAME is what Google Calendar and Apple Calendar actually read.
    calendar.add("NAME", calendar_name)
    calendar.add("X-WR-CALNAME", calendar_name)
    # Timezones go first so that every TZID is defined before an event refers to it.
    for timezone in _timezones(events, stamp.date()):
        calendar.add_component(timezone)
    for event in events:
        calendar.add_component(_vevent(event, stamp))
    ical: bytes = calendar.to_ical()
    return ical


def _vevent(event: IcsEvent, stamp: datetime) -> Event:
    """Return the VEVENT for one meeting series."""
    rule = event.rule
    zone = rule.zone
    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", stamp)
    # DTSTART carries the wall time and TZID exactly as scheduled (even one inside a DST gap), so a calendar app
    # resolves it by the same RFC 5545 rule the bot uses.
    vevent.add("DTSTART", _in_zone(rule.dtstart_local, zone))
    vevent.add("DURATION", event.duration)
    vevent.add("SUMMARY", event.summary)
    vevent.add("DESCRIPTION", event.description)
    if event.location is not None:
        vevent.add("LOCATION", event.location)
    if event.url is not None:
        vevent.add("URL", event.url)
    export_rule = rrule_for_export(rule)
    if export_rule is None:
        # An EXDATE removing a one-off's only instance leaves an event some apps still show; CANCELLED is explicit.
        if rule.dtstart_local in rule.exdates_local:
            vevent.add("STATUS", "CANCELLED")
        return vevent
    vevent.add("RRULE", vRecur.from_ical(export_rule))
    if rule.exdates_local:
        vevent.add("EXDATE", [_in_zone(exdate, zone) for exdate in rule.exdates_local])
    return vevent


def _timezones(events: list[IcsEvent], today: date) -> list[Timezone]:
    """Return a VTIMEZONE for each zone the events use (UTC needs none), covering the dates they span."""
    earliest: dict[str, date] = {}
    latest: dict[str, date] = {}
    for event in events:
        tz = event.rule.tz
        start = event.rule.dtstart_local.date()
        earliest[tz] = min(earliest.get(tz, start), start)
        latest[tz] = max(latest.get(tz, today), start)
    timezones = []
    for tz in sorted(earliest):
        if tz == "UTC":
            continue
        # Start a day early so the first observance is in force before the first meeting.
        first = earliest[tz] - timedelta(days=1)
        last = date(latest[tz].year + VTIMEZONE_YEARS_AHEAD, 1, 1)
        timezones.append(Timezone.from_tzinfo(ZoneInfo(tz), tzid=tz, first_date=first, last_date=last))
    return timezones


def _in_zone(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive wall time `local` tagged with `zone`, so it is written as that wall time with a TZID."""
    return local.replace(tzinfo=zone, fold=0)
