"""Retried deliveries that must not make a second thread or a second event, against the sandbox.

The kills that make these retries happen are in tests/faults/test_outbox_recovery.py; here the retry is handed to
the delivery directly, so each test shows one path: Discord's 160004 for a thread already started from the anchor
message, and the look-up that adopts a scheduled event an earlier try created.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from bot.db.models import MeetingOccurrence, Outbox
from bot.services.outbox import OutboxItem
from tests.e2e.test_meetings import START, schedule_tuesday
from tests.fixtures.bot import BotHarness, Group, configure
from tests.sandbox import errors, rest
from tests.sandbox.models import Channel
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"
EVENTS = "POST /guilds/{guild_id}/scheduled-events"
LIST_EVENTS = "GET /guilds/{guild_id}/scheduled-events"
ANCHOR = "join in the thread below"
OPENING = "Welcome to this SMART Recovery meeting"


def threads(group: Group) -> list[Channel]:
    return [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]


def answers_to(sandbox: Sandbox, route: str) -> list[rest.Reply]:
    """Return a list that collects the sandbox's answers to `route` from now on."""
    answers: list[rest.Reply] = []
    for candidate in sandbox.rest.router._routes:
        if f"{candidate.method} {candidate.template}" == route:
            handler = candidate.handler

            async def recording(sb: Sandbox, call: rest.Call, handler: rest.Handler = handler) -> rest.Reply:
                try:
                    reply = await handler(sb, call)
                except errors.ApiError as exc:  # Discord's error answer
                    answers.append(rest.Reply(status=exc.status, body=exc.body()))
                    raise
                answers.append(reply)
                return reply

            candidate.handler = recording
    return answers


async def retry_of(harness: BotHarness, kind: str, occurrence_id: int, checkpoint: int | None = None) -> OutboxItem:
    """Return the item of `kind` for the occurrence as its second claim would see it."""
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.scalar(select(Outbox).where(Outbox.kind == kind, Outbox.occurrence_id == occurrence_id))
        assert row is not None
        return OutboxItem(
            row.id, row.guild_id, occurrence_id, kind, json.loads(row.payload), attempts=2, checkpoint=checkpoint
        )


async def first_meeting(harness: BotHarness) -> MeetingOccurrence:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.starts_at == START))
        assert row is not None
        return row


async def test_the_thread_starts_from_an_anchor_message_and_a_retry_answered_160004_uses_it(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START)
    (thread,) = threads(group)
    (anchor,) = [m for m in sandbox.channel_messages(group.meetings) if ANCHOR in m.content]
    assert anchor.id == thread.id and "**Tuesday SMART** is starting now" in anchor.content
    assert OPENING in sandbox.channel_messages(thread)[0].content  # the anchor stays outside the thread
    posted = len(sandbox.channel_messages(group.meetings))

    # A retry that got as far as the anchor before (its checkpoint), the thread made but never recorded.
    item = await retry_of(harness, "open_venue", (await first_meeting(harness)).id, checkpoint=anchor.id)
    answers = answers_to(sandbox, THREADS)
    assert harness.bot is not None
    assert await harness.bot.delivery.perform(item) == thread.id
    assert [(a.status, a.body["code"]) for a in answers] == [(400, 160004)]
    assert threads(group) == [thread]
    assert len(sandbox.channel_messages(group.meetings)) == posted  # no second anchor


async def test_a_retried_event_creation_adopts_the_event_an_earlier_try_made(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.idle()
    assert len(group.guild.scheduled_events) == 4
    meeting = await first_meeting(harness)
    made = meeting.event_id
    assert made in group.guild.scheduled_events
    assert harness.bot is not None
    # The earlier try created the event and died before recording it.
    async with harness.bot.database.session() as session:
        await session.execute(update(MeetingOccurrence).where(MeetingOccurrence.id == meeting.id).values(event_id=None))

    lists, creates = answers_to(sandbox, LIST_EVENTS), answers_to(sandbox, EVENTS)
    item = await retry_of(harness, "event_create", meeting.id)
    assert await harness.bot.delivery.perform(item) == made
    assert (len(lists), len(creates), len(group.guild.scheduled_events)) == (1, 0, 4)


async def test_an_event_already_recorded_for_a_meeting_is_not_adopted_and_a_first_try_does_not_look(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.idle()
    meeting = await first_meeting(harness)
    assert harness.bot is not None
    lists, creates = answers_to(sandbox, LIST_EVENTS), answers_to(sandbox, EVENTS)
    item = await retry_of(harness, "event_create", meeting.id)

    # The only event alike is this very meeting's, recorded: another meeting's would be skipped the same way.
    assert await harness.bot.delivery.perform(item) != meeting.event_id
    assert (len(lists), len(creates)) == (1, 1)
    # A first try creates without the look-up: most tries are first tries, and groups create events in bulk.
    first = OutboxItem(item.id, item.guild_id, item.occurrence_id, item.kind, item.payload, attempts=1)
    await harness.bot.delivery.perform(first)
    assert (len(lists), len(creates), len(group.guild.scheduled_events)) == (1, 2, 6)
