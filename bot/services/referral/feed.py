"""The public meeting listing: `meetings.json` (Meeting Guide / TSML feed), an `.ics` and a small page per group.

Only listed groups appear, and only what their coordinators made public (public name, description, join link) with
their meetings' times: never a member, facilitator, channel or server id. The web process can serve these functions'
results as they are (`meetings_feed`, `group_calendar_by_slug`, `group_page_by_slug`); `write_feed` writes them as
files for any static web host.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig
from bot.domain.guild import DEFAULT_CRISIS_TEXT
from bot.domain.ics import IcsEvent, build_calendar
from bot.domain.meeting_times_text import SeriesTimes, next_dates_text, public_text, series_text
from bot.domain.recurrence import Occurrence, ScheduleRule, next_occurrences, repeat_of
from bot.services.meetings.calendar import active_series
from bot.services.referral.listing import ListingService, ListingView

log = logging.getLogger(__name__)

FEED_FILE = "meetings.json"
# Meeting Guide type codes (code4recovery/spec types.json): "A" is Secular. "ONL" (online) is the custom code TSML
# itself uses; the spec allows custom codes and importers ignore them, and online is also said by conference_url.
MEETING_TYPES = ("A", "ONL")
MEETING_NOTES = "Online on Discord and free. Cameras and microphones are optional; you can just listen."
PAGE_NEXT_DATES = 8
# Sunday = 0 in the feed; Python's weekday() has Monday = 0.
_FEED_DAY = {weekday: (weekday + 1) % 7 for weekday in range(7)}

_PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ name }}: online SMART Recovery meetings</title>
<link rel="alternate" type="application/json" title="Meetings Feed" href="{{ feed_href }}">
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
a.join { display: inline-block; padding: .6rem 1.2rem; background: #1d5e8c; color: #fff; border-radius: .4rem; }
.crisis { border-left: 4px solid #b3261e; padding-left: 1rem; white-space: pre-line; }
</style>
</head>
<body>
<main>
<h1>{{ name }}</h1>
<p>{{ about }}</p>
{% if description %}<p>{{ description }}</p>{% endif %}
<h2>When we meet</h2>
{% if series %}<ul>{% for line in series %}<li>{{ line }}</li>{% endfor %}</ul>{% else %}
<p>No meetings are scheduled right now.</p>{% endif %}
{% if next_dates %}<h2>The next meetings</h2>
<ul>{% for line in next_dates %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
<p>{{ notes }}</p>
<p><a class="join" href="{{ join_url }}">Join us on Discord</a></p>
<p><a href="{{ ics_href }}">Add the meetings to your calendar</a></p>
<h2>If you need help now</h2>
<p class="crisis">{{ crisis }}</p>
</main>
</body>
</html>
"""
_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_PAGE_TEMPLATE)

ABOUT_SMART = (
    "SMART Recovery is a free, science-based mutual-aid programme that helps people change their relationship "
    "with alcohol, drugs or other behaviours. In meetings we learn practical tools from one another and decide our "
    "own goals."
)


@dataclass(frozen=True, slots=True)
class PublicSeries:
    """One active meeting series as the public sees it: title, rule (cancelled dates removed) and length."""

    schedule_id: int
    title: str
    rule: ScheduleRule
    duration: timedelta
    updated_at: datetime

    @property
    def times(self) -> SeriesTimes:
        """Return what the wording of its times needs."""
        return SeriesTimes(self.rule.rrule, self.rule.dtstart_local, self.rule.tz)


async def public_series(database: Database, guild_id: int) -> list[PublicSeries]:
    """Return the group's active meeting series with their cancelled dates, in the order they were made."""
    async with database.session() as session:
        series = await active_series(session, guild_id)
    return [
        PublicSeries(
            schedule.id, schedule.title, rule, timedelta(minutes=schedule.duration_minutes), schedule.updated_at
        )
        for schedule, rule in series
    ]


def next_meetings(series: list[PublicSeries], now: datetime, count: int) -> list[tuple[PublicSeries, Occurrence]]:
    """Return the next `count` meetings across every series, soonest first."""
    merged = [(one, occurrence) for one in series for occurrence in next_occurrences(one.rule, now, count)]
    merged.sort(key=lambda pair: pair[1].utc)
    return merged[:count]


def next_dates_lines(series: list[PublicSeries], now: datetime, count: int) -> list[str]:
    """Return the next meetings as "Tue 3 Mar, 7pm" lines in each series' zone, titled when there are several."""
    lines = []
    for one, occurrence in next_meetings(series, now, count):
        (line,) = next_dates_text([occurrence], one.rule.tz)
        lines.append(f"{line} · {one.title}" if len(series) > 1 else line)
    return lines


