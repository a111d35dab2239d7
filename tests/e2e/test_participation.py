"""End to end: attendance counting, check-ins, feedback and opting out, through the real bot and the sandbox.

Time is the harness's fake clock: each test moves it between members' actions and waits until the bot has handled
every event (`settle`), so nothing here sleeps to wait for a schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import MeetingOccurrence
from bot.db.models_participation import (
    FeedbackGiven,
    ParticipationLive,
    ParticipationMark,
    ParticipationOccurrence,
)
from tests.e2e.conftest import BotHarness, Group, configure
from tests.sandbox.handles import MODAL
from tests.sandbox.models import Channel, Member, Message
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # Tuesday 19:00 in London (GMT)


async def settle(harness: BotHarness) -> None:
    """Wait until the bot has read every gateway event so far and counted it, and delivered what it decided."""
    assert harness.bot is not None
    await harness.sandbox.sync()
    await harness.bot.get_cog("Counting").idle()  # type: ignore[union-attr]
    await harness.idle()
    await harness.bot.get_cog("Counting").idle()  # type: ignore[union-attr]


async def at(harness: BotHarness, minutes: float) -> None:
    """Move the clock to `minutes` after the meeting's start (events already sent are counted first)."""
    await settle(harness)
    harness.clock.set(START + timedelta(minutes=minutes))


async def start_meeting(sandbox: Sandbox, group: Group, harness: BotHarness) -> tuple[int, Channel]:
    """Set the group up, schedule a Tuesday voice meeting and let it start; return its id and thread."""
    await harness.start()
    await configure(sandbox, group)
    handle = await sandbox.actors.invoke(
        group.guild,
        group.facilitator,
        "meeting schedule",
        {"title": "Tuesday SMART", "time": "19:00", "weekday": 1, "channel": group.voice},
    )
    assert "Scheduled" in (await handle.response()).content
    await harness.advance_to(START)
    await settle(harness)
    threads = [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]
    assert len(threads) == 1
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        occurrence_id = await session.scalar(select(MeetingOccurrence.id).where(MeetingOccurrence.starts_at == START))
    assert occurrence_id is not None
    return occurrence_id, threads[0]


def has_button(sandbox: Sandbox, thread: Channel, label: str) -> bool:
    """Return whether a message of the thread carries a button with this label."""
    return any(
        button.get("label") == label
        for message in sandbox.channel_messages(thread)
        for row in message.components
        for button in row.get("components", [])
    )


def message_with(sandbox: Sandbox, thread: Channel, label: str) -> Message:
    """Return the thread's message carrying a button with this label."""
    for message in sandbox.channel_messages(thread):
        for row in message.components:
            if any(button.get("label") == label for button in row.get("components", [])):
                return message
    raise AssertionError(f"no message with a {label!r} button in the thread")


async def click_panel(sandbox: Sandbox, group: Group, thread: Channel, label: str) -> str:
    panel = next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)
    return (await (await sandbox.actors.click(group.facilitator, panel, label=label)).response()).content


async def end_meeting(sandbox: Sandbox, group: Group, harness: BotHarness, thread: Channel, minutes: float) -> None:
    await at(harness, minutes)
    assert await click_panel(sandbox, group, thread, "End meeting") == "Meeting ended."
    await settle(harness)


async def numbers(harness: BotHarness, occurrence_id: int) -> ParticipationOccurrence:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.get(ParticipationOccurrence, occurrence_id)
        assert row is not None and row.finalised_at is not None
        return row


async def count(harness: BotHarness, model: type) -> int:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def extra_member(sandbox: Sandbox, group: Group, name: str) -> Member:
    return await sandbox.actors.create_member(group.guild, name)


async def test_voice_counts_from_ten_minutes_summed_over_rejoins(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    actors = sandbox.actors
    early = await extra_member(sandbox, group, "early")
    await actors.voice_join(early, group.voice)  # waiting before the start: counted from the start
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    nine, ten, rejoin = group.member, group.newcomer, await extra_member(sandbox, group, "rejoin")
    for member in (nine, ten, rejoin):
        await actors.voice_join(member, group.voice)
    await at(harness, 6)
    await actors.voice_leave(rejoin)
    await at(harness, 9)
    await actors.voice_leave(nine)  # 9 minutes: not counted
    await at(harness, 10)
    await actors.voice_leave(ten)  # 10 minutes: counted
    await actors.voice_leave(early)
    await at(harness, 20)
    await actors.voice_join(rejoin, group.voice)
    await at(harness, 24)
    await actors.voice_leave(rejoin)  # 6 + 4 minutes
    await end_meeting(sandbox, group, harness, thread, 30)
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.voice_attendees, result.new_attendees) == (3, 3, 3)
    assert result.outcome == "held" and result.facilitators == 1
    assert await count(harness, ParticipationLive) == 0
    assert await count(harness, ParticipationMark) == 3


async def test_posts_and_checkins_count_once_per_member(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    everything, checker, poster = group.member, group.newcomer, await extra_member(sandbox, group, "poster")
    await actors.voice_join(everything, group.voice)
    await actors.post(everything, thread, "hello")
    await actors.post(everything, thread, "me again")
    await actors.post(poster, thread, "hi all")
    await actors.post(poster, group.meetings, "not in the meeting's thread")
    welcome = message_with(sandbox, thread, "I'm here")
    for member in (everything, checker, checker):
        answer = await (await actors.click(member, welcome, label="I'm here")).response()
        assert answer.ephemeral and "counted as here" in answer.content
    await at(harness, 15)
    await actors.voice_leave(everything)
    await end_meeting(sandbox, group, harness, thread, 20)
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.checkins, result.posters, result.voice_attendees) == (3, 2, 2, 1)
    late = await (await actors.click(checker, welcome, label="I'm here")).response()
    assert late.ephemeral and "isn't running" in late.content


