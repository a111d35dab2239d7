"""Row-level helpers shared by the rota's services: its settings row, a duty's own changes, and how duties are read."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.helpers import insert_ignore, rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaAssignment, RotaSettings
from bot.domain.states import DutyStatus
from bot.services.rota.views import Duty


def zone_of(config: GuildConfig | None) -> ZoneInfo:
    """Return the group's time zone (UTC until it is set)."""
    return ZoneInfo(config.timezone) if config and config.timezone else ZoneInfo("UTC")


async def ensure_settings(session: AsyncSession, is_sqlite: bool, guild_id: int) -> RotaSettings:
    """Return the group's rota settings row, creating it with the defaults if there is none yet."""
    settings = await session.get(RotaSettings, guild_id)
    if settings is not None:
        return settings
    # Not session.add: two transactions making the row at once (two processes, or /rota generate while the weekly
    # post runs) would both insert it and one would die on the primary key. ON CONFLICT waits for the other's
    # commit and does nothing, and the read back then sees its row.
    defaults = {"guild_id": guild_id, "confirm_hours_before": 72, "escalate_hours_before": 24, "max_consecutive": 2}
    await session.execute(insert_ignore(is_sqlite, RotaSettings, defaults))
    return (await session.scalars(select(RotaSettings).where(RotaSettings.guild_id == guild_id))).one()


async def update_own_duty(
    session: AsyncSession, guild_id: int, assignment_id: int, user_id: int, values: dict[str, object]
) -> bool:
    """Change a duty only if it is still the caller's and not yet given up; return whether it was."""
    result = await session.execute(
        update(RotaAssignment)
        .where(
            RotaAssignment.id == assignment_id,
            RotaAssignment.guild_id == guild_id,
            RotaAssignment.user_id == user_id,
            RotaAssignment.status.in_((DutyStatus.PLANNED, DutyStatus.CONFIRMED)),
        )
        .values(**values)
    )
    won: bool = rowcount(result) == 1
    return won


def duty_of(row: RotaAssignment, occurrence: MeetingOccurrence) -> Duty:
    """Return what the cogs show of one duty."""
    return Duty(
        row.id, occurrence.id, occurrence.title, occurrence.starts_at, row.role, row.user_id, DutyStatus(row.status)
    )
