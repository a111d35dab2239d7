"""What the rota tells people about the work done: a facilitator's duties as a calendar, and duty counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select

from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaAssignment
from bot.domain.ics import IcsEvent, build_calendar
from bot.domain.recurrence import ScheduleRule
from bot.domain.states import OccurrenceState
from bot.services.rota.rows import zone_of
from bot.services.rota.service import RotaService
from bot.services.rota.views import ROLE_WORDS


class RotaReports:
    """Read-only views of the rota."""

    def __init__(self, rota: RotaService) -> None:
        self._rota = rota

    async def calendar(self, guild_id: int, user_id: int) -> bytes:
        """Return one facilitator's upcoming duties as an iCalendar file."""
        duties = await self._rota.mine(guild_id, user_id)
        async with self._rota._db.session() as session:
            zone = zone_of(await session.get(GuildConfig, guild_id))
            events = []
            for duty in duties:
                occurrence = await session.get(MeetingOccurrence, duty.occurrence_id)
                assert occurrence is not None  # noqa: S101 - foreign key
                local = duty.starts_at.astimezone(zone).replace(tzinfo=None)
                events.append(
                    IcsEvent(
                        uid=f"duty-{duty.assignment_id}-guild-{guild_id}@smart-meetings-bot",
                        summary=f"{duty.title} ({ROLE_WORDS[duty.role]})",
                        description="Your facilitator duty. Use /rota swap if you can't make it.",
                        rule=ScheduleRule(None, zone.key, local),
                        duration=occurrence.ends_at - occurrence.starts_at,
                    )
                )
        return build_calendar("My facilitator duties", events, generated_at=self._rota._clock.now())

    async def stats(self, guild_id: int) -> list[tuple[int, int, int]]:
        """Return (user id, duties this month, duties this year) for held meetings, most first."""
        now = self._rota._clock.now()
        async with self._rota._db.session() as session:
            zone = zone_of(await session.get(GuildConfig, guild_id))
            local = now.astimezone(zone)
            month_start = datetime(local.year, local.month, 1, tzinfo=zone).astimezone(UTC)
            year_start = datetime(local.year, 1, 1, tzinfo=zone).astimezone(UTC)
            rows = (
                await session.execute(
                    select(RotaAssignment.user_id, MeetingOccurrence.starts_at)
                    .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                    .where(
                        RotaAssignment.guild_id == guild_id,
                        RotaAssignment.user_id.is_not(None),
                        MeetingOccurrence.state == OccurrenceState.COMPLETED,
                        MeetingOccurrence.starts_at >= year_start,
                    )
                )
            ).all()
        totals: dict[int, list[int]] = {}
        for user_id, starts_at in rows:
            counts = totals.setdefault(cast(int, user_id), [0, 0])
            counts[1] += 1
            if starts_at >= month_start:
                counts[0] += 1
        return sorted(((u, m, y) for u, (m, y) in totals.items()), key=lambda row: (-row[2], row[0]))
