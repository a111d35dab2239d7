"""The facilitators' network: one channel and role in the office's server, and groups' questions to it.

Only group-level facts cross groups: a question is posted under its group's name, a reply names the replying group
(and the replier only if they typed a name to sign with). Nothing from meetings is ever relayed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig
from bot.db.models_office import OfficeNetwork, OfficeNetworkQuestion
from bot.db.models_rota import RotaMember
from bot.errors import InvalidInputError
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Button, Message, NetworkAnswer, NetworkQuestion

log = logging.getLogger(__name__)

QUESTION_MAX = 1500
REPLY_MAX = 1500
QUOTE_MAX = 200
REPLY_BUTTON_ID = "network:reply:{question_id}"
# How long a /network join invite works: long enough to click it, short enough that a forwarded one is soon dead.
INVITE_MAX_AGE_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """The network's channel and the role an invite gives on arrival."""

    channel_id: int
    role_id: int


@dataclass(frozen=True, slots=True)
class Question:
    """A question a group asked the network."""

    id: int
    guild_id: int
    group_name: str
    question: str
    channel_id: int
    message_id: int | None


def reply_button_id(question_id: int) -> str:
    """Return the custom_id of a question's Reply button."""
    return REPLY_BUTTON_ID.format(question_id=question_id)


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_MAX else flat[: QUOTE_MAX - 1] + "…"


class NetworkService:
    """Set up the network, tell who may use it, and carry questions and replies between groups."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def config(self) -> NetworkConfig | None:
        """Return the network's channel and role, or None when it is not set up."""
        async with self._db.session() as session:
            row = await session.scalar(select(OfficeNetwork).limit(1))
            return None if row is None else NetworkConfig(row.channel_id, row.role_id)

    async def configure(self, channel_id: int, role_id: int) -> NetworkConfig:
        """Make `channel_id` the network channel and `role_id` the role its members get."""
        async with self._db.session() as session:
            await session.execute(delete(OfficeNetwork))
            session.add(OfficeNetwork(channel_id=channel_id, role_id=role_id, updated_at=self._clock.now()))
        return NetworkConfig(channel_id, role_id)

    async def on_rota(self, guild_id: int, user_id: int) -> bool:
        """Return whether someone is an active facilitator on this group's rota."""
        async with self._db.session() as session:
            found = await session.scalar(
                select(RotaMember.id).where(
                    RotaMember.guild_id == guild_id, RotaMember.user_id == user_id, RotaMember.active.is_(True)
                )
            )
            return found is not None

    async def rota_groups(self, user_id: int) -> list[int]:
        """Return the groups on whose rota someone is active (to name the group a reply comes from)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(RotaMember.guild_id)
                .where(RotaMember.user_id == user_id, RotaMember.active.is_(True))
                .order_by(RotaMember.id)
            )
            return [int(guild) for guild in rows.all()]

    async def ask(self, office_guild_id: int, guild_id: int, group_name: str, question: str) -> int:
        """Post a group's question to the network channel under its name; return the question's id."""
        question = question.strip()
        if not question:
            raise InvalidInputError("The question is empty: write what you would like to ask.")
        if len(question) > QUESTION_MAX:
            raise InvalidInputError(f"The question is {len(question)} characters; at most {QUESTION_MAX} fit.")
        config = await self.config()
        if config is None:
            raise InvalidInputError("The facilitators' network is not set up yet: the central office sets it up.")
        now = self._clock.now()
        async with self._db.session() as session:
            row = OfficeNetworkQuestion(
                guild_id=guild_id,
                group_name=group_name[:100],
                question=question,
                channel_id=config.channel_id,
                replies=0,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            content = f"**{group_name}** asks: {question}"
            buttons = (Button("Reply", reply_button_id(row.id), "primary"),)
            enqueue(session, now, office_guild_id, NetworkQuestion(row.id, config.channel_id, content, buttons))
            question_id = row.id
        log.info("Group %s asked the network question %s.", guild_id, question_id)
        return question_id

    async def question(self, question_id: int) -> Question | None:
        """Return a question, or None."""
        async with self._db.session() as session:
            row = await session.get(OfficeNetworkQuestion, question_id)
            if row is None:
                return None
            return Question(row.id, row.guild_id, row.group_name, row.question, row.channel_id, row.message_id)

    async def record_question_message(self, question_id: int, message_id: int) -> None:
        """Remember a question's post in the network channel."""
        async with self._db.session() as session:
            await session.execute(
                update(OfficeNetworkQuestion)
                .where(OfficeNetworkQuestion.id == question_id)
                .values(message_id=message_id)
            )

    async def reply(
        self, office_guild_id: int, question_id: int, from_group: str, text: str, signed: str | None = None
    ) -> bool:
        """Relay a reply to the asking group's facilitators' channel and show it under the question.

        Return whether it reached the asking group (False: that group has no facilitators' channel set up).
        """
        text = text.strip()
        if not text:
            raise InvalidInputError("The reply is empty: write your answer.")
        if len(text) > REPLY_MAX:
            raise InvalidInputError(f"The reply is {len(text)} characters; at most {REPLY_MAX} fit.")
        signature = f"{from_group} ({signed.strip()[:80]})" if signed and signed.strip() else from_group
        now = self._clock.now()
        async with self._db.session() as session:
            question = await session.get(OfficeNetworkQuestion, question_id)
            if question is None:
                raise InvalidInputError("That question is no longer in the network.")
            channel_id = await session.scalar(
                select(GuildConfig.facilitators_channel_id).where(GuildConfig.guild_id == question.guild_id)
            )
            question.replies += 1
            if channel_id is not None:
                relayed = (
                    f"💬 **{signature}** replied in the facilitators' network to your question "
                    f"“{_quote(question.question)}”:\n{text}"
                )
                enqueue(session, now, question.guild_id, Message(relayed, channel_id=int(channel_id)))
            enqueue(session, now, office_guild_id, NetworkAnswer(question_id, f"**{signature}** replied:\n{text}"))
        return channel_id is not None
