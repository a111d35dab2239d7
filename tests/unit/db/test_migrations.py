from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.db.engine import Database
from bot.db.migrate import downgrade, head_revision, upgrade
from bot.db.models import Base
from tests.fixtures.db import statements

SOME_TIME = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_migrations_go_up_down_and_up_again(empty_database_url):
    db = Database(empty_database_url)
    try:
        await upgrade(db)
        tables = await table_names(db)
        assert {"guild_config", "app_state", "alembic_version"} <= tables
        await downgrade(db, "base")
        assert await table_names(db) <= {"alembic_version"}
        await upgrade(db)
        assert {"guild_config", "app_state"} <= await table_names(db)
    finally:
        await db.dispose()


async def test_a_database_at_head_is_checked_in_one_read_and_one_behind_is_upgraded(empty_database_url):
    db = Database(empty_database_url)
    try:
        await upgrade(db)
        with statements(db) as seen:
            await upgrade(db)  # what every start does: nothing to migrate
        assert seen == ["SELECT version_num FROM alembic_version"], seen
        await downgrade(db, "-1")
        await upgrade(db)
        async with db.engine.connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert versions == [head_revision()]
        assert set(Base.metadata.tables) <= await table_names(db)
    finally:
        await db.dispose()


async def test_models_and_migrations_do_not_drift(database):
    def diff(sync_connection):
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_every_model_is_created_by_the_migrations(database):
    assert set(Base.metadata.tables) <= await table_names(database)


async def test_sqlite_pragmas_are_set(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}")
    try:
        async with db.engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert (journal, busy, foreign_keys) == ("wal", 5000, 1)
    finally:
        await db.dispose()


async def test_database_folder_is_created(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'deeper' / 'x.sqlite3'}")
    try:
        await upgrade(db)
        assert (tmp_path / "nested" / "deeper" / "x.sqlite3").exists()
    finally:
        await db.dispose()


async def test_pass_the_hat_goes_off_unless_the_group_wrote_its_own_text(empty_database_url):
    db = Database(empty_database_url)
    try:
        await upgrade(db, "0005")
        async with db.engine.begin() as connection:
            own_text = "Our group collects for the hall: ask the facilitator."
            for guild_id, hat_text in ((1, None), (2, own_text), (4, None)):
                await connection.execute(
                    text(
                        "INSERT INTO guild_config (guild_id, pass_the_hat_text, created_at, updated_at) "
                        "VALUES (:guild_id, :hat_text, :now, :now)"
                    ),
                    {"guild_id": guild_id, "hat_text": hat_text, "now": SOME_TIME},
                )
            # Group 4 is in a meeting while the upgrade runs: its phases must not shift under it.
            await connection.execute(
                text(
                    "INSERT INTO meeting_occurrence (guild_id, local_start, starts_at, ends_at, state, title, "
                    "template_slug, location_kind, channel_id, event_requested, phase_nudged, phase_timings, "
                    "started_late, no_facilitator_alerted, created_at) VALUES (4, '2026-12-01T19:00:00', :now, :now, "
                    "'running', 'Tuesday', 'standard-90', 'text', 9, false, false, '[]', false, false, :now)"
                ),
                {"now": SOME_TIME},
            )
        await upgrade(db)
        async with db.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO guild_config (guild_id, created_at, updated_at) VALUES (3, :now, :now)"),
                {"now": SOME_TIME},
            )
            enabled = dict(
                (await connection.execute(text("SELECT guild_id, pass_the_hat_enabled FROM guild_config"))).all()
            )
        assert {guild_id: bool(value) for guild_id, value in enabled.items()} == {1: False, 2: True, 3: False, 4: True}
    finally:
        await db.dispose()
