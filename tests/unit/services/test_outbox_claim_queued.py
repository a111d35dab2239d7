"""A meeting's start claims the opening steps it queued, in its own transaction, unless an earlier step is in flight."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bot.db.engine import Database
from bot.domain.meeting_format import load_templates
from bot.domain.tools import default_content_dir, load_library
from bot.services.meetings.runner import MeetingRunner
from bot.services.outbox import OutboxItem, OutboxService, claim_queued, enqueue
from bot.services.outbox_payloads import Message
from tests.faults.test_two_processes import DUE, OPENING_KINDS, seed
from tests.fixtures.db import FakeClock
from tests.unit.services.test_outbox_lease import states
from tests.unit.services.test_outbox_retry import GUILD, START, add_items, add_meeting


async def queue_and_claim(database: Database, clock: FakeClock, meeting: int, texts: tuple[str, ...]) -> list:
    async with database.session() as session:
        for text in texts:
            enqueue(session, clock.now(), GUILD, Message(text, channel_id=5), occurrence_id=meeting)
        return await claim_queued(session, clock.now(), meeting)


async def test_the_queued_steps_are_claimed_in_order_for_this_process(database: Database, clock: FakeClock) -> None:
    clock.set(START)
    meeting, other = await add_meeting(database), await add_meeting(database)
    [elsewhere] = await add_items(database, clock, (GUILD, other))  # another meeting's step is none of its business
    claimed = await queue_and_claim(database, clock, meeting, ("thread", "statement", "panel"))
    assert [item.payload["content"] for item in claimed] == ["thread", "statement", "panel"]
    assert [item.attempts for item in claimed] == [1, 1, 1] and claimed == sorted(claimed, key=lambda item: item.id)
    rows = await states(database)
    assert [rows[item.id] for item in claimed] == [("sending", 1)] * 3
    # Nobody else claims them (nor the meeting's later steps) while this process delivers them.
    assert [item.id for item in await OutboxService(database, clock).claim_batch()] == [elsewhere]


async def test_behind_an_earlier_step_still_to_deliver_nothing_is_claimed(database: Database, clock: FakeClock) -> None:
    clock.set(START)
    meeting = await add_meeting(database)
    [earlier] = await add_items(database, clock, (GUILD, meeting))  # say the meeting's event, not yet made
    assert await queue_and_claim(database, clock, meeting, ("thread", "statement")) == []
    rows = await states(database)
    assert set(rows.values()) == {("pending", 0)}
    # The usual claim takes them all, the earlier step first.
    claimed = await OutboxService(database, clock).claim_batch()
    assert claimed[0].id == earlier and len(claimed) == 3


async def test_each_meeting_due_is_handed_to_delivery_before_the_next_one_is_started(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(database, 2)
    clock.set(DUE + timedelta(seconds=1))
    runner = MeetingRunner(database, clock, load_templates(), load_library(default_content_dir()))
    events: list[tuple[str, int | None]] = []
    handed: list[Counter[str]] = []
    start_one = runner._start_one

    async def recorded(occurrence_id: int, *args: Any, **kwargs: Any) -> bool:
        events.append(("start", occurrence_id))
        return await start_one(occurrence_id, *args, **kwargs)

    def deliver(items: list[OutboxItem]) -> None:
        events.append(("deliver", items[0].occurrence_id))
        handed.append(Counter(item.kind for item in items))

    monkeypatch.setattr(runner, "_start_one", recorded)
    await runner.start_due(deliver)
    first, second = events[0][1], events[2][1]
    assert events == [("start", first), ("deliver", first), ("start", second), ("deliver", second)]
    assert handed == [OPENING_KINDS, OPENING_KINDS]  # each meeting's whole opening, claimed with its start
