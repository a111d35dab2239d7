"""Deliver the outbox in lanes: each meeting's steps one after another, different meetings side by side.

discord.py, when a request empties a rate-limit bucket, sleeps until the bucket resets before that request returns.
Delivered one after another, one group's fifth event edit or one thread's fifth message in five seconds would stall
every other group's delivery too; in lanes it stalls only its own meeting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from bot.services.outbox import OutboxItem, OutboxService

log = logging.getLogger(__name__)

# Lanes delivering at once: enough to keep Discord's global limit (50 requests/s) busy while some lanes wait out
# their own buckets, few enough that one flush does not flood the database and the event loop.
LANES_AT_ONCE = 32
# Items claimed but not yet delivered. A claim older than the lease may be taken over by another process, so what
# is claimed ahead must be delivered well inside it (`CLAIM_LEASE`, 2 minutes): 500 items take about 10 s at the
# global limit.
CLAIMED_AHEAD = 500

# Items claimed in one go (one transaction).
CLAIM_BATCH = 50

LaneKey = int | tuple[str, int]
Deliver = Callable[[OutboxItem], Awaitable[bool]]


def lane_of(item: OutboxItem) -> LaneKey:
    """Return the lane of an item: its meeting, or its guild for items that belong to no meeting."""
    return item.occurrence_id if item.occurrence_id is not None else ("guild", item.guild_id)


class LaneFlush:
    """One flush of the outbox: claim ahead, and deliver each lane's items in order, lanes side by side."""

    def __init__(
        self,
        outbox: OutboxService,
        deliver: Deliver,
        *,
        lanes_at_once: int = LANES_AT_ONCE,
        claimed_ahead: int = CLAIMED_AHEAD,
        batch: int = CLAIM_BATCH,
    ) -> None:
        self._outbox = outbox
        # Returns False for a failure worth retrying (the item is pending again), True when the item is done with.
        self._deliver = deliver
        self._queues: dict[LaneKey, deque[OutboxItem]] = {}
        self._blocked: set[LaneKey] = set()
        self._lanes: set[asyncio.Task[None]] = set()
        self._room = asyncio.Semaphore(claimed_ahead)
        self._batch = batch
        self._at_once = asyncio.Semaphore(lanes_at_once)
        # Set when new items may be claimable (a meeting fell due while lanes are busy): claim again at once instead
        # of when a lane finishes, so a meeting due during another's opening is not held up by it.
        self._more = asyncio.Event()
        self._claiming = True
        # Set when every lane is done: callers that woke this flush wait for it as for their own.
        self.finished = asyncio.Event()
        self.delivered = 0

    def wake(self) -> bool:
        """Ask a running flush to claim again now; return False if it has stopped claiming (start another)."""
        if not self._claiming:
            return False
        self._more.set()
        return True

    async def add(self, claimed: Sequence[OutboxItem]) -> None:
        """Start delivering items this process has already claimed, in their lanes (`run` waits for them)."""
        await self._queue(claimed)

    async def run(self, *, claim: bool = True) -> int:
        """Deliver every claimable item (with `claim`) and what was added; return how many were delivered."""
        try:
            if claim:
                await self._claim_all()
        except asyncio.CancelledError:
            self._claiming = False
            for lane in self._lanes:
                lane.cancel()
            raise
        finally:
            self._claiming = False
            # Never leave lanes running after the flush: the next one must not deliver beside them. Lanes that have
            # items finish them (they are claimed) even when claiming more failed.
            if self._lanes:
                await asyncio.wait(self._lanes)
            self.finished.set()
        return self.delivered

    async def _claim_all(self) -> None:
        # Claiming stops at the first failure: a blocked lane releases what it is given untried, so claiming on could
        # take the same items back again and again (other lanes' items wait for the next wake-up, a few seconds).
        while not self._blocked:
            self._more.clear()  # before claiming: a wake-up from now on means something new to claim
            items = await self._outbox.claim_batch(self._batch)
            await self._queue(items)
            if len(items) == self._batch:
                continue  # more may be claimable now
            # Everything claimable was claimed. What becomes claimable next (a lane's later step, a meeting falling
            # due) comes with a lane finishing or a wake-up: claiming again at once would find nothing, and would
            # compete with the first deliveries for the database.
            busy = [lane for lane in self._lanes if not lane.done()]
            if not busy:
                self._claiming = False
                return
            woken = asyncio.create_task(self._more.wait())
            try:
                await asyncio.wait([*busy, woken], return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()

    async def _queue(self, items: Sequence[OutboxItem]) -> None:
        """Put claimed items in their lanes, starting a lane for a key that has none."""
        for item in items:
            await self._room.acquire()
            key = lane_of(item)
            queue = self._queues.get(key)
            if queue is not None:
                queue.append(item)
                continue
            queue = self._queues[key] = deque([item])
            lane = asyncio.create_task(self._lane(key, queue))
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)

    async def _lane(self, key: LaneKey, queue: deque[OutboxItem]) -> None:
        async with self._at_once:
            while queue:
                item = queue.popleft()
                try:
                    if key in self._blocked:
                        # Keep the lane's steps in order: the rest waits for the failed one's retry, untried.
                        await self._outbox.release(item.id)
                    elif await self._deliver(item):
                        self.delivered += 1
                    else:
                        self._blocked.add(key)
                except Exception:
                    # Only this lane stops; the item stays claimed until its lease expires, then it is retried.
                    log.exception("Delivering outbox item %s (%s) failed.", item.id, item.kind)
                    self._blocked.add(key)
                finally:
                    self._room.release()
            # Done with the queue (no await since it emptied): a later claim for this key starts a new lane.
            del self._queues[key]
