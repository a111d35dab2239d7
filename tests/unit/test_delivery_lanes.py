"""Delivery lanes against an outbox kept in memory: order per meeting, limits, and what a failure holds back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

from bot.delivery.lanes import LaneFlush, lane_of
from bot.services.outbox import OutboxItem, OutboxService


@dataclass
class MemoryOutbox:
    """The outbox's claiming rules without a database: oldest first, nothing of a meeting with a step out."""

    items: list[OutboxItem]
    batch: int = 5
    states: dict[int, str] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    claims: int = 0
    most_out: int = 0

    def __post_init__(self) -> None:
        self.states = {item.id: "pending" for item in self.items}
        self.attempts = {item.id: 0 for item in self.items}

    async def claim_batch(self, limit: int | None = None) -> list[OutboxItem]:
        await asyncio.sleep(0)
        self.claims += 1
        busy = {i.occurrence_id for i in self.items if self.states[i.id] == "sending" and i.occurrence_id is not None}
        claimed = [i for i in self.items if self.states[i.id] == "pending" and i.occurrence_id not in busy]
        claimed = claimed[: limit or self.batch]
        for item in claimed:
            self.states[item.id] = "sending"
            self.attempts[item.id] += 1
        self.most_out = max(self.most_out, sum(state == "sending" for state in self.states.values()))
        return claimed

    async def release(self, item_id: int) -> None:
        await asyncio.sleep(0)
        if self.states[item_id] == "sending":
            self.states[item_id] = "pending"
            self.attempts[item_id] -= 1


@dataclass
class Discord:
    """Delivers items a few event-loop turns at a time, recording order and how many were in flight."""

    outbox: MemoryOutbox
    failing: set[int] = field(default_factory=set)
    delivered: list[OutboxItem] = field(default_factory=list)
    tried: list[int] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def deliver(self, item: OutboxItem) -> bool:
        self.tried.append(item.id)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        for _ in range(item.id % 3 + 1):  # items take different times, so lanes overtake one another
            await asyncio.sleep(0)
        self.in_flight -= 1
        if item.id in self.failing:
            self.failing.discard(item.id)
            self.outbox.states[item.id] = "pending"
            return False
        self.outbox.states[item.id] = "sent"
        self.delivered.append(item)
        return True


def items(meetings: int, steps: int, guild_items: int = 0) -> list[OutboxItem]:
    """Return the steps of several meetings interleaved as services enqueue them, plus a few guild items."""
    made: list[OutboxItem] = []
    for step in range(steps):
        for meeting in range(meetings):
            made.append(OutboxItem(len(made) + 1, 1000 + meeting % 7, 100 + meeting, "message", {"step": step}))
    for n in range(guild_items):
        made.append(OutboxItem(len(made) + 1, 1000 + n % 2, None, "message", {}))
    return made


def per_lane(delivered: list[OutboxItem]) -> dict[object, list[int]]:
    lanes: dict[object, list[int]] = {}
    for item in delivered:
        lanes.setdefault(lane_of(item), []).append(item.id)
    return lanes


async def test_every_item_is_delivered_once_each_lane_in_order_within_the_limits() -> None:
    outbox = MemoryOutbox(items(meetings=20, steps=4, guild_items=6))
    discord = Discord(outbox)
    flush = LaneFlush(
        cast(OutboxService, outbox), discord.deliver, lanes_at_once=4, claimed_ahead=8, batch=outbox.batch
    )
    assert await flush.run() == len(outbox.items)
    assert sorted(item.id for item in discord.delivered) == [item.id for item in outbox.items]
    assert all(ids == sorted(ids) for ids in per_lane(discord.delivered).values())
    assert 1 < discord.most_in_flight <= 4
    assert outbox.most_out <= 8 + outbox.batch  # a batch is claimed before room is found for each item
    assert set(outbox.attempts.values()) == {1}


async def test_steps_claimable_only_once_a_lane_is_done_are_claimed_in_the_same_flush() -> None:
    # One meeting's four steps span batches: its later ones are not claimable while an earlier one is out.
    outbox = MemoryOutbox(items(meetings=1, steps=4), batch=2)
    discord = Discord(outbox)
    assert await LaneFlush(cast(OutboxService, outbox), discord.deliver, batch=outbox.batch).run() == 4
    assert [item.id for item in discord.delivered] == [1, 2, 3, 4]


