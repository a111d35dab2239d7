"""Meeting times as people read them on a poster: "Tuesdays, 7pm UK time", "First Tuesday of the month, 7:30pm"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.guild import UK_ZONES
from bot.domain.recurrence import Occurrence, WEEKDAY_NAMES, WEEK_OF_MONTH_NAMES, repeat_of

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Zones whose people say the region rather than the city ("UK time", not "London time").
# Discord mentions (<@123>, <@&123>, <#123>) carry ids, and markdown marks mean nothing on paper or a web page.
_MENTION_RE = re.compile(r"<(?:@[!&]?|#)[0-9]+>")
_MARKDOWN_RE = re.compile(r"\*\*|__|~~|`")
_REGION_NAMES = dict.fromkeys(UK_ZONES, "UK") | {"Europe/Dublin": "Irish", "UTC": "UTC"}


@dataclass(frozen=True, slots=True)
class SeriesTimes:
    """What a poster needs to say about one meeting series."""

    rrule: str | None
    dtstart_local: datetime
    tz: str


def clock_text(wall: time) -> str:
    """Return a wall time the way people say it: "7pm", "7:30pm", "12 noon", "12 midnight"."""
    if wall.minute == 0 and wall.hour == 12:
        return "12 noon"
    if wall.minute == 0 and wall.hour == 0:
        return "12 midnight"
    half = "am" if wall.hour < 12 else "pm"
    hour = wall.hour % 12 or 12
    return f"{hour}{half}" if wall.minute == 0 else f"{hour}:{wall.minute:02d}{half}"


def zone_text(tz: str) -> str:
    """Return how people name a time zone: "UK time", "Irish time", "New York time"."""
    region = _REGION_NAMES.get(tz)
    if region is not None:
        return f"{region} time"
    city = tz.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def date_text(day: date) -> str:
    """Return a short date: "Tue 3 Mar"."""
    return f"{WEEKDAY_ABBREVIATIONS[day.weekday()]} {day.day} {MONTH_ABBREVIATIONS[day.month - 1]}"


def series_text(series: SeriesTimes) -> str:
    """Return when a series meets, e.g. "Tuesdays, 7pm UK time" or "Every other Tuesday, 7pm UK time"."""
    start = series.dtstart_local
    when = f"{clock_text(start.time())} {zone_text(series.tz)}"
    if series.rrule is None:
        return f"{WEEKDAY_NAMES[start.weekday()]} {start.day} {MONTH_ABBREVIATIONS[start.month - 1]}, {when}"
    repeat = repeat_of(series.rrule)
    if repeat is None:
        # A rule the bot did not build (several days, daily...): the dates listed below say it exactly.
        return f"Regularly at {when}: see the dates below"
    day = WEEKDAY_NAMES[repeat.weekday]
    if repeat.week_of_month is not None:
        return f"{WEEK_OF_MONTH_NAMES[repeat.week_of_month]} {day} of the month, {when}"
    if repeat.interval_weeks == 1:
        return f"{day}s, {when}"
    if repeat.interval_weeks == 2:
        return f"Every other {day}, {when}"
    return f"Every {repeat.interval_weeks} weeks on {day}, {when}"


def next_dates_text(occurrences: Iterable[Occurrence], tz: str) -> list[str]:
    """Return each meeting's local date and time, e.g. "Tue 31 Mar, 7pm": the instant read in the group's zone."""
    zone = ZoneInfo(tz)
    lines = []
    for occurrence in occurrences:
        # The instant, not the rule's wall time: a meeting moved by a clock change shows when it really is.
        held = occurrence.utc.astimezone(zone)
        lines.append(f"{date_text(held.date())}, {clock_text(held.time().replace(second=0))}")
    return lines


def public_text(text: str) -> str:
    """Return Discord text fit to print or publish: mentions (which carry ids) and markdown marks removed."""
    without = _MARKDOWN_RE.sub("", _MENTION_RE.sub("", text))
    return "\n".join(" ".join(line.split()) for line in without.splitlines()).strip()
