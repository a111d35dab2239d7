"""Mentoring: the office pairs a new group with an experienced one, until it ends the pairing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig
from bot.db.models_office import OfficePairing
from bot.errors import InvalidInputError
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pairing:
    """A new group and the experienced group mentoring it."""

    id: int
    new_guild_id: int
    new_group_name: str
    experienced_guild_id: int
    experienced_group_name: str
    started_at: datetime
    ended_at: datetime | None


def _pairing(row: OfficePairing) -> Pairing:
    return Pairing(
        row.id,
        row.new_guild_id,
        row.new_group_name,
        row.experienced_guild_id,
        row.experienced_group_name,
        row.started_at,
        row.ended_at,
    )


class PairingService:
    """Pair groups, introduce their coordinators, and list the pairings that run."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def pair(self, new_guild_id: int, new_name: str, experienced_guild_id: int, experienced_name: str) -> Pairing:
        """Pair two groups and introduce them to each other's coordinators (through their coordinators' channels)."""
        if new_guild_id == experienced_guild_id:
            raise InvalidInputError("Pick two different groups: a group cannot mentor itself.")
        now = self._clock.now()
        async with self._db.session() as session:
            existing = await session.scalar(
                select(OfficePairing.id).where(
                    OfficePairing.ended_at.is_(None),
                    OfficePairing.new_guild_id == new_guild_id,
                    OfficePairing.experienced_guild_id == experienced_guild_id,
                )
            )
            if existing is not None:
                raise InvalidInputError(f"{new_name} and {experienced_name} are already paired.")
            channels = dict(
                (
                    await session.execute(
                        select(GuildConfig.guild_id, GuildConfig.coordinators_channel_id).where(
                            GuildConfig.guild_id.in_([new_guild_id, experienced_guild_id])
                        )
                    )
                ).all()
            )
            missing = [
                name
                for guild, name in ((new_guild_id, new_name), (experienced_guild_id, experienced_name))
                if channels.get(guild) is None
            ]
            if missing:
                raise InvalidInputError(
                    f"{' and '.join(missing)} has no coordinators' channel set up (`/setup configure`), "
                    "so the introduction could not reach them."
                )
            row = OfficePairing(
                new_guild_id=new_guild_id,
                new_group_name=new_name[:100],
                experienced_guild_id=experienced_guild_id,
                experienced_group_name=experienced_name[:100],
                started_at=now,
            )
            session.add(row)
            await session.flush()
            to_new = (
                f"🤝 The central office has paired your group with **{experienced_name}**, a group that has been "
                "running meetings for a while, to share what they have learnt. Their coordinators know about you: "
                "ask them anything with `/network ask`, or meet them in the facilitators' network (`/network join`)."
            )
            to_experienced = (
                f"🤝 The central office has paired your group with **{new_name}**, a group just starting out, "
                "hoping you will share what you have learnt. Their questions come through the facilitators' "
                "network (`/network join`); thank you for helping a new group find its feet."
            )
            enqueue(session, now, new_guild_id, Message(to_new, channel_id=int(channels[new_guild_id] or 0)))
            enqueue(
                session,
                now,
                experienced_guild_id,
                Message(to_experienced, channel_id=int(channels[experienced_guild_id] or 0)),
            )
            pairing = _pairing(row)
        log.info("Paired group %s with group %s.", new_guild_id, experienced_guild_id)
        return pairing

    async def unpair(self, guild_id: int, other_guild_id: int | None = None) -> list[Pairing]:
        """End the running pairings of a group (with one other group, if given); return those ended."""
        now = self._clock.now()
        async with self._db.session() as session:
            query = select(OfficePairing).where(
                OfficePairing.ended_at.is_(None),
                or_(OfficePairing.new_guild_id == guild_id, OfficePairing.experienced_guild_id == guild_id),
            )
            rows = (await session.scalars(query)).all()
            ended = []
            for row in rows:
                if other_guild_id is not None and other_guild_id not in (row.new_guild_id, row.experienced_guild_id):
                    continue
                row.ended_at = now
                ended.append(_pairing(row))
        return ended

    async def active_pairs(self) -> list[Pairing]:
        """Return the pairings that run now, oldest first (for the office's overview and digest)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(OfficePairing).where(OfficePairing.ended_at.is_(None)).order_by(OfficePairing.id)
            )
            return [_pairing(row) for row in rows.all()]
