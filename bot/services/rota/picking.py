"""A facilitator's own coming duties as a pick list, named in the group's time zone, for `/rota swap`."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaAssignment
from bot.domain.picking import Pick, choose, make_pick, when_text, when_words
from bot.domain.states import DutyStatus, OccurrenceState
from bot.services.rota.rows import zone_of
from bot.services.rota.views import ROLE_WORDS


async def own_duty_picks(database: Database, clock: Clock, guild_id: int, user_id: int, typed: str) -> list[Pick]:
    """Return the duties `user_id` holds at meetings yet to start; each pick's value is the meeting's local date."""
    now = clock.now()
    query = (
        select(MeetingOccurrence.title, MeetingOccurrence.starts_at, RotaAssignment.role)
        .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
        .where(
            RotaAssignment.guild_id == guild_id,
            RotaAssignment.user_id == user_id,
            # What `RotaService.swap` can release: a duty still held, at a meeting still scheduled.
            RotaAssignment.status.in_((DutyStatus.PLANNED, DutyStatus.CONFIRMED)),
            MeetingOccurrence.state == OccurrenceState.SCHEDULED,
            MeetingOccurrence.starts_at > now,
        )
        .order_by(MeetingOccurrence.starts_at, RotaAssignment.role.desc())
    )
    async with database.session() as session:
        zone = zone_of(await session.get(GuildConfig, guild_id))
        rows = (await session.execute(query)).all()
    today = now.astimezone(zone).date()
    picks = (
        make_pick(
            # `/rota swap` takes the date (in the group's zone, as the service reads it), not an id.
            starts_at.astimezone(zone).date().isoformat(),
            title,
            [when_text(starts_at, zone, today), ROLE_WORDS.get(role, role)],
            when_words(starts_at, zone, today),
        )
        for title, starts_at, role in rows
    )
    return choose(picks, typed)
