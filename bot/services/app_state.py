"""Small facts the bot keeps about itself between runs."""

from __future__ import annotations

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import AppState


class AppStateService:
    """A tiny key-value store in the database."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def get(self, key: str) -> str | None:
        """Return the value stored under `key`, if any."""
        async with self._db.session() as session:
            row = await session.get(AppState, key)
            return row.value if row else None

    async def set(self, key: str, value: str) -> None:
        """Store `value` under `key`."""
        async with self._db.session() as session:
            row = await session.get(AppState, key)
            if row is None:
                session.add(AppState(key=key, value=value, updated_at=self._clock.now()))
            else:
                row.value = value
                row.updated_at = self._clock.now()
