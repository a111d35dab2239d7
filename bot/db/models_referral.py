"""Referral routes: one Discord invite per host agency or route, and how many people joined through it each month.

Numbers only: the invite's use count is read now and then and the growth since the last read is added to the month's
count. Nothing says who joined: no user id, name or join time is ever stored here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime


class ReferralRoute(Base):
    """A named referral route of one group: its invite code, the channel it opens on, and the last use count read."""

    __tablename__ = "referral_route"
    # Ids appear in autocomplete values: SQLite must never hand a deleted row's id to a new one.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # Unique among a group's active routes (checked by the service); a retired name may be used again.
    name: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(40))
    channel_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The invite's `uses` at the last read: the next read adds only what it grew by.
    uses_seen: Mapped[int] = mapped_column(Integer, default=0)
    uses_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The invite was gone from Discord at the last read (deleted by hand, say): the route counts nothing any more.
    invite_missing: Mapped[bool] = mapped_column(Boolean, default=False)


class ReferralCount(Base):
    """How many people joined through one route in one calendar month (UTC), as read from the invite's use count."""

    __tablename__ = "referral_count"

    route_id: Mapped[int] = mapped_column(
        ForeignKey("referral_route.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # "YYYY-MM": the month of the read that saw the joins.
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    joins: Mapped[int] = mapped_column(Integer, default=0)


class ReferralSettings(Base):
    """A group's referral settings: where newcomers land, the pinned "New here?" note, and the count timer's state."""

    __tablename__ = "referral_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Where new routes' invites point and the note is pinned; the meetings channel when unset.
    welcome_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    # The coordinators' own "New here?" text; the default text when unset.
    welcome_text: Mapped[str | None] = mapped_column(Text)
    welcome_message_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    welcome_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # When the note was first asked for: it is posted once (with the first route, or `/referral welcome-text`).
    note_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the invites' use counts are next read (claimed with a conditional UPDATE, so one process reads them).
    counts_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the last read failed, in plain words (a missing permission, say); None when it worked.
    count_problem: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
