"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement instead of four.

aiosqlite runs every call on the sqlite3 connection in its own thread, and each call is a round trip: a queue put,
the thread waking, and the event loop waking on the result (about 0.15 ms here, far more than a small indexed
query takes). SQLAlchemy's adapter makes four such trips per statement (open a cursor, execute, fetch all, close).
This adapter runs the four as one function in that thread, so a statement costs one trip: the dashboard's group
page and the meeting runner issue dozens of small statements, where the trips were most of the time.

No library offers this (aiosqlite has no "execute and describe" call, SQLAlchemy's adapter is one cursor call per
trip), so it is written here. It relies on two private details, fenced by `tests/unit/db/test_sqlite_driver.py`,
which names this file if an upgrade changes them: aiosqlite's `Connection._execute(fn)` (queue a function for
the connection's thread) and `Connection._conn` (the sqlite3 connection), and the `_cursor_cls` hook of
SQLAlchemy's adapted connection. Server-side (streamed) cursors keep SQLAlchemy's own class.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What one trip returns: the cursor's description, its rows (None when the statement returns none), rowcount and
# lastrowid, all read in the connection's thread before the cursor closes.
_Outcome = tuple[Any, list[Any] | None, int, int | None]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """Execute one statement on the sqlite3 connection and read everything SQLAlchemy will ask of its cursor."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        # Rows first: for an UPDATE ... RETURNING, sqlite3 counts the rows as they are fetched.
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose execute, fetch and close are one trip to the connection's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")
    # Nothing is left open in the thread after a statement, so there is nothing to close asynchronously.
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # Unlike the base class, open no cursor here: that was a trip of its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        """Return the statement's column description, read in the connection's thread."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Return the rows the statement changed, read in the connection's thread."""
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        """Return the rowid of the statement's last insert, read in the connection's thread."""
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        """Return 1: rows are already in memory."""
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        """Ignore: every row is fetched at once."""

    def close(self) -> None:
        """Drop any unread rows (the sqlite3 cursor closed in its own trip)."""
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """Ignore, as sqlite3 does."""

    def nextset(self) -> None:
        """SQLite has no further result sets."""

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = self._connection
            outcome: _Outcome = await connection._execute(_run, connection, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows or ())


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's adapted aiosqlite connection: one-trip cursors, and no trip to end a transaction never begun."""

    __slots__ = ()
    # mypy reads the base class's plain assignment as a type alias, which a subclass may not replace.
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def commit(self) -> None:
        """Commit; with no transaction open (a session that only read) there is nothing to do, so no trip."""
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        """Roll back; with no transaction open there is nothing to do, so no trip.

        The pool rolls back every connection handed back to it, even just after a commit, and that was a third trip
        for every session.
        """
        if self._in_transaction():
            super().rollback()

    def _in_transaction(self) -> bool:
        # sqlite3 itself skips a commit or rollback when SQLite is in autocommit mode (no transaction open); this asks
        # the same question before the trip. Nothing else runs on the connection meanwhile: SQLAlchemy hands it to
        # one user at a time, and each of that user's statements has finished by the time it commits or rolls back.
        connection = self._connection
        return not connection._running or connection._connection is None or connection._conn.in_transaction


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DB-API module SQLAlchemy uses, connecting with one-trip connections."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        """Open an aiosqlite connection and adapt it."""
        connection = self.aiosqlite.connect(*arg, **kw)
        # As SQLAlchemy does: the thread must not keep the interpreter alive at exit.
        connection._thread.daemon = True
        return OneTripConnection(self, await_(connection))


def one_trip_dbapi() -> OneTripDBAPI:
    """Return the module to pass as `create_async_engine(..., module=...)` for a SQLite URL."""
    return OneTripDBAPI(aiosqlite, sqlite3)
