"""One-time sign-in links to the web dashboard, for the operator on the host.

Only the SHA-256 of a link's token is stored, with its expiry; a link is used with one conditional UPDATE, so it opens
one session however many processes or browsers try it at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models_web import WebLoginLink

log = logging.getLogger(__name__)

DEFAULT_VALID_FOR = timedelta(minutes=10)
MAX_VALID_FOR = timedelta(hours=1)
TOKEN_BYTES = 32
# Used and expired links are deleted this long after they expire (they prove nothing once spent).
KEEP_SPENT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LoginLink:
    """A link's secret token (shown once, never stored) and when it stops working."""

    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class LoginLinks:
    """Create and use one-time sign-in links."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def create(self, valid_for: timedelta = DEFAULT_VALID_FOR, *, exact: bool = False) -> LoginLink:
        """Store a new link's hash and return its token (the only time it exists in full)."""
        if not timedelta(0) < valid_for <= MAX_VALID_FOR:
            raise ValueError(f"a sign-in link is valid for 1 to {int(MAX_VALID_FOR.total_seconds() // 60)} minutes")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock.now()
        async with self._db.session() as session:
            await session.execute(delete(WebLoginLink).where(WebLoginLink.expires_at < now - KEEP_SPENT))
            session.add(
                WebLoginLink(
                    token_hash=token_hash(token), exact=exact, created_at=now, expires_at=now + valid_for, used_at=None
                )
            )
        log.info("Created a one-time sign-in link, valid until %s.", (now + valid_for).isoformat())
        return LoginLink(token, now + valid_for)

    async def use(self, token: str) -> bool | None:
        """Spend a link: return whether its session may see exact figures, or None if it is unknown, used or expired."""
        now = self._clock.now()
        async with self._db.session() as session:
            result = await session.execute(
                update(WebLoginLink)
                .where(
                    WebLoginLink.token_hash == token_hash(token),
                    WebLoginLink.used_at.is_(None),
                    WebLoginLink.expires_at > now,
                )
                .values(used_at=now)
                .returning(WebLoginLink.exact)
            )
            # RETURNING tells who won on SQLite and PostgreSQL alike: a lost race returns no row.
            rows = result.all()
            if len(rows) != 1:
                return None
        log.info("A one-time sign-in link was used.")
        return bool(rows[0][0])
