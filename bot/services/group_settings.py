"""A group's timings, set by its coordinators: late-start grace, reminder times, the rota's confirm and escalate hours.

They live in columns the timers already read (`guild_config.late_start_grace_minutes` and `reminder_offsets`,
`rota_settings.confirm_hours_before` and `escalate_hours_before`), so a change applies from the next tick. Reminder
rows are made when a meeting is added to the calendar, so a change of reminder times also redoes the pending
reminders of meetings already there.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingReminder, MeetingSchedule
from bot.db.models_rota import RotaSettings
from bot.domain.group_settings import (
    GroupTimings,
    parse_reminder_offsets,
    stored_offsets,
    validate_grace,
    validate_rota_hours,
)
from bot.domain.states import OccurrenceState
from bot.services.meetings.common import reminder_offsets
from bot.services.rota.rows import ensure_settings

log = logging.getLogger(__name__)


class GroupSettingsService:
    """Read and change a group's timings (`/setup settings`, shown by `/setup show`)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def get(self, guild_id: int) -> GroupTimings:
        """Return the group's timings (the defaults for what was never set)."""
        async with self._db.session() as session:
            return await self._read(session, guild_id)

    async def update(
        self,
        guild_id: int,
        *,
        late_start_grace_minutes: int | None = None,
        reminders: str | None = None,
        rota_confirm_hours: int | None = None,
        rota_escalate_hours: int | None = None,
    ) -> GroupTimings:
        """Validate every given value, then store them together; nothing changes if one is refused."""
        grace = validate_grace(late_start_grace_minutes) if late_start_grace_minutes is not None else None
        offsets = parse_reminder_offsets(reminders) if reminders is not None else None
        now = self._clock.now()
        async with self._db.session() as session:
            current = await self._read(session, guild_id)
            rota_changed = rota_confirm_hours is not None or rota_escalate_hours is not None
            confirm, escalate = validate_rota_hours(
                rota_confirm_hours if rota_confirm_hours is not None else current.rota_confirm_hours,
                rota_escalate_hours if rota_escalate_hours is not None else current.rota_escalate_hours,
            )
            if grace is not None or offsets is not None:
                config = await session.get(GuildConfig, guild_id, with_for_update=not self._db.is_sqlite)
                if config is None:
                    config = GuildConfig(guild_id=guild_id, created_at=now, updated_at=now)
                    session.add(config)
                if grace is not None:
                    config.late_start_grace_minutes = grace
                if offsets is not None:
                    config.reminder_offsets = stored_offsets(offsets)
                    await _redo_pending_reminders(session, guild_id, offsets, now)
                config.updated_at = now
            if rota_changed:
                rota = await ensure_settings(session, self._db.is_sqlite, guild_id)
                rota.confirm_hours_before, rota.escalate_hours_before = confirm, escalate
            await session.flush()
            result = await self._read(session, guild_id)
        log.info("Guild %s changed its timings.", guild_id)
        return result

    async def meeting_channels(self, guild_id: int) -> list[tuple[int, str]]:
        """Return the channels the group's active series meet in, with where each meets (voice, stage or text)."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(MeetingSchedule.channel_id, MeetingSchedule.location_kind)
                .where(MeetingSchedule.guild_id == guild_id, MeetingSchedule.active.is_(True))
                .distinct()
            )
            return sorted((int(channel_id), str(kind)) for channel_id, kind in rows.all())

    @staticmethod
    async def _read(session: AsyncSession, guild_id: int) -> GroupTimings:
        config = await session.get(GuildConfig, guild_id)
        rota = await session.get(RotaSettings, guild_id)
        defaults = GroupTimings()
        return GroupTimings(
            late_start_grace_minutes=config.late_start_grace_minutes if config else defaults.late_start_grace_minutes,
            reminder_offsets=tuple(reminder_offsets(config)) if config else defaults.reminder_offsets,
            rota_confirm_hours=rota.confirm_hours_before if rota else defaults.rota_confirm_hours,
            rota_escalate_hours=rota.escalate_hours_before if rota else defaults.rota_escalate_hours,
        )


async def _redo_pending_reminders(
    session: AsyncSession, guild_id: int, offsets: tuple[int, ...], now: datetime
) -> None:
    """Give every meeting yet to start the new reminder times; reminders already sent stay as they were."""
    occurrences = (
        await session.scalars(
            select(MeetingOccurrence).where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                MeetingOccurrence.starts_at > now,
            )
        )
    ).all()
    if not occurrences:
        return
    reminders: defaultdict[int, list[MeetingReminder]] = defaultdict(list)
    for reminder in await session.scalars(
        select(MeetingReminder).where(MeetingReminder.occurrence_id.in_([row.id for row in occurrences]))
    ):
        reminders[reminder.occurrence_id].append(reminder)
    for row in occurrences:
        kept: set[int] = set()
        for reminder in reminders[row.id]:
            if reminder.sent_at is None and reminder.offset_minutes not in offsets:
                await session.delete(reminder)
            else:
                kept.add(reminder.offset_minutes)
        for offset in offsets:
            due = row.starts_at - timedelta(minutes=offset)
            if offset not in kept and due > now:
                session.add(MeetingReminder(guild_id=guild_id, occurrence_id=row.id, offset_minutes=offset, due_at=due))
