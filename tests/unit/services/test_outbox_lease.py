"""A claim whose process died is taken over once its lease (CLAIM_LEASE) is over: it never blocks its lane for good."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models import Outbox
from bot.delivery.lanes import LaneFlush
from bot.services.outbox import CLAIM_LEASE, OutboxItem, OutboxService
from tests.fixtures.db import FakeClock
from tests.unit.services.test_outbox_retry import GUILD, SECOND, START, add_items, add_meeting


async def states(database: Database) -> dict[int, tuple[str, int]]:
    """Return each item's state and attempts."""
    async with database.session() as session:
        return {row.id: (row.state, row.attempts) for row in (await session.scalars(select(Outbox))).all()}


async def test_an_expired_claim_is_claimed_again_and_its_lane_follows(database: Database, clock: FakeClock) -> None:
    clock.set(START)
    meeting = await add_meeting(database)
    opening, step = await add_items(database, clock, (GUILD, meeting), (GUILD, meeting))
    # A process claims the meeting's first step and dies before marking it: no mark_sent, mark_failed or release.
    dead = OutboxService(database, clock)
    assert [item.id for item in await dead.claim_batch(limit=1)] == [opening]

    # Under the lease nothing of the meeting is claimed: the dead process might still be delivering it.
    alive = OutboxService(database, clock)
    assert await alive.claim_batch() == []
    assert await alive.next_due() == START + CLAIM_LEASE
    clock.set(START + CLAIM_LEASE - SECOND)
    assert await alive.claim_batch() == []

    # Past the lease the step is claimed again, as a retry (its second attempt), and the step behind it with it.
    clock.set(START + CLAIM_LEASE + SECOND)
    retried = await alive.claim_batch()
    assert [(item.id, item.attempts) for item in retried] == [(opening, 2), (step, 1)]
    for item in retried:
        await alive.mark_sent(item.id, 1000 + item.id)
    assert await states(database) == {opening: ("sent", 2), step: ("sent", 1)}
    assert await alive.next_due() is None


async def test_delivery_after_the_lease_sends_the_dead_claim_and_everything_behind_it(
    database: Database, clock: FakeClock
) -> None:
    clock.set(START)
    meeting, other = await add_meeting(database), await add_meeting(database)
    opening, step, last, elsewhere, guild_item = await add_items(
        database, clock, (GUILD, meeting), (GUILD, meeting), (GUILD, meeting), (GUILD, other), (GUILD, None)
    )
    dead = OutboxService(database, clock)
    assert [item.id for item in await dead.claim_batch(limit=1)] == [opening]

    delivered: list[int] = []

    async def deliver(item: OutboxItem) -> bool:
        delivered.append(item.id)
        await outbox.mark_sent(item.id, 1000 + item.id)
        return True

    # Under the lease a flush delivers the other lanes; the meeting's lane waits behind its dead claim.
    outbox = OutboxService(database, clock)
    assert await LaneFlush(outbox, deliver).run() == 2
    assert sorted(delivered) == [elsewhere, guild_item]
    clock.advance(seconds=CLAIM_LEASE.total_seconds() / 2)
    assert await LaneFlush(outbox, deliver).run() == 0

    # Once the lease is over the same flush delivers the whole lane, in order.
    clock.set(START + CLAIM_LEASE + SECOND)
    delivered.clear()
    assert await LaneFlush(outbox, deliver).run() == 3
    assert delivered == [opening, step, last]
    assert {state for state, _attempts in (await states(database)).values()} == {"sent"}
