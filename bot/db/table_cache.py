"""Values read from one table, kept in memory until this process commits a write to that table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.db.engine import Database

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TableCache(Generic[K, V]):
    """Cache what a read of `table` gave, and drop it once `Database.version(table)` moves.

    Other processes' writes are not seen: cache only what this process alone writes (see `Database.version`).
    """

    def __init__(self, database: Database, table: str) -> None:
        self._db = database
        self._table = table
        self._entries: dict[K, tuple[int, V]] = {}

    async def get(
        self, key: K, read: Callable[[], Awaitable[V]], *, still_valid: Callable[[V], bool] | None = None
    ) -> V:
        """Return the cached value of `key`, or `read()` it and keep it; `still_valid` can expire it early."""
        version = self._db.version(self._table)
        cached = self._entries.get(key)
        if cached is not None and cached[0] == version and (still_valid is None or still_valid(cached[1])):
            return cached[1]
        value = await read()
        # Kept only if no write was committed while reading: the value might predate it.
        if self._db.version(self._table) == version:
            self._entries[key] = (version, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep a value this process has just committed, so that the next read needs no query."""
        self._entries[key] = (self._db.version(self._table), value)

    def clear(self) -> None:
        """Forget every cached value."""
        self._entries.clear()
