"""A kind word to the coordinators when one facilitator runs more than their share of the group's meetings.

Checked when a meeting completes, for the facilitator who ran it. At most once per facilitator in LOAD_QUIET: the
last suggestion's time is kept per facilitator and moved on with a conditional UPDATE, so a restart or a second
process never repeats it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import insert_ignore, rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_care import LoadSuggestion
from bot.db.models_rota import RotaMember
from bot.domain.care import LOAD_QUIET, LOAD_WINDOW, LoadFacts, is_overloaded, load_suggestion
from bot.domain.discord_ids import mention_user
from bot.domain.states import OccurrenceState
from bot.services.care.common import is_sqlite, month_start
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Message

log = logging.getLogger(__name__)


async def load_facts(
    session: AsyncSession, guild_id: int, facilitator_id: int, config: GuildConfig | None, now: datetime
) -> LoadFacts:
    """Return who ran the group's meetings held in the last eight weeks, and this facilitator's month."""
    held = (MeetingOccurrence.guild_id == guild_id) & (MeetingOccurrence.state == OccurrenceState.COMPLETED)
    runners = (
        await session.execute(
            select(MeetingOccurrence.facilitator_id).where(
                held, MeetingOccurrence.starts_at >= now - LOAD_WINDOW, MeetingOccurrence.starts_at <= now
            )
        )
    ).scalars()
    month_runs = await session.scalar(
        select(func.count())
        .select_from(MeetingOccurrence)
        .where(
            held,
            MeetingOccurrence.facilitator_id == facilitator_id,
            MeetingOccurrence.starts_at >= month_start(now, config),
            MeetingOccurrence.starts_at <= now,
        )
    )
    maximum = await session.scalar(
        select(RotaMember.max_per_month).where(
            RotaMember.guild_id == guild_id, RotaMember.user_id == facilitator_id, RotaMember.active.is_(True)
        )
    )
    return LoadFacts(tuple(runners.all()), int(month_runs or 0), maximum)


async def suggest_if_overloaded(
    session: AsyncSession, guild_id: int, facilitator_id: int, config: GuildConfig | None, now: datetime
) -> bool:
    """Suggest to the coordinators that duties be spread, if this facilitator carries too much; return if it did."""
    if config is None or not config.coordinators_channel_id:
        return False
    if not is_overloaded(facilitator_id, await load_facts(session, guild_id, facilitator_id, config, now)):
        return False
    values = {"guild_id": guild_id, "user_id": facilitator_id, "sent_at": now}
    won = rowcount(await session.execute(insert_ignore(is_sqlite(session), LoadSuggestion, values))) == 1
    if not won:
        moved = await session.execute(
            update(LoadSuggestion)
            .where(
                LoadSuggestion.guild_id == guild_id,
                LoadSuggestion.user_id == facilitator_id,
                LoadSuggestion.sent_at <= now - LOAD_QUIET,
            )
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
        won = rowcount(moved) == 1
    if won:
        channel = config.coordinators_channel_id
        enqueue(session, now, guild_id, Message(load_suggestion(mention_user(facilitator_id)), channel_id=channel))
        log.info("Suggested to guild %s's coordinators that duties be spread more evenly.", guild_id)
    return won


class LoadService:
    """The load check on demand, and forgetting old suggestions."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def check(self, guild_id: int, facilitator_id: int) -> bool:
        """Check one facilitator's load now and make the suggestion if it is due; return whether it was made."""
        async with self._db.session() as session:
            config = await session.get(GuildConfig, guild_id)
            return await suggest_if_overloaded(session, guild_id, facilitator_id, config, self._clock.now())

    async def forget_old(self) -> int:
        """Delete suggestions older than the quiet period: whom they were about is not needed after it."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(LoadSuggestion).where(LoadSuggestion.sent_at <= self._clock.now() - LOAD_QUIET)
            )
            return rowcount(result)
