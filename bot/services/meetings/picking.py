"""The group's meetings and series as pick lists, named in the group's time zone, for options that take one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingSchedule
from bot.domain.picking import Pick, choose, make_pick, when_text, when_words
from bot.domain.states import OccurrenceState

# More upcoming meetings than any group plans (the schedules reach 8 weeks ahead): a bound on one read, not a limit
# anyone meets. What is typed then narrows them to the 25 Discord shows.
MAX_CANDIDATES = 1000


async def group_zone(session: AsyncSession, guild_id: int) -> ZoneInfo:
    """Return the group's time zone (UTC until it is set)."""
    config = await session.get(GuildConfig, guild_id)
    return ZoneInfo(config.timezone) if config is not None and config.timezone else ZoneInfo("UTC")


async def upcoming_meeting_picks(database: Database, clock: Clock, guild_id: int, typed: str) -> list[Pick]:
    """Return the group's scheduled meetings yet to start (those that can be cancelled or given a facilitator)."""
    now = clock.now()
    query = (
        select(MeetingOccurrence.id, MeetingOccurrence.title, MeetingOccurrence.starts_at)
        .where(
            MeetingOccurrence.guild_id == guild_id,
            MeetingOccurrence.state == OccurrenceState.SCHEDULED,
            MeetingOccurrence.starts_at > now,
        )
        .order_by(MeetingOccurrence.starts_at, MeetingOccurrence.id)
        .limit(MAX_CANDIDATES)
    )
    async with database.session() as session:
        zone = await group_zone(session, guild_id)
        rows = (await session.execute(query)).all()
    today = now.astimezone(zone).date()
    picks = (
        make_pick(occurrence_id, title, [when_text(starts_at, zone, today)], when_words(starts_at, zone, today))
        for occurrence_id, title, starts_at in rows
    )
    return choose(picks, typed)


async def series_picks(
    database: Database, clock: Clock, guild_id: int, typed: str, *, with_next_meeting: bool = False
) -> list[Pick]:
    """Return the group's active series, each named with its next meeting; `with_next_meeting` drops those without."""
    now = clock.now()
    next_start = (
        select(MeetingOccurrence.schedule_id, func.min(MeetingOccurrence.starts_at).label("next_start"))
        .where(
            MeetingOccurrence.guild_id == guild_id,
            MeetingOccurrence.state == OccurrenceState.SCHEDULED,
            MeetingOccurrence.starts_at > now,
        )
        .group_by(MeetingOccurrence.schedule_id)
        .subquery()
    )
    query = (
        select(MeetingSchedule.id, MeetingSchedule.title, next_start.c.next_start)
        .outerjoin(next_start, next_start.c.schedule_id == MeetingSchedule.id)
        .where(MeetingSchedule.guild_id == guild_id, MeetingSchedule.active)
        .limit(MAX_CANDIDATES)
    )
    async with database.session() as session:
        zone = await group_zone(session, guild_id)
        rows = (await session.execute(query)).all()
    today = now.astimezone(zone).date()
    picks = []
    # Soonest first; series with no meeting ahead (a one-off already held) after them, by id.
    for schedule_id, title, starts_at in sorted(rows, key=lambda row: (row[2] is None, row[2] or now, row[0])):
        if starts_at is None:
            if not with_next_meeting:
                picks.append(make_pick(schedule_id, title, ["no meeting ahead"]))
            continue
        details = [f"next {when_text(starts_at, zone, today)}"]
        picks.append(make_pick(schedule_id, title, details, when_words(starts_at, zone, today)))
    return choose(picks, typed)
