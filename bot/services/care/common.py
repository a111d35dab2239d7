"""What the care services share: the dialect of a session, and a group's month."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import GuildConfig
from bot.services.rota.rows import zone_of


def is_sqlite(session: AsyncSession) -> bool:
    """Return whether the session talks to SQLite (for the insert-or-ignore each backend spells its own way)."""
    return session.get_bind().dialect.name == "sqlite"


def local_month(when: datetime, config: GuildConfig | None) -> str:
    """Return the month (YYYY-MM) of `when` in the group's time zone."""
    return when.astimezone(zone_of(config)).strftime("%Y-%m")


def month_start(when: datetime, config: GuildConfig | None) -> datetime:
    """Return the first instant of `when`'s month in the group's time zone."""
    local = when.astimezone(zone_of(config))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
