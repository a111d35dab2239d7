"""Generic SQL helpers the services share: conditional claims, insert-or-ignore, and row counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, ScalarSelect, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import Insert

from bot.db.models import Base


def rowcount(result: Result[Any]) -> int:
    """Return how many rows an executed UPDATE, DELETE or INSERT touched."""
    # `AsyncSession.execute` is typed to return a plain Result, but a DML statement always yields a CursorResult.
    return int(cast(CursorResult[Any], result).rowcount or 0)


def earliest(column: InstrumentedAttribute[Any], *where: ColumnElement[bool]) -> ScalarSelect[Any]:
    """Return the least value of `column` in the rows matching `where`, to read with others in one SELECT."""
    return select(func.min(column)).where(*where).scalar_subquery()


def insert_ignore(is_sqlite: bool, model: type[Base], values: Mapping[str, Any]) -> Insert:
    """Return an INSERT that does nothing when the row exists, on SQLite and PostgreSQL alike."""
    if is_sqlite:
        return sqlite_insert(model).values(**values).on_conflict_do_nothing()
    return pg_insert(model).values(**values).on_conflict_do_nothing()


def _still_as_read(model: type[Base], row_id: int, expected: Mapping[str, Any]) -> list[Any]:
    """Return the WHERE conditions of a claim: the row, with the `expected` column values it was read with."""
    conditions = [getattr(model, "id") == row_id]  # noqa: B009 (Base declares no id; the models that claim do)
    for column, value in expected.items():
        attribute = getattr(model, column)
        conditions.append(attribute.is_(None) if value is None else attribute == value)
    return conditions


async def claim_by_id(
    session: AsyncSession, model: type[Base], row_id: int, *, values: Mapping[str, Any], **expected: Any
) -> bool:
    """Apply `values` to row `row_id` only if it still has the `expected` column values; return whether we won."""
    # The one mechanism behind every state change: of two processes reading the same row, exactly one UPDATE matches.
    result = await session.execute(update(model).where(*_still_as_read(model, row_id, expected)).values(**values))
    return rowcount(result) == 1


async def claim(session: AsyncSession, row: Base, *, values: Mapping[str, Any], **expected: Any) -> bool:
    """Claim a loaded row like `claim_by_id`, and refresh it from the database when we won."""
    model = type(row)
    # RETURNING the whole row refreshes it in the same statement (a separate SELECT was a second round trip on every
    # meeting's start and phase change): on PostgreSQL another process may have changed its other columns since it
    # was read, and the claimed row is what the caller goes on with.
    result = await session.execute(
        update(model)
        .where(*_still_as_read(model, getattr(row, "id"), expected))  # noqa: B009
        .values(**values)
        .returning(model)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return result.scalar_one_or_none() is not None
