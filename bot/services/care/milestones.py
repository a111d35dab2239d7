"""A group's milestones: counted when a meeting completes, dated ones found by the hourly check; each recorded once.

The unique (group, milestone) row is inserted with insert-or-ignore in the same transaction as the post's outbox
item, so two processes or a restart can never celebrate twice: only the insert that made the row posts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import insert_ignore, rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_care import CareSettings, GroupMilestone
from bot.db.models_rota import RotaMember, RotaMilestone
from bot.domain.care import (
    ANNIVERSARY,
    HELD_MILESTONES,
    LATE_CELEBRATION,
    UNBROKEN_YEAR,
    YEAR,
    held_key,
    milestone_post,
    milestone_summary,
)
from bot.domain.shards import ShardScope
from bot.domain.states import OccurrenceState
from bot.services.care.common import is_sqlite
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Message
from bot.services.scope import in_scope

log = logging.getLogger(__name__)

# A year without a missed meeting counts only for a group that met through it, not one that stopped meeting.
UNBROKEN_YEAR_MIN_HELD = 10


@dataclass(frozen=True, slots=True)
class ReachedMilestone:
    """A milestone a group reached: when, and whether its meetings channel was told."""

    guild_id: int
    key: str
    reached_at: datetime
    celebrated: bool

    @property
    def summary(self) -> str:
        """Return the milestone in a few words ("held its 10th meeting")."""
        return milestone_summary(self.key)


@dataclass(frozen=True, slots=True)
class FacilitatorMilestone:
    """A facilitator's thanked milestone: `user_id` only for those who did not opt out of being named."""

    guild_id: int
    user_id: int | None
    meetings: int


async def celebrations_on(session: AsyncSession, guild_id: int) -> bool:
    """Return whether the group celebrates its milestones in its meetings channel (on unless turned off)."""
    settings = await session.get(CareSettings, guild_id)
    return settings is None or settings.celebrate_milestones


async def record_milestone(
    session: AsyncSession, config: GuildConfig | None, guild_id: int, key: str, reached_at: datetime, now: datetime
) -> bool:
    """Record a milestone once and, if this call recorded it, celebrate it; return whether this call recorded it."""
    fresh = now - reached_at <= LATE_CELEBRATION
    channel_id = config.meetings_channel_id if config is not None else None
    celebrate = fresh and channel_id is not None and await celebrations_on(session, guild_id)
    values = {"guild_id": guild_id, "key": key, "reached_at": reached_at, "celebrated": celebrate}
    inserted = rowcount(await session.execute(insert_ignore(is_sqlite(session), GroupMilestone, values))) == 1
    if inserted and celebrate:
        assert channel_id is not None  # noqa: S101 - part of `celebrate`
        enqueue(session, now, guild_id, Message(milestone_post(key), channel_id=channel_id))
    if inserted:
        log.info("Guild %s reached milestone %s (celebrated: %s).", guild_id, key, celebrate)
    return inserted


async def on_meeting_completed(
    session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime
) -> None:
    """Record the meetings-held milestone this completed meeting reached, if it reached one."""
    held = await session.scalar(
        select(func.count())
        .select_from(MeetingOccurrence)
        .where(MeetingOccurrence.guild_id == row.guild_id, MeetingOccurrence.state == OccurrenceState.COMPLETED)
    )
    if int(held or 0) in HELD_MILESTONES:
        await record_milestone(session, config, row.guild_id, held_key(int(held or 0)), now, now)


