"""After each meeting, "How was that for you?" to the facilitator who ran it, privately; the answers only counted.

The debrief row holds the facilitator's id until they answer (one answer, a conditional UPDATE that also forgets
the id) or DEBRIEF_KEPT passes, as an alert forgets its ids. What remains is the group, the month and the answer:
the office reads how many were tough per group and month, protected like every count, never who.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_care import FacilitatorDebrief
from bot.domain.care import DEBRIEF_ANSWERS, DEBRIEF_KEPT, DEBRIEF_LABELS, debrief_question, debrief_reply, talk_request
from bot.domain.disclosure import DisclosurePolicy, SUPPRESSED, protect_count, protect_total
from bot.domain.discord_ids import DebriefAnswer, debrief_id, mention_user
from bot.domain.shards import ShardScope
from bot.errors import InvalidInputError
from bot.services.care.common import local_month
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Button, DirectMessage, Message
from bot.services.scope import in_scope

log = logging.getLogger(__name__)

BUTTON_STYLES = {"fine": "success", "tough": "secondary", "talk": "primary"}


def debrief_buttons(debrief: int) -> tuple[Button, ...]:
    """Return the three answer buttons of a debrief."""
    return tuple(
        Button(DEBRIEF_LABELS[answer], debrief_id(debrief, answer), BUTTON_STYLES[answer])  # type: ignore[arg-type]
        for answer in DEBRIEF_ANSWERS
    )


async def ask_facilitator(
    session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime
) -> int | None:
    """Ask the facilitator who ran a completed meeting how it was, by DM; return the debrief's id."""
    if row.facilitator_id is None:
        return None
    debrief = FacilitatorDebrief(
        guild_id=row.guild_id,
        month=local_month(row.starts_at, config),
        answer=None,
        facilitator_id=row.facilitator_id,
        forget_at=now + DEBRIEF_KEPT,
    )
    session.add(debrief)
    await session.flush()
    # No fallback channel: the question is private, and a facilitator with closed DMs is simply not asked.
    enqueue(
        session,
        now,
        row.guild_id,
        DirectMessage(
            user_id=row.facilitator_id, content=debrief_question(row.title), buttons=debrief_buttons(debrief.id)
        ),
    )
    return debrief.id


@dataclass(frozen=True, slots=True)
class DebriefOutcome:
    """What a facilitator's answer did: the words they read back."""

    answer: DebriefAnswer
    reply: str


@dataclass(frozen=True, slots=True)
class DebriefFigure:
    """One group's month of debriefs as the office sees it: counts only, small ones suppressed (None)."""

    guild_id: int
    month: str
    asked: int | None
    answered: int | None
    tough: int | None


@dataclass(frozen=True, slots=True)
class DebriefFigures:
    """Debrief counts per group and month, and the all-groups totals (rounded; None for 1 to threshold-1)."""

    rows: tuple[DebriefFigure, ...]
    asked: int | None
    answered: int | None
    tough: int | None
    policy: DisclosurePolicy

    def total(self, value: int | None) -> str:
        """Return an all-groups total as shown: "fewer than 8" when small but not 0, as the report does."""
        return f"fewer than {self.policy.threshold}" if value is None else str(value)


