"""The outbox: Discord side effects recorded in the same transaction as the state change that causes them.

A service decides "post this opening statement" inside its transaction; the Discord adapter delivers
the row after the commit, using the row id as the message nonce. A crash between the two leaves the
row pending, and the retry either posts it or (nonce) gets back the message already posted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import Outbox
from bot.domain.shards import ShardScope
from bot.services.scope import in_scope

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A claim older than this belongs to a process that died mid-delivery; another may take it over.
CLAIM_LEASE = timedelta(minutes=2)
# How soon a step that failed for a passing reason (5xx, 429, network) is tried again.
RETRY_DELAY = timedelta(seconds=5)


@dataclass(frozen=True)
class OutboxItem:
    """One side effect to deliver."""

    id: int
    guild_id: int
    occurrence_id: int | None
    kind: str
    payload: dict[str, Any]

    @property
    def nonce(self) -> str:
        """Return the nonce that keeps this item's message single however often it is retried."""
        return f"ob{self.id}"


def enqueue(
    session: AsyncSession,
    now: datetime,
    guild_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    occurrence_id: int | None = None,
) -> None:
    """Record a side effect in the caller's transaction."""
    session.add(
        Outbox(
            guild_id=guild_id,
            occurrence_id=occurrence_id,
            kind=kind,
            payload=json.dumps(payload),
            state="pending",
            attempts=0,
            created_at=now,
        )
    )


class OutboxService:
    """Hand pending side effects to the adapter and record how delivery went."""

    def __init__(self, database: Database, clock: Clock, scope: ShardScope | None = None) -> None:
        self._db = database
        self._clock = clock
        # A process delivers only to the guilds it is connected to (its shards).
        self.scope = scope

    async def claim_batch(self, limit: int = 50) -> list[OutboxItem]:
        """Claim pending items, oldest first; each is claimed by exactly one process."""
        now = self._clock.now()
        async with self._db.session() as session:
            candidates = (
                await session.scalars(
                    select(Outbox)
                    .where(
                        or_(
                            Outbox.state == "pending",
                            (Outbox.state == "sending") & (Outbox.claimed_at < now - CLAIM_LEASE),
                        ),
                        in_scope(Outbox.guild_id, self.scope),
                    )
                    .order_by(Outbox.id)
                    .limit(limit)
                )
            ).all()
            # A meeting's steps go out in order: nothing of an occurrence is claimed while an earlier step of
            # it is still claimed by someone (say a process that died mid-delivery, until its lease expires).
            busy = set(
                (
                    await session.scalars(
                        select(Outbox.occurrence_id).where(
                            Outbox.state == "sending",
                            Outbox.claimed_at >= now - CLAIM_LEASE,
                            Outbox.occurrence_id.is_not(None),
                        )
                    )
                ).all()
            )
            claimed: list[OutboxItem] = []
            for row in candidates:
                if row.occurrence_id is not None and row.occurrence_id in busy:
                    continue
                won = await session.execute(
                    update(Outbox)
                    .where(Outbox.id == row.id, Outbox.state == row.state, Outbox.attempts == row.attempts)
                    .values(state="sending", claimed_at=now, attempts=row.attempts + 1)
                )
                if won.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(
                        OutboxItem(row.id, row.guild_id, row.occurrence_id, row.kind, json.loads(row.payload))
                    )
            return claimed

    async def release(self, item_id: int) -> None:
        """Put a claimed item back untried (it waits behind an earlier step); this is not a failed attempt."""
        async with self._db.session() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.id == item_id, Outbox.state == "sending")
                .values(state="pending", claimed_at=None, attempts=Outbox.attempts - 1)
            )

    async def next_due(self) -> datetime | None:
        """Return when delivery should run again: now for pending items, or when a dead claim's lease expires."""
        now = self._clock.now()
        async with self._db.session() as session:
            pending = await session.scalar(
                select(Outbox.id).where(Outbox.state == "pending", in_scope(Outbox.guild_id, self.scope)).limit(1)
            )
            if pending is not None:
                return now + RETRY_DELAY
            claimed = await session.scalar(
                select(func.min(Outbox.claimed_at)).where(
                    Outbox.state == "sending", in_scope(Outbox.guild_id, self.scope)
                )
            )
        return claimed + CLAIM_LEASE if claimed is not None else None

    async def mark_sent(self, item_id: int, result_id: int | None = None) -> None:
        """Record a delivered item."""
        async with self._db.session() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.id == item_id)
                .values(state="sent", sent_at=self._clock.now(), result_id=result_id, error=None)
            )

    async def mark_failed(self, item_id: int, error: str, *, permanent: bool) -> None:
        """Put an item back for a retry, or give up on it after a permanent error or too many attempts."""
        async with self._db.session() as session:
            row = await session.get(Outbox, item_id)
            if row is None:
                return
            row.error = error[:200]
            row.state = "failed" if permanent or row.attempts >= MAX_ATTEMPTS else "pending"
            row.claimed_at = None
        log.warning("Outbox item %s (%s) failed: %s.", item_id, "gave up" if permanent else "will retry", error)

    async def pending_count(self) -> int:
        """Return how many items wait for delivery."""
        async with self._db.session() as session:
            rows = await session.scalars(select(Outbox.id).where(Outbox.state.in_(("pending", "sending"))))
            return len(rows.all())
