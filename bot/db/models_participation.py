"""Participation tables: per-meeting numbers, attendance marks by pseudonym, and the running tally.

No column here ever holds a Discord id (other than the guild's), a member's name or message text. See
docs/PRIVACY.md and docs/DATA_DICTIONARY.md.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime

# Feedback counter columns, one per (question, answer); the service and the export read the names from here.
FEEDBACK_COLUMNS = (
    "fb_helpful_1",
    "fb_helpful_2",
    "fb_helpful_3",
    "fb_helpful_4",
    "fb_helpful_5",
    "fb_plan_yes",
    "fb_plan_no",
    "fb_heard_treatment",
    "fb_heard_health",
    "fb_heard_web",
    "fb_heard_friend",
    "fb_heard_justice",
    "fb_heard_mutual_aid",
    "fb_heard_other",
    "fb_again_yes",
    "fb_again_no",
    "fb_again_maybe",
)


class ParticipationSettings(Base):
    """A group's participation settings; a group without a row uses the defaults."""

    __tablename__ = "participation_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    min_voice_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    period_months: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    period_anchor_month: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    retention_months: Mapped[int] = mapped_column(Integer, default=13, server_default="13")
    # How reports name the group: the coordinators' label if they set one, else the server's name as the bot last saw
    # it (in GUILD_CREATE, which needs no privileged intent). Group-level facts only, never a member's.
    group_label: Mapped[str | None] = mapped_column(String(100))
    guild_name: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ParticipationOccurrence(Base):
    """One meeting's numbers: kept after its attendance marks are purged.

    No foreign key to meeting_occurrence on purpose: these numbers must outlive the meeting's own row.
    """

    __tablename__ = "participation_occurrence"
    __table_args__ = (
        Index("ix_participation_occurrence_guild_date", "guild_id", "local_date"),
        Index("ix_participation_occurrence_local_date", "local_date"),
    )

    occurrence_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    schedule_id: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(32))
    # The meeting's date, ISO week and month in the group's time zone, so exports group in SQL on any backend.
    local_date: Mapped[str] = mapped_column(String(10))
    local_week: Mapped[str] = mapped_column(String(8))
    local_month: Mapped[str] = mapped_column(String(7))
    outcome: Mapped[str | None] = mapped_column(String(10))
    missed_reason: Mapped[str | None] = mapped_column(String(20))
    scheduled_start: Mapped[datetime] = mapped_column(UTCDateTime())
    scheduled_end: Mapped[datetime] = mapped_column(UTCDateTime())
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phases_reached: Mapped[int] = mapped_column(Integer, default=0)
    phases_total: Mapped[int] = mapped_column(Integer, default=0)
    attendees: Mapped[int] = mapped_column(Integer, default=0)
    new_attendees: Mapped[int] = mapped_column(Integer, default=0)
    returning_attendees: Mapped[int] = mapped_column(Integer, default=0)
    unlinked_attendees: Mapped[int] = mapped_column(Integer, default=0)
    checkins: Mapped[int] = mapped_column(Integer, default=0)
    voice_attendees: Mapped[int] = mapped_column(Integer, default=0)
    posters: Mapped[int] = mapped_column(Integer, default=0)
    facilitators: Mapped[int] = mapped_column(Integer, default=0)
    feedback_answers: Mapped[int] = mapped_column(Integer, default=0)
    fb_helpful_1: Mapped[int] = mapped_column(Integer, default=0)
    fb_helpful_2: Mapped[int] = mapped_column(Integer, default=0)
    fb_helpful_3: Mapped[int] = mapped_column(Integer, default=0)
    fb_helpful_4: Mapped[int] = mapped_column(Integer, default=0)
    fb_helpful_5: Mapped[int] = mapped_column(Integer, default=0)
    fb_plan_yes: Mapped[int] = mapped_column(Integer, default=0)
    fb_plan_no: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_treatment: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_health: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_web: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_friend: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_justice: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_mutual_aid: Mapped[int] = mapped_column(Integer, default=0)
    fb_heard_other: Mapped[int] = mapped_column(Integer, default=0)
    fb_again_yes: Mapped[int] = mapped_column(Integer, default=0)
    fb_again_no: Mapped[int] = mapped_column(Integer, default=0)
    fb_again_maybe: Mapped[int] = mapped_column(Integer, default=0)
    # Until this instant a member may still answer the feedback; the set of who answered is deleted after it.
    feedback_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ParticipationLive(Base):
    """The running tally of a meeting in progress, keyed by pseudonym or meeting token; deleted when it closes."""

    __tablename__ = "participation_live"

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_occurrence.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    period: Mapped[str] = mapped_column(String(32))
    # AttendanceTracker.to_json(); the version makes every change a conditional UPDATE.
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ParticipationMark(Base):
    """One attending member of one meeting, by pseudonym; purged after the retention period."""

    __tablename__ = "participation_mark"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "pseudonym", name="uq_participation_mark_occurrence_pseudonym"),
        Index("ix_participation_mark_lookup", "guild_id", "period", "pseudonym"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("participation_occurrence.occurrence_id", ondelete="CASCADE"), index=True
    )
    guild_id: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(32))
    pseudonym: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ParticipationOptOut(Base):
    """A member who opted out, by a keyed fingerprint that does not rotate with the periods, and how far.

    `mode` is "unlinked" (counted in the headcount, never linked) or "uncounted" (not counted at all).
    """

    __tablename__ = "participation_optout"

    member_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10), default="unlinked", server_default="unlinked")


class FeedbackGiven(Base):
    """Who already answered a meeting's feedback, as a one-meeting token; deleted when the feedback window closes."""

    __tablename__ = "participation_feedback_given"

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("participation_occurrence.occurrence_id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(66), primary_key=True)


class ParticipationOffice(Base):
    """The central office's own server, where `/office report` works and the monthly digest goes; one row at most.

    Set from the command line only (`python -m bot office set`): whoever configures it sees every group's figures.
    """

    __tablename__ = "participation_office"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    role_id: Mapped[int] = mapped_column(BigInteger)
    # The last month ("2026-11") whose digest was posted; claimed with a conditional UPDATE so it posts once.
    last_digest_month: Mapped[str | None] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
