"""A group's public meeting listing: only what its coordinators chose to make public."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime


class PublicListing(Base):
    """One group's opt-in public listing (feed, calendar, page): a public name, description and join link.

    The guild id is the key only; nothing built from this row (feed, `.ics`, page) ever shows it.
    """

    __tablename__ = "public_listing"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    public_name: Mapped[str] = mapped_column(String(100))
    # URL-safe and unique across groups: the feed's `group` slug and the page's file name.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    join_url: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
