"""End to end: a scheduled meeting from reminder to closing, through the real bot and the sandbox."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import MeetingOccurrence
from tests.e2e.conftest import BotHarness, Group, configure
from tests.fixtures.meeting import MeetingDriver, START, panel, phase_titles, schedule_tuesday, thread_of
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

# Other tests import the meeting's start and helpers from here.
__all__ = ["START", "panel", "phase_titles", "schedule_tuesday", "thread_of"]


async def occurrence_row(harness: BotHarness, starts_at: datetime) -> MeetingOccurrence:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.starts_at == starts_at))
        assert row is not None
        return row


async def test_meeting_from_reminder_to_closing(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    opt_in = await (
        await sandbox.actors.invoke(group.guild, group.member, "meeting remind-me", {"setting": "on"})
    ).response()
    assert "Done" in opt_in.content
    assert group.reminder_role.id in group.guild.members[group.member.user.id].roles
    await meeting.schedule_weekly()
    await harness.idle()
    events = sorted(group.guild.scheduled_events.values(), key=lambda e: e.scheduled_start_time)
    assert len(events) == 4
    assert events[0].scheduled_start_time == START and events[0].channel_id == group.voice.id

    listing = await (await sandbox.actors.invoke(group.guild, group.newcomer, "meeting list")).response()
    assert f"<t:{int(START.timestamp())}:F>" in listing.content and f"<t:{int(START.timestamp())}:R>" in listing.content

    # 24 hours before: the reminder role is pinged, and coordinators hear there is no facilitator.
    await harness.advance_to(START - timedelta(hours=24))
    reminder = sandbox.last_message(group.meetings)
    assert f"<@&{group.reminder_role.id}>" in reminder.content
    assert "no facilitator" in sandbox.last_message(group.coordinators).content
    await harness.advance_to(START - timedelta(minutes=15))
    pings = sandbox.pings()
    assert len(pings) == 2
    assert all(p.pings.roles == [group.reminder_role.id] and not p.pings.everyone for p in pings)

    # The start: a thread with the opening statement, the first phase and the panel; the event goes live.
    await harness.advance_to(START)
    thread = thread_of(sandbox, group)
    texts = [m.content for m in sandbox.channel_messages(thread)]
    assert "Welcome to this SMART Recovery meeting" in texts[0]
    assert "Samaritans" in texts[0] and "not therapy" in texts[0]
    assert any(t.startswith("**Welcome** (1/6") for t in texts)
    assert events[0].status == 2

    # A member posts in the thread; a non-facilitator cannot use the panel.
    await sandbox.actors.post(group.member, thread, "checking in")
    refused = await (await sandbox.actors.click(group.member, panel(sandbox, thread), label="Next phase")).response()
    assert refused.ephemeral and "Only members with" in refused.content

    # The facilitator clicks through every phase, with a pause and an extension on the way.
    for label in ["+5 min", "Pause", "Resume"]:
        answer = await (await sandbox.actors.click(group.facilitator, panel(sandbox, thread), label=label)).response()
        assert answer.ephemeral
        await harness.idle()
    clicks = await meeting.click_through_phases("(6/6", minutes_each=5)
    assert clicks == 5
    # Pass the hat is a group's choice, off until a coordinator switches it on.
    assert phase_titles(sandbox, thread) == [
        "Welcome",
        "Check-in",
        "Agenda setting",
        "Working time",
        "Check-out",
        "Closing",
    ]

    harness.clock.set(harness.clock.now() + timedelta(minutes=4))
    ended = await (
        await sandbox.actors.click(group.facilitator, panel(sandbox, thread), label="End meeting")
    ).response()
    assert ended.content == "Meeting ended."
    await harness.idle()
    assert thread.locked and thread.archived
    assert events[0].status == 3
    assert panel(sandbox, thread).components == []

    row = await occurrence_row(harness, START)
    assert row.state == "completed" and row.facilitator_id == group.facilitator.user.id
    assert row.actual_start == START and row.actual_end == harness.clock.now()
    timings = json.loads(row.phase_timings)
    assert [t["key"] for t in timings] == ["welcome", "check-in", "agenda", "working-time", "check-out", "closing"]
    assert all(t["ended"] for t in timings)
    # Nothing was posted twice.
    contents = [m.content for m in sandbox.channel_messages(thread)]
    assert len(contents) == len(set(contents))


async def test_restart_mid_meeting_resumes_at_the_same_phase(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    thread = await meeting.open_meeting()
    await meeting.click_panel("Next phase")
    before = [m.content for m in sandbox.channel_messages(thread) if "Facilitator panel" not in m.content]

    await harness.kill()
    harness.clock.set(START + timedelta(minutes=3))
    await harness.start()
    # Nothing repeated on restart (the panel is edited in place, so it is compared on its own).
    assert [m.content for m in sandbox.channel_messages(thread) if "Facilitator panel" not in m.content] == before
    assert "Check-in (2/6" in panel(sandbox, thread).content

    answer = await meeting.click_panel("Next phase")
    assert answer.content == "Moved to the next phase."
    assert "Agenda setting (3/6" in panel(sandbox, thread).content
    after = [m.content for m in sandbox.channel_messages(thread) if "Facilitator panel" not in m.content]
    assert after[: len(before)] == before and len(after) == len(before) + 1


async def test_cancel_informs_members_and_cancels_the_event(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    await harness.idle()
    row = await occurrence_row(harness, START)
    handle = await sandbox.actors.invoke(
        group.guild, group.coordinator, "meeting cancel", {"meeting": row.id, "reason": "Facilitator unwell"}
    )
    assert "Cancelled" in (await handle.response()).content
    await harness.idle()
    notice = sandbox.last_message(group.meetings)
    assert "cancelled" in notice.content and "Facilitator unwell" in notice.content
    event = next(e for e in group.guild.scheduled_events.values() if e.scheduled_start_time == START)
    assert event.status == 4
    # A fifth event appears so four upcoming meetings stay mirrored.
    assert sum(e.status == 1 for e in group.guild.scheduled_events.values()) == 4
    await harness.advance_to(START)
    assert not [c for c in group.guild.channels.values() if c.is_thread]


async def test_late_start_within_grace_opens_with_a_note(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    await harness.kill()  # the bot is down across the start
    harness.clock.set(START + timedelta(minutes=10))
    await harness.start()
    thread = thread_of(sandbox, group)
    assert "late start" in sandbox.channel_messages(thread)[0].content


async def test_missed_meeting_alerts_coordinators(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    await harness.kill()
    harness.clock.set(START + timedelta(minutes=20))
    await harness.start()
    assert not [c for c in group.guild.channels.values() if c.is_thread]
    assert "was missed" in sandbox.last_message(group.coordinators).content
    assert (await occurrence_row(harness, START)).state == "missed"


async def test_member_cannot_schedule(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    await configure(sandbox, group)
    handle = await sandbox.actors.invoke(
        group.guild, group.member, "meeting schedule", {"title": "x", "time": "19:00", "channel": group.voice}
    )
    response = await handle.response()
    assert response.ephemeral and f"<@&{group.facilitator_role.id}>" in response.content


async def test_bad_time_is_refused_and_nothing_is_scheduled(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    handle = await sandbox.actors.invoke(
        group.guild,
        group.facilitator,
        "meeting schedule",
        {"title": "x", "time": "13pm", "weekday": 1, "channel": group.voice},
    )
    response = await handle.response()
    assert response.ephemeral and "mixes the 24-hour clock with pm" in response.content
    listing = await (await sandbox.actors.invoke(group.guild, group.member, "meeting list")).response()
    assert "No meetings" in listing.content


async def test_crisis_resources_are_shown_privately(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    await configure(sandbox, group)
    crisis = await (await sandbox.actors.invoke(group.guild, group.member, "crisis")).response()
    assert crisis.ephemeral and "116 123" in crisis.content


async def test_pass_the_hat_is_switched_on_with_the_groups_own_text(
    sandbox: Sandbox, group: Group, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    blank = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup pass-the-hat", {"enabled": True, "text": "   "})
    ).response()
    assert blank.ephemeral and "can't be empty" in blank.content
    shown = await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()
    assert {f["name"]: f["value"] for f in shown.data["embeds"][0]["fields"]}["Pass the hat"].startswith("Off")

    hat = "Our hall costs £20 a week: if you can chip in, the link is pinned. Never any pressure."
    switched = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup pass-the-hat", {"enabled": True, "text": hat})
    ).response()
    assert switched.ephemeral and "Pass the hat is on" in switched.content
    await meeting.schedule_weekly()
    thread = await meeting.open_meeting()
    # The switch can't move the phases of a meeting under way; the text could still change.
    refused = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup pass-the-hat", {"enabled": False})
    ).response()
    assert refused.ephemeral and "A meeting is running now" in refused.content
    await meeting.click_through_phases("Check-out")
    assert phase_titles(sandbox, thread) == [
        "Welcome",
        "Check-in",
        "Agenda setting",
        "Working time",
        "Pass the hat",
        "Check-out",
    ]
    hat_post = next(m for m in sandbox.channel_messages(thread) if m.content.startswith("**Pass the hat** (5/7"))
    assert hat_post.content.endswith(hat)
