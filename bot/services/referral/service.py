"""Referral routes' use cases: create, list and retire routes, keep the monthly counts, and the newcomers' note.

Discord calls stay out of here: the cog makes a route's invite and hands its code in; delivery reads the invites'
use counts when `claim_due_reads` says so and hands the numbers back to `record_uses`. What is stored is the route's
name, its invite code and channel, and counts: never who joined.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import insert_ignore, rowcount
from bot.db.models import GuildConfig
from bot.db.models_referral import ReferralCount, ReferralRoute, ReferralSettings
from bot.domain.referral import (
    COUNT_INTERVAL,
    DEFAULT_WELCOME_TEXT,
    check_new_route,
    clean_welcome_text,
    joins_since,
    month_of,
)
from bot.domain.shards import ShardScope
from bot.errors import NotConfiguredError, NotFoundError
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import InviteDelete, WelcomeNote
from bot.services.referral.routes import RouteView, active_routes_in, route_by_name_in, view_of
from bot.services.scope import in_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteSummary:
    """A route with its counts, as `/referral list` shows it (exact: only the group's coordinators see it)."""

    route: RouteView
    this_month: int
    total: int


@dataclass(frozen=True)
class Listing:
    """A group's routes and what coordinators should know about counting them."""

    routes: list[RouteSummary]
    welcome_channel_id: int | None
    count_problem: str | None
    last_read: datetime | None


@dataclass(frozen=True)
class CountRead:
    """The invites delivery should read for one group: the channels to list, and the active routes' codes."""

    guild_id: int
    routes: tuple[RouteView, ...]

    @property
    def channel_ids(self) -> list[int]:
        """Return the channels whose invites are listed (one request each)."""
        return sorted({route.channel_id for route in self.routes})


@dataclass(frozen=True)
class WelcomeMessage:
    """Where the newcomers' note was posted, if it was."""

    channel_id: int | None
    message_id: int | None


class ReferralService:
    """A group's referral routes, their counts, and its "New here?" note."""

    def __init__(self, database: Database, clock: Clock, scope: ShardScope | None = None) -> None:
        self._db = database
        self._clock = clock
        self.scope = scope

    # --- routes ------------------------------------------------------------------------------------------

    async def active_routes(self, guild_id: int) -> list[RouteView]:
        """Return the group's active routes by name."""
        async with self._db.session() as session:
            return await active_routes_in(session, guild_id)

    async def route_by_name(self, guild_id: int, name: str) -> RouteView:
        """Return the group's active route called `name`; NotFoundError if none."""
        async with self._db.session() as session:
            return await route_by_name_in(session, guild_id, name)

    async def check_new_route(self, guild_id: int, name: str) -> str:
        """Return the cleaned name of a route about to be made; refuse a bad or taken name before any invite exists."""
        async with self._db.session() as session:
            return check_new_route(name, [route.name for route in await active_routes_in(session, guild_id)])

    async def welcome_channel(self, guild_id: int) -> int:
        """Return the channel new routes open on: the welcome channel if set, else the meetings channel."""
        async with self._db.session() as session:
            channel_id = await _welcome_channel(session, guild_id)
        if channel_id is None:
            raise NotConfiguredError(["welcome channel (`/referral welcome-channel`) or meetings channel"])
        return channel_id

    async def add_route(self, guild_id: int, name: str, code: str, channel_id: int) -> RouteView:
        """Store a route whose invite the cog has made; post the newcomers' note if the group has none yet."""
        now = self._clock.now()
        async with self._db.session() as session:
            # Checked again in the same transaction as the insert: another coordinator may have taken the name.
            cleaned = check_new_route(name, [route.name for route in await active_routes_in(session, guild_id)])
            row = ReferralRoute(
                guild_id=guild_id,
                name=cleaned,
                code=code,
                channel_id=channel_id,
                created_at=now,
                uses_seen=0,
                invite_missing=False,
            )
            session.add(row)
            settings = await _settings(session, self._db.is_sqlite, guild_id, now)
            if settings.counts_due_at is None:
                await session.execute(
                    update(ReferralSettings)
                    .where(ReferralSettings.guild_id == guild_id, ReferralSettings.counts_due_at.is_(None))
                    .values(counts_due_at=now + COUNT_INTERVAL)
                )
            await self._request_note(session, guild_id, now, first_only=True)
            await session.flush()
            view = view_of(row)
        log.info("Guild %s made referral route %s.", guild_id, view.id)
        return view

    async def retire(self, guild_id: int, name: str) -> RouteView:
        """Retire the active route called `name`: its invite is deleted (after a last count), its counts stay."""
        now = self._clock.now()
        async with self._db.session() as session:
            route = await route_by_name_in(session, guild_id, name)
            won = await session.execute(
                update(ReferralRoute)
                .where(ReferralRoute.id == route.id, ReferralRoute.retired_at.is_(None))
                .values(retired_at=now)
            )
            if rowcount(won) != 1:
                raise NotFoundError(f"The route “{route.name}” was retired a moment ago.")
            enqueue(session, now, guild_id, InviteDelete(route.id, route.channel_id, route.code))
        log.info("Guild %s retired referral route %s.", guild_id, route.id)
        return route

    async def listing(self, guild_id: int, *, include_retired: bool = False) -> Listing:
        """Return the group's routes with this month's and all-time joins, and any problem reading the counts."""
        month = month_of(self._clock.now())
        async with self._db.session() as session:
            query = select(ReferralRoute).where(ReferralRoute.guild_id == guild_id)
            if not include_retired:
                query = query.where(ReferralRoute.retired_at.is_(None))
            rows = (await session.scalars(query.order_by(func.lower(ReferralRoute.name), ReferralRoute.id))).all()
            ids = [row.id for row in rows]
            totals: dict[int, int] = {}
            current: dict[int, int] = {}
            if ids:
                counts = await session.execute(
                    select(ReferralCount.route_id, ReferralCount.month, ReferralCount.joins).where(
                        ReferralCount.route_id.in_(ids)
                    )
                )
                for route_id, count_month, joins in counts.all():
                    totals[route_id] = totals.get(route_id, 0) + joins
                    if count_month == month:
                        current[route_id] = joins
            settings = await session.get(ReferralSettings, guild_id)
            welcome = await _welcome_channel(session, guild_id)
        return Listing(
            [RouteSummary(view_of(row), current.get(row.id, 0), totals.get(row.id, 0)) for row in rows],
            welcome,
            settings.count_problem if settings else None,
            max((row.uses_read_at for row in rows if row.uses_read_at is not None), default=None),
        )

    # --- counting ----------------------------------------------------------------------------------------

    async def claim_due_reads(self, guild_id: int | None = None) -> list[CountRead]:
        """Claim the groups whose counts are due (or this one, now) and return what to read; due again in an hour."""
        now = self._clock.now()
        reads: list[CountRead] = []
        async with self._db.session() as session:
            query = select(ReferralSettings.guild_id, ReferralSettings.counts_due_at)
            if guild_id is None:
                query = query.where(
                    ReferralSettings.counts_due_at <= now, in_scope(ReferralSettings.guild_id, self.scope)
                )
            else:
                query = query.where(ReferralSettings.guild_id == guild_id)
            for gid, due_at in (await session.execute(query)).all():
                routes = await active_routes_in(session, gid)
                # Claimed with a conditional UPDATE on the due time seen: of several processes, one reads.
                column = ReferralSettings.counts_due_at
                seen = column.is_(None) if due_at is None else column == due_at
                won = await session.execute(
                    update(ReferralSettings)
                    .where(ReferralSettings.guild_id == gid, seen)
                    .values(counts_due_at=now + COUNT_INTERVAL if routes else None)
                )
                if rowcount(won) == 1 and routes:
                    reads.append(CountRead(gid, tuple(routes)))
        return reads

    async def next_due(self, session: AsyncSession | None = None) -> datetime | None:
        """Return when the next counts are due to be read (None when no group has a route)."""
        if session is None:
            async with self._db.session() as session:
                return await self.next_due(session)
        due = await session.scalar(
            select(func.min(ReferralSettings.counts_due_at)).where(in_scope(ReferralSettings.guild_id, self.scope))
        )
        return due if due is None else _aware(due)

    async def record_uses(self, guild_id: int, channel_id: int, uses: dict[str, int]) -> int:
        """Add what each route's invite in `channel_id` grew by to this month's count; return the joins added.

        `uses` is every invite of the channel by code, as Discord listed them: a route whose code is missing has lost
        its invite (deleted by hand, say) and is marked so. Only numbers arrive here, never who joined.
        """
        now = self._clock.now()
        month = month_of(now)
        added = 0
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(ReferralRoute).where(
                        ReferralRoute.guild_id == guild_id,
                        ReferralRoute.channel_id == channel_id,
                        ReferralRoute.invite_missing.is_(False),
                    )
                )
            ).all()
            for row in rows:
                if row.code not in uses:
                    if row.retired_at is None:
                        row.invite_missing = True
                        log.info("Guild %s: referral route %s's invite is gone from Discord.", guild_id, row.id)
                    continue
                joins = joins_since(row.uses_seen, uses[row.code])
                # Conditional on the count seen: two reads at once add the growth once.
                won = await session.execute(
                    update(ReferralRoute)
                    .where(ReferralRoute.id == row.id, ReferralRoute.uses_seen == row.uses_seen)
                    .values(uses_seen=max(row.uses_seen, uses[row.code]), uses_read_at=now)
                )
                if rowcount(won) != 1 or not joins:
                    continue
                await session.execute(
                    insert_ignore(self._db.is_sqlite, ReferralCount, {"route_id": row.id, "month": month, "joins": 0})
                )
                await session.execute(
                    update(ReferralCount)
                    .where(ReferralCount.route_id == row.id, ReferralCount.month == month)
                    .values(joins=ReferralCount.joins + joins)
                )
                added += joins
            await session.execute(
                update(ReferralSettings).where(ReferralSettings.guild_id == guild_id).values(count_problem=None)
            )
        return added

    async def record_problem(self, guild_id: int, problem: str) -> None:
        """Remember why the counts could not be read, for `/referral list` and `/setup check`."""
        async with self._db.session() as session:
            await session.execute(
                update(ReferralSettings)
                .where(ReferralSettings.guild_id == guild_id)
                .values(count_problem=problem[:300])
            )
        log.warning("Guild %s: reading referral counts failed: %s", guild_id, problem)

    # --- the newcomers' note -----------------------------------------------------------------------------

    async def set_welcome_channel(self, guild_id: int, channel_id: int) -> None:
        """Make `channel_id` the welcome channel: new routes open there and the note moves there."""
        now = self._clock.now()
        async with self._db.session() as session:
            settings = await _settings(session, self._db.is_sqlite, guild_id, now)
            settings.welcome_channel_id = channel_id
            settings.updated_at = now
            if settings.note_requested_at is not None:
                await self._request_note(session, guild_id, now, first_only=False)
        log.info("Guild %s chose a welcome channel.", guild_id)

    async def welcome_text(self, guild_id: int) -> str:
        """Return the note's text: the coordinators' own, or the default."""
        async with self._db.session() as session:
            settings = await session.get(ReferralSettings, guild_id)
        return settings.welcome_text if settings and settings.welcome_text else DEFAULT_WELCOME_TEXT

    async def set_welcome_text(self, guild_id: int, text: str | None) -> str:
        """Store the note's text (None: back to the default) and post or edit the pinned note; return the text."""
        cleaned = None if text is None else clean_welcome_text(text)
        now = self._clock.now()
        async with self._db.session() as session:
            if await _welcome_channel(session, guild_id) is None:
                raise NotConfiguredError(["welcome channel (`/referral welcome-channel`) or meetings channel"])
            settings = await _settings(session, self._db.is_sqlite, guild_id, now)
            settings.welcome_text = cleaned
            settings.updated_at = now
            await self._request_note(session, guild_id, now, first_only=False)
        log.info("Guild %s changed its newcomers' note.", guild_id)
        return cleaned or DEFAULT_WELCOME_TEXT

    async def welcome_message(self, guild_id: int) -> WelcomeMessage:
        """Return where the note is, for delivery to edit it in place."""
        async with self._db.session() as session:
            settings = await session.get(ReferralSettings, guild_id)
        if settings is None:
            return WelcomeMessage(None, None)
        return WelcomeMessage(settings.welcome_message_channel_id, settings.welcome_message_id)

    async def record_welcome_message(self, guild_id: int, channel_id: int, message_id: int) -> None:
        """Remember the posted note, so that later changes edit it."""
        async with self._db.session() as session:
            await session.execute(
                update(ReferralSettings)
                .where(ReferralSettings.guild_id == guild_id)
                .values(welcome_message_channel_id=channel_id, welcome_message_id=message_id)
            )

    async def _request_note(self, session: AsyncSession, guild_id: int, now: datetime, *, first_only: bool) -> None:
        """Queue the note's post (or edit); with `first_only`, only if it was never asked for."""
        channel_id = await _welcome_channel(session, guild_id)
        if channel_id is None:
            return
        claim = update(ReferralSettings).where(ReferralSettings.guild_id == guild_id)
        if first_only:
            claim = claim.where(ReferralSettings.note_requested_at.is_(None))
        if rowcount(await session.execute(claim.values(note_requested_at=now))) != 1:
            return
        settings = await session.get(ReferralSettings, guild_id)
        text = settings.welcome_text if settings and settings.welcome_text else DEFAULT_WELCOME_TEXT
        enqueue(session, now, guild_id, WelcomeNote(channel_id, text))


async def _settings(session: AsyncSession, is_sqlite: bool, guild_id: int, now: datetime) -> ReferralSettings:
    """Return the group's referral settings row, made if missing (two first uses at once make one)."""
    await session.execute(insert_ignore(is_sqlite, ReferralSettings, {"guild_id": guild_id, "updated_at": now}))
    settings = await session.get(ReferralSettings, guild_id, populate_existing=True)
    assert settings is not None  # noqa: S101 - inserted above
    return settings


async def _welcome_channel(session: AsyncSession, guild_id: int) -> int | None:
    settings = await session.get(ReferralSettings, guild_id)
    if settings is not None and settings.welcome_channel_id:
        return settings.welcome_channel_id
    config = await session.get(GuildConfig, guild_id)
    return config.meetings_channel_id if config else None


def _aware(moment: datetime) -> datetime:
    # `min()` over a UTCDateTime column may come back without the type's conversion on SQLite.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
