"""Limit a query to the guilds this process looks after (several processes share one PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal_column, true
from sqlalchemy.orm import InstrumentedAttribute

from bot.domain.shards import SHARD_SHIFT, ShardScope


def in_scope(column: InstrumentedAttribute[int], scope: ShardScope | None) -> ColumnElement[bool]:
    """Return a WHERE clause keeping rows of guilds on this process's shards."""
    if scope is None or scope.everything:
        return true()
    # PostgreSQL has `bigint >> integer` only, so the shift is written into the SQL as a plain integer.
    shard = column.op(">>")(literal_column(str(SHARD_SHIFT))).op("%")(scope.count)
    return shard.in_(list(scope.ids or ()))
