"""Edit, save and read a meeting's live tally, and write its final numbers and attendance marks."""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.helpers import rowcount
from bot.db.models import MeetingOccurrence
from bot.db.models_participation import ParticipationLive, ParticipationMark, ParticipationOccurrence
from bot.domain import attendance
from bot.domain.attendance import AttendanceTracker
from bot.domain.pseudonyms import is_meeting_token
from bot.domain.states import OccurrenceState
from bot.services.participation.common import FEEDBACK_WINDOW, RetryError

__all__ = [
    "FinalTally",
    "add_marks",
    "claim_finalisation",
    "delete_live",
    "final_tally",
    "forget_in_state",
    "marked_before",
    "outcome_of",
    "record_numbers",
    "rekey_state",
    "save_live",
    "utc_midnight",
]


async def save_live(session: AsyncSession, live: ParticipationLive, state: str, now: datetime) -> None:
    """Save a changed tally as a conditional UPDATE on its version, or raise RetryError when it changed since."""
    result = await session.execute(
        update(ParticipationLive)
        .where(ParticipationLive.occurrence_id == live.occurrence_id, ParticipationLive.version == live.version)
        .values(state=state, version=live.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise RetryError
    # Keep the loaded object in step (without marking it dirty), so a second change in the same transaction
    # conditions on the new version.
    set_committed_value(live, "state", state)
    set_committed_value(live, "version", live.version + 1)


def utc_midnight(day: date) -> datetime:
    """Return the start of `day` in UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def rekey_state(state: str, old: str, new: str) -> str:
    """Return a saved tally with one member's key replaced (on opt-out or opt-in during a meeting)."""
    data = json.loads(state)
    if data.get("version") != attendance.STATE_VERSION:
        raise ValueError("not a saved attendance state of the current version")
    for field in ("posted", "checked_in"):
        firsts = data[field]
        if old in firsts:
            at = firsts.pop(old)
            # ISO timestamps in UTC compare as text: keep the earliest, as the tracker would.
            firsts[new] = min(at, firsts.get(new, at))
    voice = data["voice"]
    if old in voice:
        moved = voice.pop(old)
        voice.setdefault(new, moved)
    rebuilt = AttendanceTracker.from_json(json.dumps(data))  # refuse anything the tracker would not accept
    return rebuilt.to_json()


def forget_in_state(state: str, member: str) -> str:
    """Return a saved tally without one member (who chose, during the meeting, not to be counted at all)."""
    data = json.loads(state)
    if data.get("version") != attendance.STATE_VERSION:
        raise ValueError("not a saved attendance state of the current version")
    for field in ("posted", "checked_in", "voice"):
        data[field].pop(member, None)
    rebuilt = AttendanceTracker.from_json(json.dumps(data))
    return rebuilt.to_json()


@dataclass(frozen=True, slots=True)
class FinalTally:
    """What a finished meeting's tracker counted at its end."""

    attending: set[str]
    checkins: int
    voice_attendees: int
    posters: int


def final_tally(live: ParticipationLive | None, end: datetime) -> FinalTally:
    """Read a finished meeting's counts from its live tally (all zero when nothing was counted)."""
    if live is None:
        return FinalTally(set(), 0, 0, 0)
    tracker = AttendanceTracker.from_json(live.state)
    attending = tracker.counted(end)
    voice = sum(1 for member in attending if tracker.voice_time(member, end) >= tracker.min_voice)
    return FinalTally(attending, len(tracker.checked_in), voice, len(tracker.posted))


async def claim_finalisation(session: AsyncSession, occurrence_id: int, now: datetime) -> bool:
    """Mark the meeting's numbers row finalised; return False when another run already did."""
    claimed = await session.execute(
        update(ParticipationOccurrence)
        .where(
            ParticipationOccurrence.occurrence_id == occurrence_id,
            ParticipationOccurrence.finalised_at.is_(None),
        )
        .values(finalised_at=now)
    )
    return rowcount(claimed) == 1


async def marked_before(session: AsyncSession, row: MeetingOccurrence, period: str, attending: set[str]) -> set[str]:
    """Return the linked attendees who have a mark from an earlier meeting of the group in the same period."""
    linked = sorted(member for member in attending if not is_meeting_token(member))
    if not linked:
        return set()
    return set(
        (
            await session.scalars(
                select(ParticipationMark.pseudonym).where(
                    ParticipationMark.guild_id == row.guild_id,
                    ParticipationMark.period == period,
                    ParticipationMark.starts_at < row.starts_at,
                    ParticipationMark.pseudonym.in_(linked),
                )
            )
        ).all()
    )


def add_marks(session: AsyncSession, row: MeetingOccurrence, period: str, pseudonyms: Set[str]) -> None:
    """Add one attendance mark per linked attendee, in a stable order."""
    for pseudonym in sorted(pseudonyms):
        session.add(
            ParticipationMark(
                occurrence_id=row.id,
                guild_id=row.guild_id,
                period=period,
                pseudonym=pseudonym,
                starts_at=row.starts_at,
            )
        )


async def delete_live(session: AsyncSession, occurrence_id: int, live: ParticipationLive | None) -> None:
    """Delete the meeting's live tally, or raise RetryError when it changed since it was read."""
    if live is None:
        return
    gone = await session.execute(
        delete(ParticipationLive).where(
            ParticipationLive.occurrence_id == occurrence_id, ParticipationLive.version == live.version
        )
    )
    if rowcount(gone) != 1:
        raise RetryError


def outcome_of(row: MeetingOccurrence, attendees: int) -> tuple[str, str | None]:
    """Return held or missed, and why it was missed: the free-text reason is never copied, only its kind."""
    if row.state == OccurrenceState.CANCELLED:
        return "missed", "cancelled"
    if row.state == OccurrenceState.MISSED:
        text = (row.reason or "").lower()
        if text == "bot down":
            return "missed", "bot down"
        return "missed", "no facilitator" if "facilitator" in text else "other"
    if row.facilitator_id is None and attendees == 0:
        return "missed", "no facilitator"
    return "held", None


async def record_numbers(
    session: AsyncSession,
    row: MeetingOccurrence,
    outcome: tuple[str, str | None],
    split: attendance.AttendanceSplit,
    tally: FinalTally,
    end: datetime,
    phases: tuple[int, int],
) -> None:
    """Write the meeting's final numbers (and its phases reached and in all) to its numbers row."""
    reached, total = phases
    await session.execute(
        update(ParticipationOccurrence)
        .where(ParticipationOccurrence.occurrence_id == row.id)
        .values(
            outcome=outcome[0],
            missed_reason=outcome[1],
            actual_start=row.actual_start,
            actual_end=row.actual_end,
            phases_reached=reached,
            phases_total=total,
            attendees=split.attendees,
            new_attendees=len(split.new),
            returning_attendees=len(split.returning),
            unlinked_attendees=split.unlinked,
            checkins=tally.checkins,
            voice_attendees=tally.voice_attendees,
            posters=tally.posters,
            facilitators=1 if row.facilitator_id is not None else 0,
            feedback_until=end + FEEDBACK_WINDOW if row.state == OccurrenceState.COMPLETED else None,
        )
    )