class DebriefService:
    """Answers to debriefs, forgetting facilitators' ids in time, and the office's counts."""

    def __init__(self, database: Database, clock: Clock, scope: ShardScope | None = None) -> None:
        self._db = database
        self._clock = clock
        self.scope = scope

    async def answer(self, debrief: int, user_id: int, answer: DebriefAnswer) -> DebriefOutcome:
        """Record the facilitator's one answer; "I'd like to talk" tells the coordinators privately, naming them."""
        if answer not in DEBRIEF_ANSWERS:
            raise InvalidInputError("That answer is not one of the choices.")
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(FacilitatorDebrief, debrief)
            if row is None:
                raise InvalidInputError("That question no longer exists.")
            if row.answer is not None:
                raise InvalidInputError("You have already answered this one. Thank you.")
            if row.facilitator_id != user_id:
                raise InvalidInputError("This question has expired; thank you all the same.")
            won = await session.execute(
                update(FacilitatorDebrief)
                .where(
                    FacilitatorDebrief.id == debrief,
                    FacilitatorDebrief.answer.is_(None),
                    FacilitatorDebrief.facilitator_id == user_id,
                )
                .values(answer=answer, facilitator_id=None, forget_at=None)
                .execution_options(synchronize_session=False)
            )
            if rowcount(won) != 1:
                raise InvalidInputError("You have already answered this one. Thank you.")
            reply = debrief_reply(answer)
            if answer == "talk":
                config = await session.get(GuildConfig, row.guild_id)
                if config is not None and config.coordinators_channel_id:
                    note = Message(talk_request(mention_user(user_id)), channel_id=config.coordinators_channel_id)
                    enqueue(session, now, row.guild_id, note)
                else:
                    log.warning("A facilitator asked to talk, but guild %s has no coordinators' channel.", row.guild_id)
                    reply = (
                        "Thank you for asking. This group has no coordinators' channel set up, so I couldn't pass it "
                        "on: please message one of your coordinators directly; they will want to hear from you."
                    )
        # The answer is not logged: a log line beside the meeting's could tell who found it tough.
        log.info("A debrief in guild %s was answered.", row.guild_id)
        return DebriefOutcome(answer, reply)

    async def tick(self) -> int:
        """Forget the facilitators' ids of debriefs nobody answered in time; return how many."""
        now = self._clock.now()
        async with self._db.session() as session:
            result = await session.execute(
                update(FacilitatorDebrief)
                .where(FacilitatorDebrief.forget_at <= now, in_scope(FacilitatorDebrief.guild_id, self.scope))
                .values(facilitator_id=None, forget_at=None)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)

    async def next_due(self, session: AsyncSession | None = None) -> datetime | None:
        """Return when the next unanswered debrief's facilitator id is due to be forgotten."""
        if session is None:
            async with self._db.session() as session:
                return await self.next_due(session)
        return await session.scalar(
            select(func.min(FacilitatorDebrief.forget_at)).where(in_scope(FacilitatorDebrief.guild_id, self.scope))
        )

    async def figures(self, first_month: str, last_month: str, policy: DisclosurePolicy) -> DebriefFigures:
        """Return debriefs asked, answered and tough per group and month (YYYY-MM, inclusive), protected by `policy`."""
        answered = func.sum(case((FacilitatorDebrief.answer.is_not(None), 1), else_=0))
        tough = func.sum(case((FacilitatorDebrief.answer == "tough", 1), else_=0))
        query = (
            select(FacilitatorDebrief.guild_id, FacilitatorDebrief.month, func.count(), answered, tough)
            .where(FacilitatorDebrief.month >= first_month, FacilitatorDebrief.month <= last_month)
            .group_by(FacilitatorDebrief.guild_id, FacilitatorDebrief.month)
            .order_by(FacilitatorDebrief.guild_id, FacilitatorDebrief.month)
        )
        async with self._db.session() as session:
            found = (await session.execute(query)).all()
        rows = tuple(
            DebriefFigure(
                int(guild_id),
                str(month),
                protect_count(int(asked), policy),
                protect_count(int(done or 0), policy),
                protect_count(int(hard or 0), policy),
            )
            for guild_id, month, asked, done, hard in found
        )
        totals = [_total(sum(int(row[column] or 0) for row in found), policy) for column in (2, 3, 4)]
        return DebriefFigures(rows, totals[0], totals[1], totals[2], policy)


def _total(value: int, policy: DisclosurePolicy) -> int | None:
    """Return an all-groups total as published: never suppressed, but a small one only as "fewer than"."""
    if not policy.exact and 0 < value < policy.threshold:
        return None
    return protect_total(value, policy)


def _shown(value: int | None) -> str:
    return SUPPRESSED if value is None else str(value)


def figures_line(figures: DebriefFigures) -> str:
    """Return the one line the office's report message gives the debriefs (all-groups totals, rounded)."""
    return (
        f"Facilitator debriefs: {figures.total(figures.asked)} asked, {figures.total(figures.answered)} answered, "
        f"{figures.total(figures.tough)} tough "
        "(counts only: nobody's answer is linked to them)."
    )


def figures_markdown(figures: DebriefFigures, names: Mapping[int, str]) -> str:
    """Return the debriefs' section of the report's summary.md: per group and month, small counts suppressed."""
    lines = [
        "## Facilitator debriefs",
        "",
        (
            "After each meeting the facilitator who ran it is asked privately how it was. Only counts are kept; "
            f"counts from 1 to 7 show as {SUPPRESSED}, others are rounded to 5."
        ),
        "",
        "| Group | Month | Asked | Answered | Tough |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in figures.rows:
        name = names.get(row.guild_id, f"Group {row.guild_id}").replace("|", "/")
        lines.append(f"| {name} | {row.month} | {_shown(row.asked)} | {_shown(row.answered)} | {_shown(row.tough)} |")
    totals = " | ".join(figures.total(value) for value in (figures.asked, figures.answered, figures.tough))
    lines.append(f"| All groups | | {totals} |")
    return "\n".join(lines) + "\n"
