"""The group's meetings as an iCalendar file members can subscribe to."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import MeetingOccurrence, MeetingSchedule
from bot.domain.ics import IcsEvent, build_calendar
from bot.domain.recurrence import ScheduleRule
from bot.domain.states import OccurrenceState


async def active_series(session: AsyncSession, guild_id: int) -> list[tuple[MeetingSchedule, ScheduleRule]]:
    """Return the guild's active series, oldest first, each with its rule and cancelled dates as exceptions."""
    found: list[tuple[MeetingSchedule, ScheduleRule]] = []
    schedules = (
        await session.scalars(
            select(MeetingSchedule)
            .where(MeetingSchedule.guild_id == guild_id, MeetingSchedule.active)
            .order_by(MeetingSchedule.id)
        )
    ).all()
    for schedule in schedules:
        cancelled = (
            await session.scalars(
                select(MeetingOccurrence.local_start).where(
                    MeetingOccurrence.schedule_id == schedule.id,
                    MeetingOccurrence.state == OccurrenceState.CANCELLED,
                )
            )
        ).all()
        rule = ScheduleRule(
            schedule.rrule,
            schedule.timezone,
            datetime.fromisoformat(schedule.dtstart_local),
            tuple(datetime.fromisoformat(local) for local in cancelled),
        )
        found.append((schedule, rule))
    return found


async def guild_calendar(database: Database, clock: Clock, guild_id: int, *, name: str = "SMART meetings") -> bytes:
    """Return every active series of the guild, with cancelled dates as EXDATEs."""
    async with database.session() as session:
        series = await active_series(session, guild_id)
    events = [
        IcsEvent(
            uid=f"meeting-series-{schedule.id}-guild-{guild_id}@smart-meetings-bot",
            summary=schedule.title,
            description="SMART Recovery meeting. Everyone is welcome; taking part is optional.",
            rule=rule,
            duration=timedelta(minutes=schedule.duration_minutes),
            url=f"https://discord.com/channels/{guild_id}/{schedule.channel_id}",
        )
        for schedule, rule in series
    ]
    return build_calendar(name, events, generated_at=clock.now())
