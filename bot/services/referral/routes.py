"""Read a group's referral routes: the name and invite link of each, for whoever prints or lists them.

The poster, the public listing and the cogs call these; nothing here changes a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import Database
from bot.db.models_referral import ReferralRoute
from bot.errors import NotFoundError

INVITE_BASE = "https://discord.gg/"


@dataclass(frozen=True)
class RouteView:
    """One route as people see it: its name, its invite link, the channel it opens on, and when it was made."""

    id: int
    name: str
    code: str
    channel_id: int
    created_at: datetime
    retired_at: datetime | None = None
    invite_missing: bool = False

    @property
    def url(self) -> str:
        """Return the invite link people follow (`https://discord.gg/CODE`)."""
        return invite_url(self.code)

    @property
    def active(self) -> bool:
        """Return whether the route still has its invite (not retired)."""
        return self.retired_at is None


def invite_url(code: str) -> str:
    """Return the link of an invite code."""
    return f"{INVITE_BASE}{code}"


def view_of(row: ReferralRoute) -> RouteView:
    """Return the view of a stored route."""
    return RouteView(
        id=row.id,
        name=row.name,
        code=row.code,
        channel_id=row.channel_id,
        created_at=row.created_at,
        retired_at=row.retired_at,
        invite_missing=row.invite_missing,
    )


async def active_routes_in(session: AsyncSession, guild_id: int) -> list[RouteView]:
    """Return the group's active routes by name, within an open session."""
    rows = await session.scalars(
        select(ReferralRoute)
        .where(ReferralRoute.guild_id == guild_id, ReferralRoute.retired_at.is_(None))
        .order_by(func.lower(ReferralRoute.name), ReferralRoute.id)
    )
    return [view_of(row) for row in rows]


async def route_by_name_in(session: AsyncSession, guild_id: int, name: str) -> RouteView:
    """Return the group's active route called `name` (any case), within an open session; NotFoundError if none."""
    row = await session.scalar(
        select(ReferralRoute).where(
            ReferralRoute.guild_id == guild_id,
            ReferralRoute.retired_at.is_(None),
            func.lower(ReferralRoute.name) == name.strip().lower(),
        )
    )
    if row is None:
        raise NotFoundError(f"This group has no referral route called “{name.strip()}”. `/referral list` shows them.")
    return view_of(row)


async def active_routes(database: Database, guild_id: int) -> list[RouteView]:
    """Return the group's active routes (not retired), by name."""
    async with database.session() as session:
        return await active_routes_in(session, guild_id)


async def route_by_name(database: Database, guild_id: int, name: str) -> RouteView:
    """Return the group's active route called `name` (any case); NotFoundError, with a user-safe message, if none."""
    async with database.session() as session:
        return await route_by_name_in(session, guild_id, name)
