"""The outbox: Discord side effects recorded in the same transaction as the state change that causes them.

A service decides "post this opening statement" inside its transaction; the Discord adapter delivers
the row after the commit, using the row id as the message nonce. A crash between the two leaves the
row pending, and the retry either posts it or (nonce) gets back the message already posted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import earliest, rowcount
from bot.db.models import Outbox
from bot.domain.shards import ShardScope
from bot.domain.states import OutboxState
from bot.services.outbox_payloads import OutboxPayload, parse_payload
from bot.services.scope import in_scope

log = logging.getLogger(__name__)

# A claim older than this belongs to a process that died mid-delivery; another may take it over.
CLAIM_LEASE = timedelta(minutes=2)
# How soon a step that failed for a passing reason (5xx, 429, network) is first tried again; each further failure
# doubles the wait, up to RETRY_DELAY_CAP, so that an outage is ridden out without hammering Discord meanwhile.
RETRY_DELAY = timedelta(seconds=5)
RETRY_DELAY_CAP = timedelta(minutes=1)
# Tries before a step failing for passing reasons is given up: waits of 5, 10, 20, 40 s and then a minute each make
# this about 14 minutes after the first failure. A meeting's opening a few minutes late is still worth posting (the
# meeting runs on in its thread); after a quarter of an hour the people have gone, and later steps must not wait on it.
MAX_ATTEMPTS = 18
# A delivered item (sent, or given up) keeps its payload (a DM's recipient id, a message's text) this long, for
# diagnosing a delivery; then the daily purge blanks it. Nothing reads a payload after delivery: a cover request's
# message id lives on its rota row, a meeting's messages on its occurrence. The row itself (kind, state, times) stays,
# so the outbox's history of what was delivered, and its ids, are unchanged.
DELIVERED_KEPT = timedelta(hours=24)
PURGED_PAYLOAD = "{}"


@dataclass(frozen=True)
class OutboxItem:
    """One side effect to deliver."""

    id: int
    guild_id: int
    occurrence_id: int | None
    kind: str
    # As stored; `typed()` reads it as the payload type of its kind.
    payload: dict[str, Any]
    # Which claim of the item this is: past the first, an earlier try may have reached Discord before it died.
    attempts: int = 1
    # How far an earlier try of a delivery made of several requests got (see `record_checkpoint`).
    checkpoint: int | None = None

    @property
    def nonce(self) -> str:
        """Return the nonce that keeps this item's message single however often it is retried."""
        return f"ob{self.id}"

    def typed(self) -> OutboxPayload:
        """Return the payload as its kind's type (LookupError for a kind this code does not know)."""
        return parse_payload(self.kind, self.payload)


def enqueue(
    session: AsyncSession, now: datetime, guild_id: int, payload: OutboxPayload, *, occurrence_id: int | None = None
) -> None:
    """Record a side effect in the caller's transaction."""
    session.add(
        Outbox(
            guild_id=guild_id,
            occurrence_id=occurrence_id,
            kind=payload.kind,
            payload=json.dumps(payload.to_json()),
            state=OutboxState.PENDING,
            attempts=0,
            created_at=now,
        )
    )


