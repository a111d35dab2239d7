"""The bot down across a meeting's start: back within the 15-minute grace it opens late with a note; beyond it the
meeting is recorded as missed and the coordinators are told, once, however often the bot restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import MeetingOccurrence
from tests.e2e.test_meetings import START, schedule_tuesday
from tests.faults.killswitch import crash
from tests.fixtures.bot import BotHarness, Group, configure
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

LATE_NOTE = "Sorry for the late start"
MISSED = "was missed"
ACTIVE, COMPLETED_OR_CANCELLED = 2, (3, 4)


async def down_across_the_start(sandbox: Sandbox, group: Group, harness: BotHarness, back_after: timedelta) -> None:
    """Schedule the meeting, kill the bot 20 minutes before it (after the 24-hour reminder), restart it later."""
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START - timedelta(minutes=20))
    await crash(harness)
    harness.clock.set(START + back_after)
    await harness.start()
    await harness.advance_to(START + back_after)


async def occurrence(harness: BotHarness) -> MeetingOccurrence:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.starts_at == START))
    assert row is not None
    return row


def reminders(sandbox: Sandbox, group: Group) -> list[str]:
    return [m.content for m in sandbox.channel_messages(group.meetings) if "Reminder:" in m.content]


def event_status(group: Group) -> int:
    return next(e.status for e in group.guild.scheduled_events.values() if e.scheduled_start_time == START)


@pytest.mark.parametrize(
    ("back_after", "late"),
    [
        (timedelta(0), False),
        (timedelta(minutes=1), False),
        (timedelta(minutes=10), True),
        (timedelta(minutes=15), True),
    ],
    ids=["at-the-start", "1-minute", "10-minutes", "15-minutes-the-grace"],
)
async def test_back_within_the_grace_the_meeting_opens_once_with_a_late_note_when_late(
    sandbox: Sandbox, group: Group, harness: BotHarness, back_after: timedelta, late: bool
) -> None:
    await down_across_the_start(sandbox, group, harness, back_after)
    threads = [c for c in group.guild.channels.values() if c.is_thread]
    assert len(threads) == 1
    opening = [m.content for m in sandbox.channel_messages(threads[0])]
    assert (LATE_NOTE in opening[0]) is late, opening[0]
    assert sum(LATE_NOTE in text for text in opening) == int(late)
    assert any("Welcome to this SMART Recovery meeting" in text for text in opening[:2])
    row = await occurrence(harness)
    assert row.state == "running" and row.started_late is late and row.actual_start == START + back_after
    assert event_status(group) == ACTIVE
    # The 15-minute reminder fell due while the bot was down: it is not sent after the fact.
    assert len(reminders(sandbox, group)) == 1
    assert not any(MISSED in m.content for m in sandbox.channel_messages(group.coordinators))


@pytest.mark.parametrize(
    "back_after",
    [timedelta(minutes=15, seconds=1), timedelta(minutes=16), timedelta(hours=3)],
    ids=["a-second-past-the-grace", "16-minutes", "3-hours"],
)
async def test_back_beyond_the_grace_the_meeting_is_recorded_missed_and_coordinators_told_once(
    sandbox: Sandbox, group: Group, harness: BotHarness, back_after: timedelta
) -> None:
    await down_across_the_start(sandbox, group, harness, back_after)
    assert not [c for c in group.guild.channels.values() if c.is_thread]
    row = await occurrence(harness)
    assert row.state == "missed" and row.actual_start is None
    assert event_status(group) in COMPLETED_OR_CANCELLED
    assert len(reminders(sandbox, group)) == 1
    # Restarting again changes nothing: the alert is not repeated and the meeting does not open.
    await crash(harness)
    await harness.start()
    await harness.advance_to(START + back_after + timedelta(minutes=5))
    alerts = [m.content for m in sandbox.channel_messages(group.coordinators) if MISSED in m.content]
    assert len(alerts) == 1 and "Tuesday SMART" in alerts[0], alerts
    assert not [c for c in group.guild.channels.values() if c.is_thread]
    assert (await occurrence(harness)).state == "missed"
