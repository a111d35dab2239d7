"""Web dashboard tables: one-time sign-in links, kept as hashes only.

Nothing about a signed-in person is stored: the session lives in its signed cookie alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UTCDateTime


class WebLoginLink(Base):
    """A one-time sign-in link for the operator on the host: the SHA-256 of its token, its expiry, and its use."""

    __tablename__ = "web_login_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Whether the session it opens may see exact (unsuppressed) figures.
    exact: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
