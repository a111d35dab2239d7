"""Volunteer care tables: group milestones reached, facilitators' debriefs, and load suggestions sent.

A debrief keeps the facilitator's id only until they answer (or a few days pass); what remains is the group, the
month and the answer, which the office reads as counts. A load suggestion keeps whom it was about, so that the
coordinators hear of one facilitator at most once in four weeks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime


class CareSettings(Base):
    """A group's choices about volunteer care: whether its milestones are celebrated in its meetings channel."""

    __tablename__ = "care_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    celebrate_milestones: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupMilestone(Base):
    """A milestone a group reached, recorded once (the unique key is what makes a second celebration impossible)."""

    __tablename__ = "group_milestone"
    __table_args__ = (UniqueConstraint("guild_id", "key", name="uq_group_milestone_guild_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # "held:1", "held:10", ... "anniversary:1", "unbroken-year:1"
    key: Mapped[str] = mapped_column(String(40))
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Whether the group's meetings channel was told (not when the group had turned celebrations off).
    celebrated: Mapped[bool] = mapped_column(Boolean, default=False)


class FacilitatorDebrief(Base):
    """One "How was that for you?" after a meeting; the facilitator's id goes once answered or after a few days."""

    __tablename__ = "facilitator_debrief"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # The meeting's month in the group's time zone, YYYY-MM: the only time the counts need.
    month: Mapped[str] = mapped_column(String(7), index=True)
    # fine, tough, talk; None until answered (the conditional UPDATE that sets it makes one answer count).
    answer: Mapped[str | None] = mapped_column(String(8))
    facilitator_id: Mapped[int | None] = mapped_column(BigInteger)
    # When the facilitator's id is forgotten if they never answer; None once it has been.
    forget_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class LoadSuggestion(Base):
    """The last time coordinators were asked to spread duties away from one facilitator."""

    __tablename__ = "load_suggestion"
    __table_args__ = (UniqueConstraint("guild_id", "user_id", name="uq_load_suggestion_guild_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