async def claim_queued(session: AsyncSession, now: datetime, occurrence_id: int) -> list[OutboxItem]:
    """Claim the steps this transaction queued for an occurrence, for this process to deliver once it commits.

    Saves a claim's round trips between a meeting's start and its opening posts. Only when none of the occurrence's
    earlier steps is still to deliver (say its event's creation, backing off): its steps go out in order.
    """
    queued = [row for row in session.new if isinstance(row, Outbox) and row.occurrence_id == occurrence_id]
    if not queued:
        return []
    with session.no_autoflush:  # the queued rows must not count as earlier steps
        earlier = await session.scalar(
            select(Outbox.id)
            .where(Outbox.occurrence_id == occurrence_id, Outbox.state.in_((OutboxState.PENDING, OutboxState.SENDING)))
            .limit(1)
        )
    if earlier is not None:
        return []
    for row in queued:
        row.state, row.claimed_at, row.attempts = OutboxState.SENDING, now, 1
    await session.flush()  # gives the rows their ids, which are the items' nonces
    return [
        OutboxItem(row.id, row.guild_id, row.occurrence_id, row.kind, json.loads(row.payload))
        for row in sorted(queued, key=lambda row: row.id)
    ]


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
                    .where(await _claimable(session, now), in_scope(Outbox.guild_id, self.scope))
                    .order_by(Outbox.id)
                    .limit(limit)
                )
            ).all()
            if not candidates:
                return []
            # One UPDATE for the batch, each row claimed only if it is still as read (state and attempts): a row
            # another process claimed meanwhile no longer matches, so each item is claimed by exactly one process.
            # On PostgreSQL a row locked by a concurrent claim is re-checked against this condition once it commits.
            as_read = [(row.id, row.state, row.attempts) for row in candidates]
            won = set(
                (
                    await session.scalars(
                        update(Outbox)
                        .where(tuple_(Outbox.id, Outbox.state, Outbox.attempts).in_(as_read))
                        .values(state=OutboxState.SENDING, claimed_at=now, attempts=Outbox.attempts + 1)
                        .returning(Outbox.id)
                        .execution_options(synchronize_session=False)
                    )
                ).all()
            )
            claimed = [
                OutboxItem(
                    row.id,
                    row.guild_id,
                    row.occurrence_id,
                    row.kind,
                    json.loads(row.payload),
                    attempts=row.attempts + 1,  # this claim included
                    checkpoint=row.result_id,
                )
                for row in candidates
                if row.id in won
            ]
            return claimed

    async def release(self, item_id: int) -> None:
        """Put a claimed item back untried (it waits behind an earlier step); this is not a failed attempt."""
        async with self._db.session() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.id == item_id, Outbox.state == OutboxState.SENDING)
                .values(state=OutboxState.PENDING, claimed_at=None, attempts=Outbox.attempts - 1)
            )

    @property
    def owns_its_claims(self) -> bool:
        """Return whether no other live process can hold claims on this process's guilds."""
        # SQLite is one process by design, and a process given SHARD_IDS runs its shards alone (docs/HOSTING.md).
        # Processes on PostgreSQL without SHARD_IDS may all look after every guild: a claim may be a live one's.
        return self._db.is_sqlite or (self.scope is not None and self.scope.ids is not None)

    async def reclaim_orphans(self) -> int:
        """Put back the claims a dead predecessor left on this process's guilds; return how many (call at start-up)."""
        if not self.owns_its_claims:
            # Another process may be delivering these right now: leave them to their lease (CLAIM_LEASE).
            log.info("Not taking back outbox claims at start-up: other processes may share these guilds.")
            return 0
        async with self._db.session() as session:
            # Claimable at once, rather than after the lease: until then the item, and every later step of its lane,
            # would wait. `attempts` stays as it is: the dead try may have reached Discord (a scheduled event, which
            # takes no nonce, is looked for before it is made again only on a retry), and `result_id` keeps its
            # checkpoint (how far that try got).
            reclaimed = await session.execute(
                update(Outbox)
                .where(Outbox.state == OutboxState.SENDING, in_scope(Outbox.guild_id, self.scope))
                .values(state=OutboxState.PENDING, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
            count: int = rowcount(reclaimed)
        log.info("Took back %d outbox claim(s) that a previous run left unfinished.", count)
        return count

    async def next_due(self, session: AsyncSession | None = None) -> datetime | None:
        """Return the earliest instant a claim would find something: now, a failed step's retry, or a lease's end."""
        if session is None:
            async with self._db.session() as session:
                return await self.next_due(session)
        now = self._clock.now()
        scope = in_scope(Outbox.guild_id, self.scope)
        ready = await session.scalar(select(Outbox.id).where(await _claimable(session, now), scope).limit(1))
        if ready is not None:
            return now
        retry, claimed = (
            await session.execute(
                select(
                    # Only the first of a lane's failed steps counts: what waits behind it goes when it does.
                    earliest(
                        Outbox.claimed_at,
                        Outbox.state == OutboxState.PENDING,
                        Outbox.claimed_at > now,
                        ~_waits_in_lane(now),
                        scope,
                    ),
                    earliest(Outbox.claimed_at, Outbox.state == OutboxState.SENDING, scope),
                )
            )
        ).one()
        due = [when for when in (retry, claimed + CLAIM_LEASE if claimed is not None else None) if when is not None]
        return min(due) if due else None

    async def record_checkpoint(self, item_id: int, checkpoint: int) -> None:
        """Record what the first request of a delivery made, so that a retry after a crash carries on from it."""
        # Kept in result_id until the item is sent: the one delivery that uses it (a meeting thread started from
        # an anchor message) ends with the same id there, as a thread takes its starting message's id.
        async with self._db.session() as session:
            await session.execute(update(Outbox).where(Outbox.id == item_id).values(result_id=checkpoint))

    async def mark_sent(
        self,
        item_id: int,
        result_id: int | None = None,
        *,
        record: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        """Record a delivered item, and with it (in the same transaction) what `record` stores of its result."""
        async with self._db.session() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.id == item_id)
                .values(state=OutboxState.SENT, sent_at=self._clock.now(), result_id=result_id, error=None)
            )
            if record is not None:
                await record(session)

    async def mark_failed(self, item_id: int, error: str, *, permanent: bool) -> None:
        """Put an item back for a retry after its back-off, or give up on it (permanent error, too many attempts)."""
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(Outbox, item_id)
            if row is None:
                return
            row.error = error[:200]
            gave_up = permanent or row.attempts >= MAX_ATTEMPTS
            row.state = OutboxState.FAILED if gave_up else OutboxState.PENDING
            # On a pending item that failed, claimed_at is when it may be claimed again (see `_claimable`).
            row.claimed_at = None if gave_up else now + retry_delay(row.attempts)
            attempts = row.attempts
        outcome = "giving up" if gave_up else "will retry"
        log.warning("Outbox item %s failed (attempt %s), %s: %s.", item_id, attempts, outcome, error)

    async def purge_delivered(self) -> int:
        """Blank the payloads of items delivered or given up more than DELIVERED_KEPT ago; return how many."""
        cutoff = self._clock.now() - DELIVERED_KEPT
        async with self._db.session() as session:
            # A failed item has no sent_at; it was given up within a quarter of an hour of its first try, so its
            # creation is a safe stand-in.
            result = await session.execute(
                update(Outbox)
                .where(
                    or_(
                        (Outbox.state == OutboxState.SENT) & (Outbox.sent_at < cutoff),
                        (Outbox.state == OutboxState.FAILED) & (Outbox.created_at < cutoff),
                    ),
                    Outbox.payload != PURGED_PAYLOAD,
                )
                .values(payload=PURGED_PAYLOAD)
                .execution_options(synchronize_session=False)
            )
            count = rowcount(result)
        if count:
            log.info("Blanked the payloads of %d delivered outbox item(s) older than %s.", count, DELIVERED_KEPT)
        return count

    async def pending_count(self) -> int:
        """Return how many items wait for delivery."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Outbox.id).where(Outbox.state.in_((OutboxState.PENDING, OutboxState.SENDING)))
            )
            return len(rows.all())


def retry_delay(attempts: int) -> timedelta:
    """Return how long an item that has failed `attempts` times for a passing reason waits before its next try."""
    doublings = min(max(attempts - 1, 0), 16)  # past the cap long before; bounded so that the product cannot overflow
    return min(RETRY_DELAY * (1 << doublings), RETRY_DELAY_CAP)


# The lane checks compare each item with the other steps of its lane. Aliased once: making an alias inspects the
# mapper, and the claim and the delivery's next wake-up build these clauses at every run.
_OTHER_STEP = aliased(Outbox)
_EARLIER_STEP = aliased(Outbox)


async def _claimable(session: AsyncSession, now: datetime) -> ColumnElement[bool]:
    """Return the WHERE clause of the items a claim may take at `now`."""
    # A pending item is due unless it failed and its back-off runs on; a claimed one once its claim's lease is over.
    due = or_(
        (Outbox.state == OutboxState.PENDING) & (Outbox.claimed_at.is_(None) | (Outbox.claimed_at <= now)),
        (Outbox.state == OutboxState.SENDING) & (Outbox.claimed_at < now - CLAIM_LEASE),
    )
    # A meeting's steps go out in order: nothing of an occurrence is claimed while a step of it is still claimed by
    # someone (say a process that died mid-delivery, until its lease expires).
    other = _OTHER_STEP
    busy = (
        select(other.id)
        .where(
            other.occurrence_id == Outbox.occurrence_id,
            other.state == OutboxState.SENDING,
            other.claimed_at >= now - CLAIM_LEASE,
        )
        .exists()
    )
    # The lane check reads the pending rows for each candidate: leave it out when no step backs off (most of the time).
    backing_off = await session.scalar(
        select(Outbox.id).where(Outbox.state == OutboxState.PENDING, Outbox.claimed_at > now).limit(1)
    )
    return due & ~busy if backing_off is None else due & ~busy & ~_waits_in_lane(now)


def _waits_in_lane(now: datetime) -> ColumnElement[bool]:
    """Return a clause true of items behind an earlier step of their lane that waits out its back-off."""
    # Lanes as delivery keeps them: an occurrence's steps, or a guild's items that belong to no meeting.
    earlier = _EARLIER_STEP
    same_lane = or_(
        earlier.occurrence_id == Outbox.occurrence_id,
        earlier.occurrence_id.is_(None) & Outbox.occurrence_id.is_(None) & (earlier.guild_id == Outbox.guild_id),
    )
    return (
        select(earlier.id)
        .where(earlier.id < Outbox.id, earlier.state == OutboxState.PENDING, earlier.claimed_at > now, same_lane)
        .exists()
    )
