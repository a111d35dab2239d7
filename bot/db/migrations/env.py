"""Alembic environment: runs on a connection handed in by the bot, or on a URL passed in for the alembic CLI."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db.models import Base, UTCDateTime
from bot.db.urls import DEFAULT_DATABASE_URL

target_metadata = Base.metadata


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations must not import the models: render our UTC type as the plain column type it wraps.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # Batch mode lets ALTER TABLE work on SQLite by copying the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def standalone_url() -> str:
    # Passed in: `alembic -x database_url=...`, or `sqlalchemy.url` in the config; else the environment's, else
    # the default. The settings are not read here: migrations depend on the database alone.
    passed = context.get_x_argument(as_dictionary=True).get("database_url")
    return (
        passed
        or context.config.get_main_option("sqlalchemy.url")
        or os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )


async def run_standalone() -> None:
    engine = create_async_engine(standalone_url())
    async with engine.begin() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_standalone())