class MilestoneService:
    """The dated milestones' check, the coordinators' switch, and the milestones for the office."""

    def __init__(self, database: Database, clock: Clock, scope: ShardScope | None = None) -> None:
        self._db = database
        self._clock = clock
        self.scope = scope

    async def check_dates(self) -> int:
        """Record (and celebrate) the anniversaries and unbroken years reached by now; return how many."""
        now = self._clock.now()
        found = 0
        async with self._db.session() as session:
            firsts = (
                await session.execute(
                    select(MeetingOccurrence.guild_id, func.min(MeetingOccurrence.starts_at))
                    .where(
                        MeetingOccurrence.state == OccurrenceState.COMPLETED,
                        in_scope(MeetingOccurrence.guild_id, self.scope),
                    )
                    .group_by(MeetingOccurrence.guild_id)
                )
            ).all()
            for guild_id, first in firsts:
                if first is None or now < first + YEAR:
                    continue
                recorded = set(
                    (await session.scalars(select(GroupMilestone.key).where(GroupMilestone.guild_id == guild_id))).all()
                )
                config = await session.get(GuildConfig, guild_id)
                if ANNIVERSARY not in recorded:
                    found += await record_milestone(session, config, guild_id, ANNIVERSARY, first + YEAR, now)
                if UNBROKEN_YEAR not in recorded:
                    since = await self._unbroken_since(session, guild_id, first, now)
                    if since is not None:
                        found += await record_milestone(session, config, guild_id, UNBROKEN_YEAR, since + YEAR, now)
        return found

    async def _unbroken_since(
        self, session: AsyncSession, guild_id: int, first: datetime, now: datetime
    ) -> datetime | None:
        """Return when the group's year without a missed meeting began, if it has had one that ended by now."""
        last_missed = await session.scalar(
            select(func.max(MeetingOccurrence.starts_at)).where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state == OccurrenceState.MISSED,
                MeetingOccurrence.starts_at >= first,
                MeetingOccurrence.starts_at <= now,
            )
        )
        since = max(first, last_missed) if last_missed is not None else first
        if now < since + YEAR:
            return None
        held = await session.scalar(
            select(func.count())
            .select_from(MeetingOccurrence)
            .where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state == OccurrenceState.COMPLETED,
                MeetingOccurrence.starts_at >= since,
                MeetingOccurrence.starts_at <= since + YEAR,
            )
        )
        return since if int(held or 0) >= UNBROKEN_YEAR_MIN_HELD else None

    async def set_celebrations(self, guild_id: int, enabled: bool) -> None:
        """Turn the group's milestone posts in its meetings channel on or off."""
        now = self._clock.now()
        async with self._db.session() as session:
            settings = await session.get(CareSettings, guild_id)
            if settings is None:
                session.add(CareSettings(guild_id=guild_id, celebrate_milestones=enabled, updated_at=now))
            else:
                settings.celebrate_milestones = enabled
                settings.updated_at = now
        log.info("Guild %s turned milestone celebrations %s.", guild_id, "on" if enabled else "off")

    async def celebrations_enabled(self, guild_id: int) -> bool:
        """Return whether the group's milestones are celebrated in its meetings channel."""
        async with self._db.session() as session:
            return await celebrations_on(session, guild_id)

    async def reached(
        self, guild_id: int | None = None, start: date | None = None, end: date | None = None
    ) -> list[ReachedMilestone]:
        """Return the milestones reached (by one group, or all), from `start` to `end` (UTC days) if given, in order."""
        query = select(GroupMilestone).order_by(GroupMilestone.reached_at, GroupMilestone.id)
        if guild_id is not None:
            query = query.where(GroupMilestone.guild_id == guild_id)
        if start is not None:
            query = query.where(GroupMilestone.reached_at >= _day_start(start))
        if end is not None:
            query = query.where(GroupMilestone.reached_at < _day_start(end + timedelta(days=1)))
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
        return [ReachedMilestone(row.guild_id, row.key, row.reached_at, row.celebrated) for row in rows]

    async def facilitator_milestones(self, start: date, end: date) -> list[FacilitatorMilestone]:
        """Return the facilitators' thanked milestones from `start` to `end`, naming only those who agreed to be."""
        found: list[FacilitatorMilestone] = []
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(RotaMilestone)
                    .where(
                        RotaMilestone.key.like("facilitator:%"),
                        RotaMilestone.celebrated_at >= _day_start(start),
                        RotaMilestone.celebrated_at < _day_start(end + timedelta(days=1)),
                    )
                    .order_by(RotaMilestone.celebrated_at, RotaMilestone.id)
                )
            ).all()
            for milestone in rows:
                _, user, count = milestone.key.split(":")
                member = await session.scalar(
                    select(RotaMember).where(RotaMember.guild_id == milestone.guild_id, RotaMember.user_id == int(user))
                )
                named = member is not None and member.named_in_thanks
                found.append(FacilitatorMilestone(milestone.guild_id, int(user) if named else None, int(count)))
        return found


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)
