"""The one-trip SQLite adapter (`bot/db/sqlite_driver.py`) still fits aiosqlite and SQLAlchemy, and behaves like theirs.

It relies on private details of both libraries; an upgrade that changes them must fail here, naming the file,
rather than slow every query back down or break it at run time.
"""

from pathlib import Path

import aiosqlite
import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

from bot.db import sqlite_driver
from bot.db.engine import Database

ADAPTER = "bot/db/sqlite_driver.py"
UPDATE = (
    f"aiosqlite {aiosqlite.__version__} or SQLAlchemy {sqlalchemy.__version__} changed a private detail "
    f"{ADAPTER} relies on: update it"
)


def test_the_private_details_are_still_there() -> None:
    assert callable(getattr(aiosqlite.Connection, "_execute", None)), (
        f"aiosqlite.Connection._execute is gone; {UPDATE}."
    )
    assert isinstance(getattr(aiosqlite.Connection, "_conn", None), property), (
        f"aiosqlite.Connection._conn is gone; {UPDATE}."
    )
    assert "_cursor_cls" in vars(AsyncAdapt_aiosqlite_connection), (
        f"SQLAlchemy's aiosqlite connection no longer picks its cursor with _cursor_cls; {UPDATE}."
    )


@pytest.fixture
async def file_database(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trips.sqlite3'}")
    yield database
    await database.dispose()


@pytest.fixture
async def trips(file_database: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the trips to the connection's thread, by what each runs, from the first statement after connecting."""
    made: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    async with file_database.session() as session:  # connect and set the pragmas before counting
        await session.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_a_statement_is_one_trip_to_the_connection_thread(file_database: Database, trips: list[str]) -> None:
    async with file_database.session() as session:
        for _ in range(10):
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    # Ten statements and nothing else: a session that only read opened no transaction to commit or roll back.
    # SQLAlchemy's own adapter makes four trips per statement, then one for the commit and one for the pool's reset.
    assert len(trips) == 10, f"{len(trips)} trips for ten statements ({trips}); {UPDATE}."


async def test_a_write_is_committed_in_one_more_trip_and_the_pools_reset_makes_none(
    file_database: Database, trips: list[str], tmp_path: Path
) -> None:
    async with file_database.session() as session:
        await session.execute(text("INSERT INTO item (name) VALUES ('kept')"))
    assert len(trips) == 2, f"a write and its commit took {len(trips)} trips ({trips}); {UPDATE}."
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'trips.sqlite3'}")
    try:
        async with other.session() as session:  # another connection sees it: it was committed
            assert (await session.execute(text("SELECT name FROM item"))).scalars().all() == ["kept"]
    finally:
        await other.dispose()


async def test_a_failed_write_is_rolled_back_and_leaves_no_transaction_open(
    file_database: Database, trips: list[str]
) -> None:
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        async with file_database.session() as session:
            await session.execute(text("INSERT INTO item (name) VALUES ('undone')"))
            await session.execute(text("INSERT INTO item (id, name) VALUES (1, 'clash')"))
    assert trips.count("rollback") == 1, trips
    async with file_database.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM item"))).scalar_one() == 0
        raw = await session.connection()
        assert not (await raw.get_raw_connection()).driver_connection._conn.in_transaction


async def test_it_reports_what_sqlalchemy_asks_of_a_cursor(file_database: Database) -> None:
    async with file_database.session() as session:
        await session.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
        inserted = await session.execute(text("INSERT INTO item (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await session.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        updated = await session.execute(text("UPDATE item SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2  # type: ignore[attr-defined]
        returned = await session.execute(text("UPDATE item SET name = 'z' WHERE id <= 2 RETURNING id"))
        assert sorted(returned.scalars()) == [1, 2]
        rows = (await session.execute(text("SELECT id, name FROM item ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "z"), (2, "z"), (3, "c!")]
        assert list((await session.execute(text("SELECT name AS label FROM item WHERE id = 3"))).keys()) == ["label"]
        assert (await session.execute(text("SELECT name FROM item WHERE id = 99"))).first() is None


async def test_errors_arrive_as_sqlalchemy_errors_and_the_connection_lives_on(file_database: Database) -> None:
    with pytest.raises(sqlalchemy.exc.OperationalError, match="no such table"):
        async with file_database.session() as session:
            await session.execute(text("SELECT * FROM missing"))
    async with file_database.session() as session:
        assert (await session.execute(text("SELECT 2"))).scalar_one() == 2


async def test_a_streamed_result_keeps_sqlalchemys_own_cursor(file_database: Database) -> None:
    async with file_database.session() as session:
        result = await session.stream(
            text("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) SELECT x FROM n")
        )
        assert sum([row[0] async for row in result]) == 500 * 501 // 2
    connection = await file_database.engine.connect()
    try:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, aiosqlite.Connection)
        assert type(raw.dbapi_connection.cursor()) is sqlite_driver.OneTripCursor
    finally:
        await connection.close()