async def test_a_failure_holds_back_only_its_own_lane_untried_and_is_not_retried_in_the_same_flush() -> None:
    outbox = MemoryOutbox(items(meetings=3, steps=3), batch=50)
    first_of_second_meeting = 2
    discord = Discord(outbox, failing={first_of_second_meeting})
    delivered = await LaneFlush(cast(OutboxService, outbox), discord.deliver, batch=outbox.batch).run()
    held = [item.id for item in outbox.items if item.occurrence_id == 101]
    assert delivered == 6 and all(outbox.states[i] == "pending" for i in held)
    assert outbox.attempts[first_of_second_meeting] == 1 and all(outbox.attempts[i] == 0 for i in held[1:])
    assert discord.tried.count(first_of_second_meeting) == 1 and not set(held[1:]) & set(discord.tried)
    # The next flush delivers the held meeting's steps, still in order.
    await LaneFlush(cast(OutboxService, outbox), discord.deliver, batch=outbox.batch).run()
    assert per_lane(discord.delivered)[101] == held


async def test_an_unexpected_error_stops_only_its_own_lane() -> None:
    outbox = MemoryOutbox(items(meetings=2, steps=2), batch=50)
    discord = Discord(outbox)

    async def deliver(item: OutboxItem) -> bool:
        if item.id == 1:
            raise RuntimeError("a bug")
        return await discord.deliver(item)

    assert await LaneFlush(cast(OutboxService, outbox), deliver, batch=outbox.batch).run() == 2
    assert [item.occurrence_id for item in discord.delivered] == [101, 101]
    assert outbox.states[1] == "sending" and outbox.states[3] == "pending"  # retried when the claim's lease expires


async def test_a_cancelled_flush_leaves_no_lane_running() -> None:
    outbox = MemoryOutbox(items(meetings=3, steps=2), batch=50)
    started = asyncio.Event()

    async def hang(item: OutboxItem) -> bool:
        started.set()
        await asyncio.Event().wait()
        return True

    flush = asyncio.create_task(LaneFlush(cast(OutboxService, outbox), hang, batch=outbox.batch).run())
    await started.wait()
    before = asyncio.all_tasks()
    flush.cancel()
    await asyncio.gather(flush, return_exceptions=True)
    assert all(task.done() for task in before if task is not asyncio.current_task())


async def test_a_meeting_due_while_another_is_delivering_is_claimed_at_once_when_woken() -> None:
    slow = OutboxItem(1, 1000, 100, "message", {"step": 0})
    outbox = MemoryOutbox([slow])
    release_slow = asyncio.Event()
    delivered: list[int] = []

    async def deliver(item: OutboxItem) -> bool:
        if item.id == slow.id:
            await release_slow.wait()  # a long opening: thread, posts, panel
        outbox.states[item.id] = "sent"
        delivered.append(item.id)
        return True

    flush = LaneFlush(cast(OutboxService, outbox), deliver, batch=outbox.batch)
    running = asyncio.create_task(flush.run())
    for _ in range(5):
        await asyncio.sleep(0)
    # Another meeting falls due meanwhile: its opening is enqueued and the running flush is woken.
    late = OutboxItem(2, 1001, 101, "message", {"step": 0})
    outbox.items.append(late)
    outbox.states[late.id], outbox.attempts[late.id] = "pending", 0
    assert flush.wake()
    for _ in range(10):
        await asyncio.sleep(0)
    assert delivered == [late.id]  # delivered beside the busy lane, not after it
    release_slow.set()
    assert await running == 2
    assert not flush.wake()  # finished: a new flush must be started instead


async def test_a_batch_smaller_than_the_limit_is_not_followed_by_a_claim_that_finds_nothing() -> None:
    # Everything claimable came in the first batch: the next claim waits for a lane to finish (its later steps
    # might then be claimable), instead of competing with the first delivery for the database at once.
    outbox = MemoryOutbox(items(meetings=2, steps=2), batch=5)
    discord = Discord(outbox)
    assert await LaneFlush(cast(OutboxService, outbox), discord.deliver, batch=outbox.batch).run() == 4
    assert outbox.claims == 2  # the batch, then one claim after the lanes finished, which found nothing
