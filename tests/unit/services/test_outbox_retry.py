"""How the outbox retries a step Discord refused for a passing reason: backing off, in order, and not for ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db.models import MeetingOccurrence, Outbox
from bot.services.outbox import CLAIM_LEASE, MAX_ATTEMPTS, OutboxService, enqueue
from bot.services.outbox_payloads import Message
from tests.fixtures.db import FakeClock

GUILD = 1 << 22
OTHER_GUILD = 2 << 22
START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


async def add_items(database, clock: FakeClock, *lanes: tuple[int, int | None]) -> list[int]:
    """Enqueue one item per (guild, occurrence) given, in order; return their ids."""
    async with database.session() as session:
        for guild_id, occurrence_id in lanes:
            enqueue(
                session,
                clock.now(),
                guild_id,
                Message("x", channel_id=5),
                occurrence_id=occurrence_id,
            )
    async with database.session() as session:
        newest = (await session.scalars(select(Outbox.id).order_by(Outbox.id.desc()).limit(len(lanes)))).all()
        return sorted(newest)


async def add_meeting(database, guild_id: int = GUILD) -> int:
    async with database.session() as session:
        row = MeetingOccurrence(
            guild_id=guild_id,
            local_start="2026-12-01T19:00:00",
            starts_at=START,
            ends_at=START + timedelta(minutes=90),
            state="running",
            title="Tuesday SMART",
            template_slug="standard",
            location_kind="voice",
            channel_id=300,
            created_at=START,
        )
        session.add(row)
        await session.flush()
        return row.id


async def state(database, item_id: int) -> str:
    async with database.session() as session:
        row = await session.get(Outbox, item_id)
        assert row is not None
        return row.state


async def fail_once(outbox: OutboxService) -> int:
    """Claim the one due item and fail it for a passing reason; return its id."""
    [item] = await outbox.claim_batch()
    await outbox.mark_failed(item.id, "HTTP 503 0", permanent=False)
    return item.id


async def test_each_passing_failure_waits_longer_and_next_due_says_until_when(database, clock: FakeClock) -> None:
    clock.set(START)
    await add_items(database, clock, (GUILD, None))
    outbox = OutboxService(database, clock)
    waits = []
    for _try in range(7):
        failed_at = clock.now()
        await fail_once(outbox)
        due = await outbox.next_due()
        assert due is not None
        waits.append(due - failed_at)
        clock.set(due - SECOND)
        assert await outbox.claim_batch() == []  # still backing off
        clock.set(due)
    assert waits == [timedelta(seconds=s) for s in (5, 10, 20, 40, 60, 60, 60)]


async def test_passing_failures_are_given_up_after_about_a_quarter_of_an_hour(database, clock: FakeClock) -> None:
    clock.set(START)
    [item_id] = await add_items(database, clock, (GUILD, None))
    outbox = OutboxService(database, clock)
    for _try in range(MAX_ATTEMPTS):
        assert await state(database, item_id) == "pending"
        await fail_once(outbox)
        due = await outbox.next_due()
        if due is not None:
            clock.set(due)
    assert await state(database, item_id) == "failed"
    assert await outbox.next_due() is None
    # Long enough to ride out an outage of several minutes, short enough that a meeting is not opened after it ended.
    assert timedelta(minutes=10) <= clock.now() - START <= timedelta(minutes=15), clock.now() - START


async def test_a_permanent_failure_gives_up_at_once(database, clock: FakeClock) -> None:
    clock.set(START)
    [item_id] = await add_items(database, clock, (GUILD, None))
    outbox = OutboxService(database, clock)
    [item] = await outbox.claim_batch()
    await outbox.mark_failed(item.id, "forbidden 50013", permanent=True)
    assert await state(database, item_id) == "failed"
    assert await outbox.next_due() is None


async def test_a_meetings_later_steps_wait_behind_its_step_in_back_off_and_others_go_on(
    database, clock: FakeClock
) -> None:
    clock.set(START)
    first, second = await add_meeting(database), await add_meeting(database)
    opening, step, other, dm, later_dm = await add_items(
        database, clock, (GUILD, first), (GUILD, first), (GUILD, second), (GUILD, None), (GUILD, None)
    )
    outbox = OutboxService(database, clock)
    claimed = await outbox.claim_batch()
    assert [item.id for item in claimed] == [opening, step, other, dm, later_dm]
    await outbox.mark_failed(opening, "HTTP 503 0", permanent=False)
    await outbox.release(step)  # delivery puts back, untried, what was queued behind the failed step
    await outbox.mark_sent(other)
    await outbox.mark_failed(dm, "TimeoutError", permanent=False)
    await outbox.release(later_dm)
    # Nothing may go now: each lane's head backs off, and what is behind it must not overtake it.
    assert await outbox.claim_batch() == []
    assert await outbox.next_due() == START + 5 * SECOND
    await add_items(database, clock, (OTHER_GUILD, None))
    # Another guild's item is not held up by this guild's failing one.
    assert [item.guild_id for item in await outbox.claim_batch()] == [OTHER_GUILD]
    clock.set(START + 5 * SECOND)
    assert [item.id for item in await outbox.claim_batch()] == [opening, step, dm, later_dm]


async def test_a_step_behind_a_dead_claim_is_due_when_the_lease_ends_not_at_every_look(
    database, clock: FakeClock
) -> None:
    clock.set(START)
    meeting = await add_meeting(database)
    await add_items(database, clock, (GUILD, meeting))
    outbox = OutboxService(database, clock)
    await outbox.claim_batch()  # the process that claimed it dies here
    clock.set(START + SECOND)
    await add_items(database, clock, (GUILD, meeting))
    assert await outbox.claim_batch() == []
    assert await outbox.next_due() == START + CLAIM_LEASE
