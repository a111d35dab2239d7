"""End to end: `/meeting cancel series:True` ends a whole series, tells members once and cancels its events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.db.models import MeetingOccurrence, MeetingSchedule
from tests.e2e.conftest import BotHarness, Group, configure
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # Tuesday 19:00 in London (GMT)


async def test_cancelling_the_series_ends_every_upcoming_meeting(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    bot = await harness.start()
    await configure(sandbox, group)
    options = {"title": "Tuesday SMART", "time": "19:00", "weekday": 1, "channel": group.voice}
    scheduled = await (
        await sandbox.actors.invoke(group.guild, group.facilitator, "meeting schedule", options)
    ).response()
    assert "Scheduled" in scheduled.content, scheduled.content
    await harness.idle()
    assert sum(e.status == 1 for e in group.guild.scheduled_events.values()) == 4
    async with bot.database.session() as session:
        first = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.starts_at == START))
        assert first is not None
        meetings = len((await session.scalars(select(MeetingOccurrence.id))).all())

    handle = await sandbox.actors.invoke(
        group.guild,
        group.coordinator,
        "meeting cancel",
        {"meeting": first.id, "reason": "The group is closing", "series": True},
    )
    answer = await handle.response()
    assert answer.content == f"Cancelled the series: {meetings} upcoming meetings. Members have been told."
    await harness.idle()

    notice = sandbox.last_message(group.meetings)
    assert notice.content == "**Tuesday SMART** will no longer meet. Reason: The group is closing"
    assert {e.status for e in group.guild.scheduled_events.values()} == {4}
    async with bot.database.session() as session:
        assert set((await session.scalars(select(MeetingOccurrence.state))).all()) == {"cancelled"}
        assert [s.active for s in (await session.scalars(select(MeetingSchedule))).all()] == [False]
    listing = await (await sandbox.actors.invoke(group.guild, group.member, "meeting list")).response()
    assert "No meetings are scheduled" in listing.content
    await harness.advance_to(START)
    assert not [c for c in group.guild.channels.values() if c.is_thread]