async def test_dropped_connection_loses_and_doubles_nobody(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    voice, poster, short = group.member, group.newcomer, await extra_member(sandbox, group, "short")
    await actors.voice_join(voice, group.voice)
    await actors.voice_join(short, group.voice)
    await actors.post(poster, thread, "before the drop")
    await at(harness, 5)
    await actors.drop_connection()
    harness.clock.set(START + timedelta(minutes=6))
    await actors.voice_leave(short)  # delivered only when the bot resumes: 6 minutes, not counted
    await actors.post(poster, thread, "while the bot is away")
    await sandbox.wait_until(lambda: sandbox.gateway.resume_count == 1, what="the RESUME")
    await at(harness, 12)
    await actors.voice_leave(voice)
    await end_meeting(sandbox, group, harness, thread, 15)
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.voice_attendees, result.posters) == (2, 1, 1)
    assert sandbox.gateway.identify_count == 1


async def test_restart_mid_meeting_keeps_the_count(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    stays, checker = group.member, group.newcomer
    await actors.voice_join(stays, group.voice)
    answer = await (await actors.click(checker, message_with(sandbox, thread, "I'm here"), label="I'm here")).response()
    assert "counted" in answer.content
    await at(harness, 4)
    await harness.kill()
    harness.clock.set(START + timedelta(minutes=7))
    await harness.start()
    await settle(harness)
    await at(harness, 10)
    await actors.voice_leave(stays)  # in voice across the restart: 10 minutes
    again = await (await actors.click(checker, message_with(sandbox, thread, "I'm here"), label="I'm here")).response()
    assert "counted" in again.content
    await end_meeting(sandbox, group, harness, thread, 12)
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.checkins, result.voice_attendees) == (2, 1, 1)


async def test_feedback_one_answer_per_member_only_as_counters(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    actors = sandbox.actors
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    await actors.post(group.member, thread, "hello")  # counted, and new: so asked how they heard of SMART
    step = 0
    while not has_button(sandbox, thread, "How was today? (anonymous)"):  # the closing phase (hat on or off)
        step += 1
        await at(harness, 5 * step)
        assert await click_panel(sandbox, group, thread, "Next phase") == "Moved to the next phase."
        await settle(harness)
    closing = message_with(sandbox, thread, "How was today? (anonymous)")
    opened = await actors.click(group.member, closing, label="How was today? (anonymous)")
    assert (await opened.response()).type == MODAL
    assert opened.modal is not None and opened.modal["title"] == "How was today? (anonymous)"
    answers = {
        "How helpful was today's meeting?": "5",
        "Did you set a plan for the week?": "yes",
        "How did you first hear about SMART?": "friend",
        "Will you come again?": "yes",
    }
    thanks = await (await actors.submit_modal(opened, answers)).response()
    assert thanks.ephemeral and "anonymous totals" in thanks.content
    second = await (await actors.click(group.member, closing, label="How was today? (anonymous)")).response()
    assert second.ephemeral and "already answered" in second.content

    await end_meeting(sandbox, group, harness, thread, 40)
    # After the end, within the window: another member answers part of the form.
    opened = await actors.click(group.newcomer, closing, label="How was today? (anonymous)")
    partial = await actors.submit_modal(opened, {"How helpful was today's meeting?": "3"})
    assert "anonymous totals" in (await partial.response()).content
    result = await numbers(harness, occurrence_id)
    assert (result.feedback_answers, result.fb_helpful_5, result.fb_helpful_3) == (2, 1, 1)
    assert (result.fb_plan_yes, result.fb_heard_friend, result.fb_again_yes, result.fb_again_no) == (1, 1, 1, 0)
    assert await count(harness, FeedbackGiven) == 2

    # The window closes by the scheduler: who answered is forgotten, and nobody can answer any more.
    await harness.advance_to(START + timedelta(minutes=100))
    assert await count(harness, FeedbackGiven) == 0
    closed = await (await actors.click(group.member, closing, label="How was today? (anonymous)")).response()
    assert closed.ephemeral and "closed" in closed.content


async def test_privacy_about_opt_out_and_opt_in(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    about = await (await actors.invoke(group.guild, group.member, "privacy about")).response()
    assert about.ephemeral and "never stores your name" in about.content and "10 minutes" in about.content
    out = await (await actors.invoke(group.guild, group.member, "privacy opt-out")).response()
    assert out.ephemeral and "never linked" in out.content
    about = await (await actors.invoke(group.guild, group.member, "privacy about")).response()
    assert "You have opted out" in about.content
    await actors.post(group.member, thread, "hello")
    await actors.post(group.newcomer, thread, "hi")
    await end_meeting(sandbox, group, harness, thread, 10)
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.unlinked_attendees, result.new_attendees) == (2, 1, 1)
    assert await count(harness, ParticipationMark) == 1
    back = await (await actors.invoke(group.guild, group.member, "privacy opt-in")).response()
    assert "linked by a code again" in back.content


async def test_coordinators_change_the_voice_threshold(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    await harness.start()
    await configure(sandbox, group)
    refused = await (
        await actors.invoke(group.guild, group.member, "participation settings", {"voice_minutes": 5})
    ).response()
    assert refused.ephemeral and f"Only members with <@&{group.coordinator_role.id}>" in refused.content
    saved = await (
        await actors.invoke(group.guild, group.coordinator, "participation settings", {"voice_minutes": 5, "period": 6})
    ).response()
    assert "5 minutes" in saved.content and "half a year" in saved.content and "new" in saved.content
    shown = await (await actors.invoke(group.guild, group.coordinator, "participation settings")).response()
    assert "5 minutes" in shown.content
