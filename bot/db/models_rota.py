"""Rota tables: the roster of facilitators, their time away, and who is on duty for which meeting.

Facilitators volunteer for the rota, so their Discord ids are kept here (never in participation data).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime


class RotaMember(Base):
    """A facilitator on a group's rota."""

    __tablename__ = "rota_member"
    __table_args__ = (UniqueConstraint("guild_id", "user_id", name="uq_rota_member_guild_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    roles: Mapped[str] = mapped_column(String(30))  # comma-separated: lead, co, host
    trained_since: Mapped[date] = mapped_column(Date)
    max_per_month: Mapped[int | None] = mapped_column(Integer)
    preferred_series: Mapped[str] = mapped_column(String(200), default="")
    named_in_thanks: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RotaAway(Base):
    """A period a facilitator cannot take duties."""

    __tablename__ = "rota_away"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RotaAssignment(Base):
    """One duty (lead or co) at one meeting, with the timed steps that belong to it."""

    __tablename__ = "rota_assignment"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "role", name="uq_rota_assignment_occurrence_role"),
        # A meeting's duties in one state ("is the next meeting confirmed?"). Without it SQLite chose the status
        # index and read every confirmed duty ever held once per group: 10 s for a national year's overview.
        Index("ix_rota_assignment_occurrence_status", "occurrence_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("meeting_occurrence.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(4))
    # None while the duty is open for cover.
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    # planned -> confirmed, or planned/confirmed -> open (can't make it) -> confirmed (cover taken).
    status: Mapped[str] = mapped_column(String(10), index=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    released_by: Mapped[int | None] = mapped_column(BigInteger)
    confirm_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The one gentle reminder a facilitator gets before an unconfirmed duty goes to the coordinators.
    reminder_sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    cover_message_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RotaSettings(Base):
    """A group's rota settings and bookkeeping."""

    __tablename__ = "rota_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    confirm_hours_before: Mapped[int] = mapped_column(Integer, default=72)
    escalate_hours_before: Mapped[int] = mapped_column(Integer, default=24)
    max_consecutive: Mapped[int] = mapped_column(Integer, default=2)
    # The Monday (local) of the last weekly rota post, so each week is posted once.
    last_weekly_post: Mapped[date | None] = mapped_column(Date)


class RotaMilestone(Base):
    """A milestone already celebrated, so it is thanked once."""

    __tablename__ = "rota_milestone"
    __table_args__ = (UniqueConstraint("guild_id", "key", name="uq_rota_milestone_guild_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    key: Mapped[str] = mapped_column(String(80))
    celebrated_at: Mapped[datetime] = mapped_column(UTCDateTime())
