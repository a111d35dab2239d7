"""Office tables: announcements and their deliveries, the resources library, the facilitators' network, pairings.

Everything here is group-level: a group's name and channels, never a member. An announcement's file is kept only
until every delivery of it has settled (see `bot/services/office/announcements.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime


class OfficeAnnouncement(Base):
    """A message from the central office to (some of) the groups, and where its delivery report is shown."""

    __tablename__ = "office_announcement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_guild_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))
    # Blanked once every delivery has settled, as the outbox blanks delivered payloads.
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    report_channel_id: Mapped[int] = mapped_column(BigInteger)
    report_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # True while a refresh of the report waits in the outbox: further outcomes ride on it instead of queueing more.
    report_queued: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfficeAnnouncementTarget(Base):
    """One channel of one group an announcement goes to, and how its delivery went."""

    __tablename__ = "office_announcement_target"
    __table_args__ = (
        UniqueConstraint("announcement_id", "guild_id", "channel_kind", name="uq_office_announcement_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("office_announcement.id", ondelete="CASCADE"), index=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    group_name: Mapped[str] = mapped_column(String(100))
    channel_kind: Mapped[str] = mapped_column(String(20))  # coordinators, facilitators
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))  # pending, retrying, delivered, failed
    reason: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfficeGroupPrefs(Base):
    """What a group chose about the network: announcements also in its facilitators' channel."""

    __tablename__ = "office_group_prefs"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    announcements_to_facilitators: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfficeResource(Base):
    """An item of the office's shared resources library: a link or a file, described and tagged."""

    __tablename__ = "office_resource"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    description: Mapped[str] = mapped_column(String(300))
    tags: Mapped[str] = mapped_column(String(300))  # comma-separated, lower case
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfficeNetwork(Base):
    """The facilitators' network in the office's server: its channel and the role given on arrival (one row)."""

    __tablename__ = "office_network"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    role_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfficeNetworkQuestion(Base):
    """A question a group asked the network, and its post there (replies are relayed, not kept)."""

    __tablename__ = "office_network_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    group_name: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfficePairing(Base):
    """A new group paired with an experienced one for mentoring, until the office ends it."""

    __tablename__ = "office_pairing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    new_guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    new_group_name: Mapped[str] = mapped_column(String(100))
    experienced_guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    experienced_group_name: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
