"""How the outbox recovers from a kill in the middle of a delivery, or from Discord refusing requests for a while.

Each test isolates one way a step can go missing, twice, late or out of order; the sweep in test_kills.py
finds them all together over a whole meeting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Outbox
from tests.e2e.test_meetings import START, schedule_tuesday
from tests.faults.killswitch import AFTER, ANSWER_LOST, BEFORE, KillSwitch, RequestPoint, run_step
from tests.fixtures.bot import BotHarness, Group, configure
from tests.sandbox.models import Channel
from tests.sandbox.rest import Call, Reply
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"
MESSAGES = "POST /channels/{channel_id}/messages"
EVENTS = "POST /guilds/{guild_id}/scheduled-events"
OPENING = "Welcome to this SMART Recovery meeting"
CLOSING = "This meeting has ended"


def threads(group: Group) -> list[Channel]:
    return [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]


def texts(sandbox: Sandbox, channel: Channel) -> list[str]:
    return [m.content for m in sandbox.channel_messages(channel)]


def panel_text(sandbox: Sandbox, thread: Channel) -> str:
    return next(text for text in texts(sandbox, thread) if "Facilitator panel" in text)


def after_the_thread_is_created(sandbox: Sandbox, then: Callable[[], object]) -> None:
    """Call `then` once Discord has created a thread (the anchor message before it is posted untouched)."""
    route = next(r for r in sandbox.rest.router._routes if f"{r.method} {r.template}" == THREADS)
    create = route.handler

    async def created_then(sb: Sandbox, call: Call) -> Reply:
        reply = await create(sb, call)
        then()
        return reply

    route.handler = created_then


async def outbox_states(harness: BotHarness) -> list[tuple[str, str]]:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        return [(row.kind, row.state) for row in (await session.scalars(select(Outbox).order_by(Outbox.id))).all()]


async def scheduled(sandbox: Sandbox, group: Group, harness: BotHarness) -> KillSwitch:
    """Set up the group with a weekly Tuesday meeting, one minute before it starts; return a kill switch."""
    switch = KillSwitch(sandbox)
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START - timedelta(minutes=1))
    return switch


async def kill_at(harness: BotHarness, switch: KillSwitch, step, point: RequestPoint) -> None:
    """Kill the bot at `point` of `step`, and start it again at the same instant."""
    assert await run_step(harness, switch, step, point), f"the bot made no write {point.index}"
    await harness.start()


async def test_killed_after_discord_created_the_thread_the_meeting_still_has_one_thread(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    switch = await scheduled(sandbox, group, harness)
    await kill_at(harness, switch, lambda: harness.advance_to(START), RequestPoint(0, AFTER, THREADS))
    assert len(threads(group)) == 1
    # Well past the claim's lease, with the panel's 3-minute nudge waking the bot: the opening is retried.
    await harness.advance_to(START + timedelta(minutes=5))
    assert len(threads(group)) == 1, [t.name for t in threads(group)]
    assert OPENING in texts(sandbox, threads(group)[0])[0]


async def test_killed_after_discord_created_the_thread_a_retry_past_the_nonce_window_posts_no_second_anchor(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    switch = await scheduled(sandbox, group, harness)
    sandbox.messages.nonce_window = 0.0  # the retry comes after Discord has forgotten the anchor's nonce
    await kill_at(harness, switch, lambda: harness.advance_to(START), RequestPoint(0, AFTER, THREADS))
    await harness.advance_to(START + timedelta(minutes=5))
    assert len(threads(group)) == 1, [t.name for t in threads(group)]
    assert len([text for text in texts(sandbox, group.meetings) if "join in the thread below" in text]) == 1
    assert OPENING in texts(sandbox, threads(group)[0])[0]


async def test_killed_after_discord_created_an_event_each_meeting_keeps_one_event(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    switch = KillSwitch(sandbox)
    await harness.start()
    await configure(sandbox, group)

    async def schedule() -> None:
        await schedule_tuesday(sandbox, group)
        await harness.idle()

    await kill_at(harness, switch, schedule, RequestPoint(0, AFTER, EVENTS))
    # The 24-hour reminder wakes the bot long after the claim's lease: the events are retried.
    await harness.advance_to(START - timedelta(hours=24))
    starts = sorted(event.scheduled_start_time for event in group.guild.scheduled_events.values())
    assert len(starts) == len(set(starts)) == 4, starts


async def test_killed_while_posting_the_closing_the_closing_still_arrives_within_minutes(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    switch = await scheduled(sandbox, group, harness)
    await harness.advance_to(START)
    thread = threads(group)[0]
    harness.clock.set(START + timedelta(minutes=30))
    panel = next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)

    async def end() -> None:
        await (await sandbox.actors.click(group.facilitator, panel, label="End meeting")).response()
        await harness.idle()

    await kill_at(harness, switch, end, RequestPoint(0, BEFORE, MESSAGES))
    await harness.advance_to(START + timedelta(minutes=40))
    assert any(CLOSING in text for text in texts(sandbox, thread)), texts(sandbox, thread)[-2:]
    assert thread.locked and thread.archived
    assert {state for _kind, state in await outbox_states(harness)} == {"sent"}


async def test_killed_after_the_panel_was_posted_the_panel_still_follows_the_phases(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    switch = await scheduled(sandbox, group, harness)
    # The opening's messages: the thread's anchor in the meetings channel, then in the thread the opening
    # statement, voice line, first phase and panel.
    await kill_at(harness, switch, lambda: harness.advance_to(START), RequestPoint(4, AFTER, MESSAGES))
    thread = threads(group)[0]
    harness.clock.set(START + timedelta(minutes=1))
    panel = next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)
    moved = await (await sandbox.actors.click(group.facilitator, panel, label="Next phase")).response()
    assert moved.content == "Moved to the next phase."
    await harness.idle()
    await harness.advance_to(START + timedelta(minutes=10))
    assert "Check-in (2/6" in panel_text(sandbox, thread), panel_text(sandbox, thread)


async def test_a_5xx_at_the_opening_is_retried_and_each_step_posted_once_in_order(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await scheduled(sandbox, group, harness)
    sandbox.faults.inject_5xx(THREADS, status=503)  # 503: discord.py gives up at once, the outbox retries
    await harness.advance_to(START)
    assert not threads(group)
    await harness.advance_to(START + timedelta(minutes=5))  # the 3-minute nudge wakes the bot: it retries
    assert len(threads(group)) == 1
    opening = texts(sandbox, threads(group)[0])
    assert OPENING in opening[0] and opening[2].startswith("**Welcome** (1/6") and "Facilitator panel" in opening[3]
    assert len(opening) == len(set(opening)) == 4, opening


@pytest.mark.parametrize(
    "refusal",
    [
        "503 from Discord",
        "429s beyond discord.py's five tries",
    ],
    ids=["5xx-burst", "429-burst"],
)
async def test_discord_refusing_the_opening_for_a_moment_delays_it_by_seconds_not_minutes(
    sandbox: Sandbox, group: Group, harness: BotHarness, refusal: str
) -> None:
    await scheduled(sandbox, group, harness)
    if refusal.startswith("503"):
        sandbox.faults.inject_5xx(THREADS, count=3, status=503)
    else:
        sandbox.ratelimits.force_429(THREADS, count=6, retry_after=0.01)
    await harness.advance_to(START)
    await harness.advance_to(START + timedelta(minutes=1))
    assert len(threads(group)) == 1
    opening = texts(sandbox, threads(group)[0])
    assert len(opening) == len(set(opening)) == 4 and OPENING in opening[0], opening


async def test_steps_queued_behind_a_failing_step_are_never_given_up_untried(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await scheduled(sandbox, group, harness)
    after_the_thread_is_created(sandbox, lambda: sandbox.faults.inject_5xx(MESSAGES, count=5, status=503))
    await harness.advance_to(START)  # the opening statement, the first message in the thread, fails five times
    assert harness.bot is not None
    for minute in range(1, 6):  # woken every minute, as the bot should be after a failure
        harness.clock.set(START + timedelta(minutes=minute))
        await harness.bot.delivery.run_due()
    thread = threads(group)[0]
    shown = texts(sandbox, thread)
    assert any(text.startswith("**Welcome** (1/6") for text in shown), shown
    assert any("Facilitator panel" in text for text in shown), shown


@pytest.mark.parametrize("index", [0, 1], ids=["thread-anchor", "opening-statement"])
async def test_a_lost_answer_to_a_posted_message_is_retried_without_a_second_message(
    sandbox: Sandbox, group: Group, harness: BotHarness, index: int
) -> None:
    switch = await scheduled(sandbox, group, harness)
    # Discord posts the message (the thread's anchor in the meetings channel, or the opening statement in the
    # thread), the bot hears 502; discord.py waits a second and retries with the same nonce.
    switch.arm(RequestPoint(index, ANSWER_LOST, MESSAGES))
    await harness.advance_to(START)
    assert switch.tripped_on is not None
    assert len(threads(group)) == 1, [t.name for t in threads(group)]
    assert len([m for m in texts(sandbox, group.meetings) if "join in the thread below" in m]) == 1
    opening = texts(sandbox, threads(group)[0])
    assert len(opening) == len(set(opening)) == 4 and OPENING in opening[0], opening
    assert {state for _kind, state in await outbox_states(harness)} == {"sent"}


async def test_a_lost_answer_to_the_thread_creation_leaves_one_thread(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    switch = await scheduled(sandbox, group, harness)
    switch.arm(RequestPoint(0, ANSWER_LOST, THREADS))
    await harness.advance_to(START)
    assert switch.tripped_on is not None
    assert len(threads(group)) == 1, [t.name for t in threads(group)]
    assert OPENING in texts(sandbox, threads(group)[0])[0]  # the bot knows the thread it made: the meeting runs in it
