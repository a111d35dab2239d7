"""Typed SQLAlchemy models; every table holding group data is keyed by guild."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.states import OutboxState

# Named constraints keep migrations reproducible and let SQLite batch mode find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset, so it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class GuildConfig(Base):
    """One group's settings, made by `/setup`."""

    __tablename__ = "guild_config"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    meetings_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    facilitators_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    coordinators_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    facilitator_role_id: Mapped[int | None] = mapped_column(BigInteger)
    coordinator_role_id: Mapped[int | None] = mapped_column(BigInteger)
    reminder_role_id: Mapped[int | None] = mapped_column(BigInteger)
    crisis_text: Mapped[str | None] = mapped_column(Text)
    pass_the_hat_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    pass_the_hat_text: Mapped[str | None] = mapped_column(Text)
    # Minutes before a meeting that the reminder role is pinged, largest first ("1440,15").
    reminder_offsets: Mapped[str] = mapped_column(String(100), default="1440,15", server_default="1440,15")
    late_start_grace_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    events_ahead: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    # Minutes an alert waits for a facilitator to take it before the coordinators are alerted too.
    alert_escalation_minutes: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppState(Base):
    """Small key-value facts the bot keeps about itself (e.g. the hash of the synced command tree)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingSchedule(Base):
    """A recurring (or one-off) meeting: an RFC 5545 RRULE in the group's IANA zone."""

    __tablename__ = "meeting_schedule"
    # Ids appear in buttons and messages: SQLite must never hand a deleted row's id to a new one.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(100))
    rrule: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64))
    # First local wall time, ISO 8601 without offset: recurrence is computed in local time.
    dtstart_local: Mapped[str] = mapped_column(String(19))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    template_slug: Mapped[str] = mapped_column(String(40))
    location_kind: Mapped[str] = mapped_column(String(10))
    channel_id: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingOccurrence(Base):
    """One meeting on one date: scheduled, running, completed, cancelled, missed, or superseded by an edit."""

    __tablename__ = "meeting_occurrence"
    __table_args__ = (
        UniqueConstraint("schedule_id", "local_start", name="uq_meeting_occurrence_schedule_local"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_schedule.id", ondelete="SET NULL"))
    local_start: Mapped[str] = mapped_column(String(19))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Not (state, starts_at): without statistics SQLite then prefers that index for one group's upcoming meetings
    # and reads every group's (a start with 1,000 groups stayed busy 2.5 s longer); see migration 0013.
    state: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(100))
    template_slug: Mapped[str] = mapped_column(String(40))
    location_kind: Mapped[str] = mapped_column(String(10))
    channel_id: Mapped[int] = mapped_column(BigInteger)
    tool_slug: Mapped[str | None] = mapped_column(String(60))
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    event_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    venue_id: Mapped[int | None] = mapped_column(BigInteger)
    panel_message_id: Mapped[int | None] = mapped_column(BigInteger)
    facilitator_id: Mapped[int | None] = mapped_column(BigInteger)
    phase_index: Mapped[int | None] = mapped_column(Integer)
    phase_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phase_paused_seconds: Mapped[int | None] = mapped_column(Integer)
    phase_nudged: Mapped[bool] = mapped_column(Boolean, default=False)
    phase_timings: Mapped[str] = mapped_column(Text, default="[]")
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_late: Mapped[bool] = mapped_column(Boolean, default=False)
    no_facilitator_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingReminder(Base):
    """A pending reminder ping, claimed once when it is sent."""

    __tablename__ = "meeting_reminder"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "offset_minutes", name="uq_meeting_reminder_offset"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("meeting_occurrence.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Outbox(Base):
    """A Discord side effect decided inside a transaction and delivered after it commits.

    Delivery uses the row id as the message nonce (with enforce_nonce), so a retry after a crash
    returns the message already posted instead of posting it twice.
    """

    __tablename__ = "outbox"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_occurrence.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True, default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(200))
    result_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FacilitatorAlert(Base):
    """That a member asked for a facilitator's attention, and who took it; never what they wrote.

    The member's id is kept only until they have been told someone has it (or a day at most); the taker's id
    (staff data) only for a day, to show who took it. What remains is a count of alerts and how soon they were taken.
    """

    __tablename__ = "facilitator_alert"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_occurrence.id", ondelete="SET NULL"))
    # open -> taken (first "I'm on it" click wins, a conditional UPDATE)
    state: Mapped[str] = mapped_column(String(10), index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalate_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    source_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    taken_by: Mapped[int | None] = mapped_column(BigInteger)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    facilitators_message_id: Mapped[int | None] = mapped_column(BigInteger)
    coordinators_message_id: Mapped[int | None] = mapped_column(BigInteger)


# Models kept in their own modules register on Base when imported here, at the end, after Base exists.
from bot.db import (  # noqa: E402
    models_care as models_care,
    models_listing as models_listing,
    models_office as models_office,
    models_participation as models_participation,
    models_referral as models_referral,
    models_rota as models_rota,
    models_web as models_web,
)
