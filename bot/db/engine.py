"""The `Database`: one engine per process, and sessions that commit or roll back as a unit."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.util import LRUCache

from bot.db.sqlite_driver import one_trip_dbapi
from bot.db.urls import sqlite_path_of

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
# How long closing the database waits for the sessions still open (a command or listener finishing its write).
DISPOSE_GRACE_SECONDS = 2.0
# Key in `Session.info` of the tables a session's transaction has written to; "*" when it cannot tell.
WRITTEN_TABLES = "written_tables"
ANY_TABLE = "*"


# Compiled statements kept per process, for every engine on the same kind of database (see `SharedStatementCache`).
STATEMENT_CACHE_SIZE = 1000


class SharedStatementCache:
    """SQLAlchemy's compiled-statement cache, shared by every engine of this process on the same kind of database.

    SQLAlchemy keys a compiled statement by the engine's dialect object, so each new engine compiles every statement
    again; an engine made again for the same database (a bot restarted in the same process: the tests start about 290)
    spent a quarter of its start compiling. Here the dialect in the key is replaced by what the compiled SQL depends
    on: the dialect's class (the database and its driver) and the server's version. Engines differ otherwise only in
    their pools, which compiled statements do not touch.
    """

    def __init__(self, capacity: int) -> None:
        self._compiled: LRUCache[tuple[Any, ...], Any] = LRUCache(capacity)

    @staticmethod
    def _shared(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect: Dialect = key[0]
        return (type(dialect), dialect.server_version_info, *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        """Return the statement compiled for `key` on any engine of the same kind, or `default`."""
        return self._compiled.get(self._shared(key), default)

    def __setitem__(self, key: tuple[Any, ...], compiled: Any) -> None:
        self._compiled[self._shared(key)] = compiled


_STATEMENTS = SharedStatementCache(STATEMENT_CACHE_SIZE)


def _set_sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _written(session: Session) -> set[str]:
    written: set[str] = session.info.setdefault(WRITTEN_TABLES, set())
    return written


@event.listens_for(Session, "after_flush")
def _note_flushed_tables(session: Session, _flush: UOWTransaction) -> None:
    """Note the tables of the entities a flush inserted, changed or deleted."""
    for instance in itertools.chain(session.new, session.dirty, session.deleted):
        table = getattr(type(instance), "__tablename__", None)
        _written(session).add(table if isinstance(table, str) else ANY_TABLE)


@event.listens_for(Session, "do_orm_execute")
def _note_executed_tables(state: ORMExecuteState) -> None:
    """Note the table of an INSERT, UPDATE or DELETE statement run through the session."""
    if state.is_select:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    _written(state.session).add(table if isinstance(table, str) else ANY_TABLE)


class Database:
    """Own the async engine and hand out transactional sessions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Parameters can hold pseudonyms and ids: keep them out of exception texts that reach the log.
        kwargs: dict[str, Any] = {
            "echo": echo,
            "hide_parameters": True,
            "execution_options": {"compiled_cache": _STATEMENTS},
        }
        if self.is_sqlite:
            kwargs["module"] = one_trip_dbapi()
            path = sqlite_path_of(url)
            if path is None:
                # An in-memory database lives in one connection; share it.
                kwargs["poolclass"] = StaticPool
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                # One connection per process: SQLite allows one writer at a time anyway, and a single
                # connection turns would-be "database is locked" upgrades into an orderly queue.
                kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _set_sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._versions: Counter[str] = Counter()
        # Sessions open now, and what `dispose` waits on for them to close (made when it first has to wait).
        self._open_sessions = 0
        self._all_closed: asyncio.Event | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Open a session in a transaction: commit when the block ends, roll back if it raises.

        Never await a Discord call inside this block: a write transaction must stay short.
        """
        self._open_sessions += 1
        if self._all_closed is not None:
            self._all_closed.clear()
        try:
            async with self._sessions() as session:
                async with session.begin():
                    yield session
                # Committed: what this process has cached from these tables is out of date.
                written = session.sync_session.info.pop(WRITTEN_TABLES, ())
                self._versions.update(written)
        finally:
            self._open_sessions -= 1
            if self._open_sessions == 0 and self._all_closed is not None:
                self._all_closed.set()

    def version(self, table: str) -> int:
        """Return a number that changes whenever this process commits a write to `table`.

        In-process caches compare it before and after reading, so they never keep rows older than a commit. Other
        processes' writes are not seen: cache only what this process alone writes (a guild's rows live with the
        process that holds its shard).
        """
        return self._versions[table] + self._versions[ANY_TABLE]

    async def dispose(self, grace: float = DISPOSE_GRACE_SECONDS) -> None:
        """Close every pooled connection, once the sessions still open have closed (or `grace` seconds have passed).

        A session still open holds its connection outside the pool, where closing the pool cannot reach it: left to
        the garbage collector after the event loop has ended, its connection is cut off mid-statement.
        """
        if self._open_sessions:
            # One event for every caller (the bot may be closed twice at once), set when the last session closes.
            if self._all_closed is None:
                self._all_closed = asyncio.Event()
            try:
                await asyncio.wait_for(self._all_closed.wait(), grace)
            except TimeoutError:
                log.warning("Closing the database with %d session(s) still open.", self._open_sessions)
        await self.engine.dispose()
