"""How a retried outbox item learns that it was tried before, and how far that try got."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.outbox import OutboxService, enqueue
from bot.services.outbox_payloads import OpenVenue

GUILD = 1 << 22


async def _outbox_with_a_thread_to_open(database, clock) -> OutboxService:
    """Return the outbox with one meeting thread to open, due now."""
    clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    async with database.session() as session:
        enqueue(session, clock.now(), GUILD, OpenVenue(channel_id=5, name="SMART"))
    return OutboxService(database, clock)


async def test_a_retried_item_knows_its_attempt_and_the_checkpoint_of_the_try_before(database, clock):
    outbox = await _outbox_with_a_thread_to_open(database, clock)
    [first] = await outbox.claim_batch()
    assert (first.attempts, first.checkpoint) == (1, None)
    await outbox.record_checkpoint(first.id, 777)
    # The process dies here; once the claim's lease (and any back-off) is over, another claim resumes the item.
    clock.set(clock.now() + timedelta(hours=1))
    [second] = await outbox.claim_batch()
    assert (second.id, second.attempts, second.checkpoint) == (first.id, 2, 777)
    await outbox.mark_sent(second.id, 777)
    assert await outbox.claim_batch() == []


async def test_an_item_is_marked_sent_only_together_with_what_its_result_stores(database, clock):
    outbox = await _outbox_with_a_thread_to_open(database, clock)
    [item] = await outbox.claim_batch()

    async def storing_the_thread_fails(session: AsyncSession) -> None:
        raise RuntimeError("the thread's id could not be stored")

    with pytest.raises(RuntimeError):
        await outbox.mark_sent(item.id, 777, record=storing_the_thread_fails)
    # Not sent: once the claim's lease is over the item is tried again, and resumes from its thread.
    clock.set(clock.now() + timedelta(hours=1))
    [again] = await outbox.claim_batch()
    assert again.id == item.id
