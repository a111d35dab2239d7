"""The anonymous "How was today?" feedback: the questions, and counters per meeting with one answer per member.

Who answered is kept only as a set of one-meeting tokens (a keyed fingerprint of server, member and meeting under a
key derived for this alone), and only until the meeting's feedback window closes; then the set is deleted and the
meeting keeps its counters alone. See docs/PRIVACY.md, "Feedback".

The referral question ("How did you first hear about SMART?") is asked only of members counted as new at the meeting:
their period pseudonym is in its tally (or marks) and has no mark at an earlier meeting of the group in the period. A
newcomer is asked at that first meeting only (from the next one they are returning), so the figures describe
newcomers, each once a period, and regulars are not counted again every week.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import insert_ignore, rowcount
from bot.db.models import MeetingOccurrence
from bot.db.models_participation import FeedbackGiven, ParticipationLive, ParticipationMark, ParticipationOccurrence
from bot.domain.attendance import AttendanceTracker
from bot.domain.states import OccurrenceState
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.services.participation.common import (
    FEEDBACK_WINDOW,
    ParticipationKeys,
    ensure_numbers_row,
    opt_out_modes,
    period_of,
)

ALREADY_ANSWERED = "You've already answered for this meeting. Thank you!"


@dataclass(frozen=True, slots=True)
class FeedbackQuestion:
    """One question: its key (part of the counter column names), the text shown, and its answers."""

    key: str
    label: str
    placeholder: str
    options: tuple[tuple[str, str], ...]


# Labels are at most 45 characters and option labels at most 100 (Discord's limits for modals and selects).
FEEDBACK_QUESTIONS: tuple[FeedbackQuestion, ...] = (
    FeedbackQuestion(
        "helpful",
        "How helpful was today's meeting?",
        "1 = not at all, 5 = very helpful",
        (
            ("1", "1 - not helpful"),
            ("2", "2"),
            ("3", "3"),
            ("4", "4"),
            ("5", "5 - very helpful"),
        ),
    ),
    FeedbackQuestion(
        "plan",
        "Did you set a plan for the week?",
        "Yes or no",
        (("yes", "Yes"), ("no", "No")),
    ),
    FeedbackQuestion(
        "heard",
        "How did you first hear about SMART?",
        "Asked once, at your first meeting here",
        (
            ("treatment", "Treatment service or alcohol/drug worker"),
            ("health", "GP or health service"),
            ("web", "Web search or social media"),
            ("friend", "Friend or family"),
            ("justice", "Justice or probation"),
            ("mutual_aid", "Another mutual-aid group"),
            ("other", "Other"),
        ),
    ),
    FeedbackQuestion(
        "again",
        "Will you come again?",
        "Yes, no or maybe",
        (("yes", "Yes"), ("no", "No"), ("maybe", "Maybe")),
    ),
)

QUESTION_KEYS = tuple(question.key for question in FEEDBACK_QUESTIONS)
# Asked of newcomers only (see the module's docstring).
REFERRAL_QUESTION = "heard"


@dataclass(frozen=True, slots=True)
class FeedbackForm:
    """The questions one member's form asks: the referral question only when they are new at this meeting."""

    questions: tuple[FeedbackQuestion, ...]

    @classmethod
    def for_member(cls, newcomer: bool) -> FeedbackForm:
        """Return the form for a newcomer (every question) or anyone else (all but the referral question)."""
        return cls(tuple(q for q in FEEDBACK_QUESTIONS if newcomer or q.key != REFERRAL_QUESTION))

    @property
    def asks_referral(self) -> bool:
        """Return whether the form asks how the member first heard about SMART."""
        return any(question.key == REFERRAL_QUESTION for question in self.questions)


def column_of(question: str, answer: str) -> str:
    """Return the counter column for one answer to one question."""
    return f"fb_{question}_{answer}"


def feedback_columns(answers: Mapping[str, str | None]) -> list[str]:
    """Return the counter columns one member's answers add to, refusing unknown questions or answers.

    Every question is optional: an unanswered one (None or "") adds nothing.
    """
    questions = {question.key: question for question in FEEDBACK_QUESTIONS}
    columns: list[str] = []
    for key, answer in answers.items():
        question = questions.get(key)
        if question is None:
            raise InvalidInputError("That feedback form is out of date; press the button again for a fresh one.")
        if not answer:
            continue
        if answer not in {value for value, _label in question.options}:
            raise InvalidInputError("That answer isn't one of the choices; press the button again for a fresh form.")
        columns.append(column_of(key, answer))
    return columns


