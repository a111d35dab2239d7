"""What the participation services share: the keys, a group's settings, a meeting's period, and small DB helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.helpers import insert_ignore
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingSchedule
from bot.db.models_participation import (
    FEEDBACK_COLUMNS,
    ParticipationOccurrence,
    ParticipationOptOut,
    ParticipationSettings,
)
from bot.domain.pseudonyms import ALLOWED_PERIOD_MONTHS, PseudonymKey, evaluation_period, period_key
from bot.errors import InvalidInputError
from bot.keyfile import ensure_key_file

# Fixed "period" labels: the opt-out fingerprint must not rotate with the evaluation periods, and the feedback key
# must share nothing with the attendance pseudonyms. Real period labels start with a year, so these never collide.
OPTOUT_LABEL = "opt-out"
FEEDBACK_LABEL = "feedback-given"
# Members may answer the feedback while the meeting runs and for this long after it ends; after that the set of
# one-meeting tokens that stops a second answer is deleted, and nobody can answer for that meeting any more.
FEEDBACK_WINDOW = timedelta(hours=1)
# A conditional UPDATE that lost a race is retried this many times with fresh state.
MAX_ATTEMPTS = 8

# How far a member opted out: counted in the headcount but never linked, or not counted at all.
UNLINKED = "unlinked"
UNCOUNTED = "uncounted"
OPT_OUT_MODES = (UNLINKED, UNCOUNTED)

DEFAULT_MIN_VOICE_MINUTES = 10
DEFAULT_PERIOD_MONTHS = 12
DEFAULT_ANCHOR_MONTH = 1
DEFAULT_RETENTION_MONTHS = 13
MAX_RETENTION_MONTHS = 60
MAX_VOICE_MINUTES = 180

# Every counter of a meeting's numbers row, zero when the row is created.
ZERO_COLUMNS = (
    "phases_reached",
    "phases_total",
    "attendees",
    "new_attendees",
    "returning_attendees",
    "unlinked_attendees",
    "checkins",
    "voice_attendees",
    "posters",
    "facilitators",
    "feedback_answers",
    *FEEDBACK_COLUMNS,
)


class RetryError(Exception):
    """Another writer changed the row first: start the transaction again."""


def gave_up(occurrence_id: int | None) -> RuntimeError:
    """Return the error for a change that kept losing races (it never carries anyone's id)."""
    return RuntimeError(f"participation update for meeting {occurrence_id} kept losing races; giving up")


def optout_key_path(key_file: Path) -> Path:
    """Return where the opt-out key lives: beside the pseudonym key, e.g. `pseudonym.optout.key`."""
    return key_file.with_name(f"{key_file.stem}.optout{key_file.suffix or '.key'}")


class ParticipationKeys:
    """The keys counting needs; repr never shows them and nothing here is ever logged or stored."""

    __slots__ = ("attendance", "feedback", "optout")

    def __init__(self, key: bytes, optout_key: bytes) -> None:
        self.attendance = PseudonymKey(key)
        # Derived, so "who answered" tokens match neither pseudonyms nor attendance tokens.
        self.feedback = PseudonymKey(period_key(key, FEEDBACK_LABEL))
        # A key of its own: replacing the pseudonym key each period (as PRIVACY.md advises) keeps opt-outs.
        self.optout = PseudonymKey(optout_key)

    def __repr__(self) -> str:
        return "ParticipationKeys(<redacted>)"

    @classmethod
    def from_file(cls, key_file: Path) -> ParticipationKeys:
        """Read (creating with mode 0600 when missing) the pseudonym key and the opt-out key beside it."""
        return cls(ensure_key_file(key_file), ensure_key_file(optout_key_path(key_file)))

    def optout_hash(self, guild_id: int, user_id: int) -> str:
        """Return the member's opt-out fingerprint in this guild; the same in every period."""
        return self.optout.pseudonym(guild_id, user_id, OPTOUT_LABEL)

    def feedback_token(self, guild_id: int, user_id: int, occurrence_id: int) -> str:
        """Return the member's "has answered" token for one meeting's feedback."""
        return self.feedback.meeting_token(guild_id, user_id, occurrence_id)


@dataclass(frozen=True, slots=True)
class GroupParticipation:
    """A group's participation settings."""

    guild_id: int
    min_voice_minutes: int = DEFAULT_MIN_VOICE_MINUTES
    period_months: int = DEFAULT_PERIOD_MONTHS
    period_anchor_month: int = DEFAULT_ANCHOR_MONTH
    retention_months: int = DEFAULT_RETENTION_MONTHS

    def as_dict(self) -> dict[str, int]:
        """Return the settings as plain values."""
        return {
            "guild_id": self.guild_id,
            "min_voice_minutes": self.min_voice_minutes,
            "period_months": self.period_months,
            "period_anchor_month": self.period_anchor_month,
            "retention_months": self.retention_months,
        }

    def validate(self) -> None:
        """Refuse settings that make no sense, saying what is accepted."""
        if not 1 <= self.min_voice_minutes <= MAX_VOICE_MINUTES:
            raise InvalidInputError(f"Voice time must be between 1 and {MAX_VOICE_MINUTES} minutes.")
        if self.period_months not in ALLOWED_PERIOD_MONTHS:
            allowed = ", ".join(str(months) for months in ALLOWED_PERIOD_MONTHS)
            raise InvalidInputError(f"An evaluation period is {allowed} months long.")
        if not 1 <= self.period_anchor_month <= 12:
            raise InvalidInputError("The period's first month is a number from 1 (January) to 12 (December).")
        # Marks must outlive a whole period, or a member seen early in it would count as new again.
        if not self.period_months < self.retention_months <= MAX_RETENTION_MONTHS:
            raise InvalidInputError(
                f"Keep attendance marks longer than one period ({self.period_months} months) "
                f"and at most {MAX_RETENTION_MONTHS} months."
            )


async def load_settings(session: AsyncSession, guild_id: int) -> GroupParticipation:
    """Return a group's settings, the defaults when it never changed them."""
    row = await session.get(ParticipationSettings, guild_id)
    if row is None:
        return GroupParticipation(guild_id=guild_id)
    return GroupParticipation(
        guild_id=guild_id,
        min_voice_minutes=row.min_voice_minutes,
        period_months=row.period_months,
        period_anchor_month=row.period_anchor_month,
        retention_months=row.retention_months,
    )


async def period_of(session: AsyncSession, row: MeetingOccurrence) -> tuple[str, date]:
    """Return the meeting's evaluation period and local date, in the group's zone (else its schedule's, else UTC)."""
    settings = await load_settings(session, row.guild_id)
    config = await session.get(GuildConfig, row.guild_id)
    zone_name = config.timezone if config is not None else None
    if not zone_name and row.schedule_id is not None:
        schedule = await session.get(MeetingSchedule, row.schedule_id)
        zone_name = schedule.timezone if schedule is not None else None
    try:
        zone: ZoneInfo | None = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    day = row.starts_at.astimezone(zone or UTC).date()
    return evaluation_period(day, settings.period_months, settings.period_anchor_month), day


async def ensure_numbers_row(
    session: AsyncSession, is_sqlite: bool, row: MeetingOccurrence, period: str, day: date, now: datetime
) -> None:
    """Create the meeting's numbers row if it does not exist yet (a racing creator is simply ignored)."""
    if await session.get(ParticipationOccurrence, row.id) is not None:
        return
    iso = day.isocalendar()
    values: dict[str, Any] = {
        "occurrence_id": row.id,
        "guild_id": row.guild_id,
        "schedule_id": row.schedule_id,
        "period": period,
        "local_date": day.isoformat(),
        "local_week": f"{iso.year:04d}-W{iso.week:02d}",
        "local_month": day.isoformat()[:7],
        "scheduled_start": row.starts_at,
        "scheduled_end": row.ends_at,
        "created_at": now,
        **dict.fromkeys(ZERO_COLUMNS, 0),
    }
    await session.execute(insert_ignore(is_sqlite, ParticipationOccurrence, values))


async def opt_out_modes(
    session: AsyncSession, keys: ParticipationKeys, guild_id: int, user_ids: list[int]
) -> dict[int, str]:
    """Return how far each of these members opted out (UNLINKED or UNCOUNTED); members who did not are left out."""
    if not user_ids:
        return {}
    hashes = {keys.optout_hash(guild_id, user): user for user in user_ids}
    found = await session.execute(
        select(ParticipationOptOut.member_hash, ParticipationOptOut.mode).where(
            ParticipationOptOut.member_hash.in_(list(hashes))
        )
    )
    return {hashes[member_hash]: mode for member_hash, mode in found.all()}


def group_display_name(guild_id: int, label: str | None, guild_name: str | None) -> str:
    """Return how reports name a group: the coordinators' label, else the server's name, else "Group <id>"."""
    return (label or "").strip() or (guild_name or "").strip() or f"Group {guild_id}"


async def group_names(session: AsyncSession, guild_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Return the names reports give groups that have a label or a known server name (others are "Group <id>")."""
    query = select(
        ParticipationSettings.guild_id, ParticipationSettings.group_label, ParticipationSettings.guild_name
    ).where(ParticipationSettings.group_label.is_not(None) | ParticipationSettings.guild_name.is_not(None))
    if guild_ids is not None:
        query = query.where(ParticipationSettings.guild_id.in_(list(guild_ids)))
    rows = (await session.execute(query)).all()
    return {int(guild): group_display_name(int(guild), label, name) for guild, label, name in rows}
