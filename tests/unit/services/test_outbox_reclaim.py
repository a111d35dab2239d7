"""At start-up a process takes back the outbox claims its dead predecessor left, where no live process can hold them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models import Outbox
from bot.domain.shards import SHARD_SHIFT, ShardScope
from bot.services.outbox import CLAIM_LEASE, OutboxService
from tests.fixtures.db import FakeClock
from tests.unit.services.test_outbox_retry import SECOND, START, add_items, add_meeting

GUILD_ON_SHARD_0 = 4 << SHARD_SHIFT
GUILD_ON_SHARD_1 = 5 << SHARD_SHIFT
SHARD_0, SHARD_1 = ShardScope(2, (0,)), ShardScope(2, (1,))


async def rows(database: Database) -> dict[int, tuple[str, int, int | None]]:
    """Return each item's state, attempts and result_id (the checkpoint while it is unsent)."""
    async with database.session() as session:
        found = (await session.scalars(select(Outbox))).all()
        return {row.id: (row.state, row.attempts, row.result_id) for row in found}


async def test_a_restarted_process_takes_back_its_own_guilds_claims_and_nothing_else(
    database: Database, clock: FakeClock
) -> None:
    clock.set(START)
    meeting, theirs_meeting = (
        await add_meeting(database, GUILD_ON_SHARD_0),
        await add_meeting(database, GUILD_ON_SHARD_1),
    )
    sent, opening, step, dm, theirs = await add_items(
        database,
        clock,
        (GUILD_ON_SHARD_0, meeting),
        (GUILD_ON_SHARD_0, meeting),
        (GUILD_ON_SHARD_0, meeting),
        (GUILD_ON_SHARD_0, None),
        (GUILD_ON_SHARD_1, theirs_meeting),
    )
    # The process on shard 0 claims ahead, sends the first step, gets halfway through the next, and is killed.
    dead = OutboxService(database, clock, SHARD_0)
    assert [item.id for item in await dead.claim_batch()] == [sent, opening, step, dm]
    await dead.mark_sent(sent, 11)
    await dead.record_checkpoint(opening, 777)
    # Meanwhile the process on shard 1 is alive and delivering its own step.
    assert [item.id for item in await OutboxService(database, clock, SHARD_1).claim_batch()] == [theirs]
    clock.set(START + SECOND)
    [later] = await add_items(database, clock, (GUILD_ON_SHARD_0, meeting))
    before = await rows(database)

    restarted = OutboxService(database, clock, SHARD_0)
    assert await restarted.reclaim_orphans() == 3

    after = await rows(database)
    # Put back as they were before the claim, except that the dead try still counts (it may have reached Discord).
    assert {item: after[item] for item in (opening, step, dm)} == {
        opening: ("pending", 1, 777),
        step: ("pending", 1, None),
        dm: ("pending", 1, None),
    }
    # Sent and pending items, and the other process's live claim, are left alone.
    assert {item: after[item] for item in (sent, later, theirs)} == {
        item: before[item] for item in (sent, later, theirs)
    }
    assert after[theirs][0] == "sending"
    # Claimable at once, not after the lease, in order, and the retry knows it is one and how far the try got.
    claimed = await restarted.claim_batch()
    assert [item.id for item in claimed] == [opening, step, dm, later]
    assert (claimed[0].attempts, claimed[0].checkpoint) == (2, 777)
    assert await OutboxService(database, clock, SHARD_1).claim_batch() == []  # theirs is still under its lease


async def test_an_unscoped_process_takes_back_claims_on_sqlite_but_not_on_postgresql(
    database: Database, clock: FakeClock
) -> None:
    clock.set(START)
    meeting = await add_meeting(database)
    opening, step = await add_items(database, clock, (GUILD_ON_SHARD_0, meeting), (GUILD_ON_SHARD_0, meeting))
    [claimed] = await OutboxService(database, clock).claim_batch(limit=1)
    assert claimed.id == opening
    restarted = OutboxService(database, clock)
    if database.is_sqlite:
        # One process by design: whatever is claimed was claimed by a process that has died.
        assert await restarted.reclaim_orphans() == 1
        assert [item.id for item in await restarted.claim_batch()] == [opening, step]
    else:
        # Other unscoped processes may be delivering it right now: only the lease frees it.
        assert await restarted.reclaim_orphans() == 0
        assert await restarted.claim_batch() == []
        assert await restarted.next_due() == START + CLAIM_LEASE


@pytest.mark.parametrize(
    ("is_sqlite", "scope", "owns"),
    [
        (True, None, True),
        (True, ShardScope(2, (1,)), True),
        (False, None, False),
        (False, ShardScope(4), False),  # SHARD_COUNT alone: this process may share every shard with others
        (False, ShardScope(4, (2, 3)), True),
        (False, ShardScope(1, (0,)), True),  # SHARD_IDS given: the operator gave this process its shards alone
    ],
)
def test_claims_are_taken_back_only_where_no_other_live_process_can_hold_them(
    is_sqlite: bool, scope: ShardScope | None, owns: bool
) -> None:
    database = cast(Database, SimpleNamespace(is_sqlite=is_sqlite))
    assert OutboxService(database, FakeClock(), scope).owns_its_claims is owns


async def test_an_unscoped_process_on_postgresql_reclaims_nothing_without_asking_the_database() -> None:
    database = cast(Database, SimpleNamespace(is_sqlite=False))  # any query would fail: it has no session()
    assert await OutboxService(database, FakeClock()).reclaim_orphans() == 0