def feed_entries(listing: ListingView, series: list[PublicSeries], base_url: str | None) -> list[dict[str, Any]]:
    """Return the group's weekly meetings as Meeting Guide feed entries (the spec lists weekly meetings only)."""
    entries: list[dict[str, Any]] = []
    for one in series:
        repeat = repeat_of(one.rule.rrule)
        if repeat is None or repeat.week_of_month is not None or repeat.interval_weeks != 1:
            # Monthly, fortnightly and one-off meetings are on the group's page and calendar instead, as the spec
            # recommends: a feed reader would show them every week.
            continue
        start = one.rule.dtstart_local
        end = start + one.duration
        updated = max(listing.updated_at, one.updated_at).astimezone(UTC)
        entry: dict[str, Any] = {
            "name": one.title,
            "slug": f"{listing.slug}-{one.schedule_id}",
            "day": _FEED_DAY[repeat.weekday],
            "time": f"{start:%H:%M}",
            "end_time": f"{end:%H:%M}",
            "timezone": one.rule.tz,
            "conference_url": listing.join_url,
            "types": list(MEETING_TYPES),
            "notes": "\n\n".join(part for part in (public_text(listing.description), MEETING_NOTES) if part),
            "group": listing.public_name,
            "updated": f"{updated:%Y-%m-%d %H:%M:%S}",
        }
        if base_url is not None:
            entry["url"] = f"{base_url.rstrip('/')}/{listing.slug}.html"
        entries.append(entry)
    return entries


async def meetings_feed(database: Database, clock: Clock, *, base_url: str | None = None) -> list[dict[str, Any]]:
    """Return `meetings.json`'s content: every listed group's weekly meetings."""
    entries: list[dict[str, Any]] = []
    for listing in await ListingService(database, clock).listed_groups():
        entries.extend(feed_entries(listing, await public_series(database, listing.guild_id), base_url))
    return entries


async def group_calendar(database: Database, clock: Clock, listing: ListingView) -> bytes:
    """Return the listed group's meetings as an iCalendar file, with its join link and no ids."""
    events = [
        IcsEvent(
            uid=f"{listing.slug}-{one.schedule_id}@smart-meetings-bot",
            summary=one.title,
            description=f"{listing.public_name}: SMART Recovery meeting. {MEETING_NOTES} Join: {listing.join_url}",
            rule=one.rule,
            duration=one.duration,
            location="Online (Discord)",
            url=listing.join_url,
        )
        for one in await public_series(database, listing.guild_id)
    ]
    return build_calendar(listing.public_name, events, generated_at=clock.now())


async def group_page(database: Database, clock: Clock, listing: ListingView, *, crisis_text: str | None) -> str:
    """Return the listed group's public page (HTML): its times, the next dates, the join link and the crisis line."""
    series = await public_series(database, listing.guild_id)
    return _PAGE.render(
        name=listing.public_name,
        about=ABOUT_SMART,
        description=public_text(listing.description),
        series=[f"{series_text(one.times)} · {one.title}" for one in series],
        next_dates=next_dates_lines(series, clock.now(), PAGE_NEXT_DATES),
        notes=MEETING_NOTES,
        join_url=listing.join_url,
        ics_href=f"{listing.slug}.ics",
        feed_href=FEED_FILE,
        crisis=public_text(crisis_text or DEFAULT_CRISIS_TEXT),
    )


async def group_calendar_by_slug(database: Database, clock: Clock, slug: str) -> bytes | None:
    """Return a listed group's `.ics` by its slug, or None when no listed group has it (for the web process)."""
    listing = await ListingService(database, clock).listed_by_slug(slug)
    return None if listing is None else await group_calendar(database, clock, listing)


async def group_page_by_slug(database: Database, clock: Clock, slug: str) -> str | None:
    """Return a listed group's public page by its slug, or None when no listed group has it (for the web process)."""
    listing = await ListingService(database, clock).listed_by_slug(slug)
    if listing is None:
        return None
    return await group_page(database, clock, listing, crisis_text=await _crisis_text(database, listing.guild_id))


async def write_feed(database: Database, clock: Clock, out: Path, *, base_url: str | None = None) -> list[Path]:
    """Write `meetings.json`, and each listed group's `<slug>.ics` and `<slug>.html`, into the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    feed = out / FEED_FILE
    feed.write_text(json.dumps(await meetings_feed(database, clock, base_url=base_url), indent=2) + "\n", "utf-8")
    written = [feed]
    for listing in await ListingService(database, clock).listed_groups():
        ics = out / f"{listing.slug}.ics"
        ics.write_bytes(await group_calendar(database, clock, listing))
        page = out / f"{listing.slug}.html"
        crisis = await _crisis_text(database, listing.guild_id)
        page.write_text(await group_page(database, clock, listing, crisis_text=crisis), "utf-8")
        written += [ics, page]
    log.info("Wrote the public listing: %d file(s).", len(written))
    return written


async def _crisis_text(database: Database, guild_id: int) -> str | None:
    """Return the group's own crisis text, if it wrote one."""
    async with database.session() as session:
        row = await session.get(GuildConfig, guild_id)
        return None if row is None else row.crisis_text
