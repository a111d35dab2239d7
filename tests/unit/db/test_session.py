import asyncio

import pytest
from sqlalchemy import func, select

from bot.db.engine import Database
from bot.db.models import AppState, GuildConfig


async def test_session_commits_on_success(database, clock):
    async with database.session() as session:
        session.add(AppState(key="k", value="v", updated_at=clock.now()))
    async with database.session() as session:
        row = await session.get(AppState, "k")
        assert row is not None
        assert row.value == "v"
        assert row.updated_at == clock.now()  # aware UTC on every backend


async def test_session_rolls_back_on_error(database, clock):
    with pytest.raises(RuntimeError):
        async with database.session() as session:
            session.add(GuildConfig(guild_id=1, created_at=clock.now(), updated_at=clock.now()))
            await session.flush()
            raise RuntimeError("boom")
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(GuildConfig)) == 0


async def test_naive_datetimes_are_refused(database, clock):
    with pytest.raises(Exception, match="naive datetime"):
        async with database.session() as session:
            session.add(AppState(key="k", value="v", updated_at=clock.now().replace(tzinfo=None)))


async def test_a_database_opened_again_in_the_process_compiles_no_statement_again(migrated_database_url):
    # A statement no other test runs, so that the first engine's is the first compilation of it in this process.
    query = select(AppState.value).where(AppState.key == "k", AppState.value.like("statement-cache-%"))
    first, again = Database(migrated_database_url), Database(migrated_database_url)
    try:
        async with first.engine.connect() as connection:
            result = await connection.execute(query)
            assert result.context.cache_hit == result.context.dialect.CACHE_MISS
        async with again.engine.connect() as connection:
            result = await connection.execute(query)
            assert result.context.cache_hit == result.context.dialect.CACHE_HIT
            assert result.all() == []
    finally:
        await first.dispose()
        await again.dispose()


class HeldSession:
    """A session that writes a row and stays open until released: a command still finishing as the bot closes."""

    def __init__(self, database: Database, clock) -> None:
        self.opened, self.release = asyncio.Event(), asyncio.Event()
        self.task = asyncio.create_task(self._hold(database, clock))

    async def _hold(self, database: Database, clock) -> None:
        async with database.session() as session:
            session.add(AppState(key="late", value="kept", updated_at=clock.now()))
            await session.flush()
            self.opened.set()
            await self.release.wait()


async def test_closing_the_database_waits_for_a_session_still_open_and_keeps_its_write(migrated_database_url, clock):
    database = Database(migrated_database_url)
    held = HeldSession(database, clock)
    await held.opened.wait()
    closing = asyncio.create_task(database.dispose())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not closing.done()  # the session holds its connection: closing waits for it
    held.release.set()
    await held.task
    await closing
    assert database.engine.pool.checkedout() == 0
    again = Database(migrated_database_url)
    try:
        async with again.session() as session:
            assert (await session.get(AppState, "late")).value == "kept"
    finally:
        await again.dispose()


async def test_closing_the_database_waits_for_an_open_session_only_so_long(migrated_database_url, clock, caplog):
    database = Database(migrated_database_url)
    held = HeldSession(database, clock)
    await held.opened.wait()
    await database.dispose(grace=0)
    assert "still open" in caplog.text
    held.release.set()
    await held.task
    await database.dispose()


async def test_two_closes_at_once_both_end_when_the_open_session_closes(migrated_database_url, clock, caplog):
    database = Database(migrated_database_url)
    held = HeldSession(database, clock)
    await held.opened.wait()
    # The bot closed twice (a second signal): each close waits for the same session.
    closes = [asyncio.create_task(database.dispose()) for _ in range(2)]
    await asyncio.sleep(0)
    held.release.set()
    await held.task
    await asyncio.gather(*closes)
    assert "still open" not in caplog.text  # neither waited out its grace