class FeedbackService:
    """Anonymous feedback: counters per meeting, one answer per member, the who-answered set kept only briefly."""

    def __init__(self, database: Database, clock: Clock, keys: Callable[[], ParticipationKeys]) -> None:
        self._db = database
        self._clock = clock
        self._keys = keys

    async def check_open(self, guild_id: int, user_id: int, occurrence_id: int) -> FeedbackForm:
        """Return the form this member gets; raise a user-facing error unless they may answer it now."""
        token = self._keys().feedback_token(guild_id, user_id, occurrence_id)
        async with self._db.session() as session:
            row = await self._target(session, guild_id, occurrence_id)
            if await session.get(FeedbackGiven, (occurrence_id, token)) is not None:
                raise ConflictError(ALREADY_ANSWERED)
            return FeedbackForm.for_member(await self._is_newcomer(session, row, user_id))

    async def submit(self, guild_id: int, user_id: int, occurrence_id: int, answers: Mapping[str, str | None]) -> None:
        """Add one member's answers to the meeting's counters, once per member; who answered is never linked."""
        columns = feedback_columns(answers)
        if not columns:
            raise InvalidInputError("You didn't choose any answer, so nothing was recorded. You can try again.")
        token = self._keys().feedback_token(guild_id, user_id, occurrence_id)
        async with self._db.session() as session:
            row = await self._target(session, guild_id, occurrence_id)
            referral = [name for name in columns if name.startswith(column_of(REFERRAL_QUESTION, ""))]
            if referral and not await self._is_newcomer(session, row, user_id):
                # Only newcomers are asked: an answer from anyone else (an old or forged form) is not counted.
                columns = [name for name in columns if name not in referral]
                if not columns:
                    raise InvalidInputError("You didn't choose any answer, so nothing was recorded. You can try again.")
            live = await session.get(ParticipationLive, occurrence_id)
            period, day = await period_of(session, row)
            period = live.period if live is not None else period
            await ensure_numbers_row(session, self._db.is_sqlite, row, period, day, self._clock.now())
            given = {"occurrence_id": occurrence_id, "token": token}
            inserted = await session.execute(insert_ignore(self._db.is_sqlite, FeedbackGiven, given))
            if rowcount(inserted) != 1:
                raise ConflictError(ALREADY_ANSWERED)
            increments = {name: getattr(ParticipationOccurrence, name) + 1 for name in columns}
            increments["feedback_answers"] = ParticipationOccurrence.feedback_answers + 1
            await session.execute(
                update(ParticipationOccurrence)
                .where(ParticipationOccurrence.occurrence_id == occurrence_id)
                .values(increments)
            )

    async def _target(self, session: AsyncSession, guild_id: int, occurrence_id: int) -> MeetingOccurrence:
        row = await session.get(MeetingOccurrence, occurrence_id)
        if row is None or row.guild_id != guild_id:
            raise NotFoundError("This meeting no longer exists.")
        if row.state == OccurrenceState.RUNNING:
            return row
        if row.state != OccurrenceState.COMPLETED:
            raise ConflictError("This meeting didn't take place, so there is no feedback to give.")
        numbers = await session.get(ParticipationOccurrence, occurrence_id)
        until = numbers.feedback_until if numbers is not None and numbers.finalised_at else None
        if until is None:
            until = (row.actual_end or self._clock.now()) + FEEDBACK_WINDOW
        if self._clock.now() >= until:
            raise ConflictError("Feedback for this meeting has closed. Thank you all the same!")
        return row

    async def _is_newcomer(self, session: AsyncSession, row: MeetingOccurrence, user_id: int) -> bool:
        """Return whether the member is counted as new at this meeting (never when they opted out in any way)."""
        keys = self._keys()
        if await opt_out_modes(session, keys, row.guild_id, [user_id]):
            return False  # unlinked members are never new or returning; uncounted ones are not counted at all
        live = await session.get(ParticipationLive, row.id)
        if live is not None:
            period = live.period
            pseudonym = keys.attendance.pseudonym(row.guild_id, user_id, period)
            tracker = AttendanceTracker.from_json(live.state)
            if pseudonym not in tracker.counted(row.actual_end or self._clock.now()):
                return False
        else:
            numbers = await session.get(ParticipationOccurrence, row.id)
            if numbers is None or numbers.finalised_at is None:
                return False  # nobody has been counted at this meeting yet
            period = numbers.period
            pseudonym = keys.attendance.pseudonym(row.guild_id, user_id, period)
            here = await session.scalar(
                select(ParticipationMark.id).where(
                    ParticipationMark.occurrence_id == row.id, ParticipationMark.pseudonym == pseudonym
                )
            )
            if here is None:
                return False
        earlier = await session.scalar(
            select(ParticipationMark.id)
            .where(
                ParticipationMark.guild_id == row.guild_id,
                ParticipationMark.period == period,
                ParticipationMark.pseudonym == pseudonym,
                ParticipationMark.starts_at < row.starts_at,
            )
            .limit(1)
        )
        return earlier is None

    async def close(self) -> int:
        """Delete the who-answered sets of meetings whose feedback window has passed; return how many rows went."""
        now = self._clock.now()
        async with self._db.session() as session:
            closed = select(ParticipationOccurrence.occurrence_id).where(ParticipationOccurrence.feedback_until <= now)
            result = await session.execute(delete(FeedbackGiven).where(FeedbackGiven.occurrence_id.in_(closed)))
            return rowcount(result)

    async def next_close(self) -> datetime | None:
        """Return when the next feedback window closes, if one is open."""
        async with self._db.session() as session:
            return await session.scalar(
                select(func.min(ParticipationOccurrence.feedback_until)).where(
                    ParticipationOccurrence.feedback_until > self._clock.now()
                )
            )
