"""End to end: after a restart the bot connects and answers at once; the schedules are extended in the background."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import MeetingOccurrence
from bot.services.meetings.common import MATERIALISE_HORIZON
from bot.services.meetings.schedules import ScheduleService
from cogs.meetings import Meetings
from cogs.meetings._commands import MATERIALISE_JOB
from tests.e2e.conftest import BotHarness, Group, configure
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

SERIES = ("Monday SMART", "Tuesday SMART", "Wednesday SMART", "Thursday SMART", "Friday SMART")


class Held:
    """Stand in for `ScheduleService.materialise_all`: wait until the test lets it run."""

    def __init__(self, original: Callable[[ScheduleService], Awaitable[int]]) -> None:
        self.original = original
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False
        self.finished = False

    async def __call__(self, service: ScheduleService) -> int:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        added = await self.original(service)
        self.finished = True
        return added


@pytest.fixture
async def restarted_later(sandbox: Sandbox, group: Group, harness: BotHarness) -> BotHarness:
    """Schedule a group's weekday meetings, stop the bot, and move the clock two weeks on (the bot is down)."""
    await harness.start()
    await configure(sandbox, group)
    for weekday, title in enumerate(SERIES):
        options = {"title": title, "time": "19:00", "weekday": weekday, "channel": group.voice}
        response = await (
            await sandbox.actors.invoke(group.guild, group.facilitator, "meeting schedule", options)
        ).response()
        assert "Scheduled" in response.content, response.content
    await harness.idle()
    await harness.stop()
    harness.clock.advance(weeks=2)
    return harness


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Held:
    hook = Held(ScheduleService.materialise_all)

    async def materialise_all(service: ScheduleService) -> int:
        return await hook(service)

    monkeypatch.setattr(ScheduleService, "materialise_all", materialise_all)
    return hook


def meetings_cog(harness: BotHarness) -> Meetings:
    assert harness.bot is not None
    cog = harness.bot.get_cog("Meetings")
    # Not isinstance: discord.py imports the extension afresh on every start, so the class differs each time.
    assert cog is not None and type(cog).__name__ == "Meetings"
    return cog  # type: ignore[return-value]


async def occurrences_ahead(harness: BotHarness) -> int:
    assert harness.bot is not None
    now = harness.clock.now()
    async with harness.bot.database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(MeetingOccurrence).where(MeetingOccurrence.starts_at >= now)
        )
    return int(count or 0)


async def test_ready_and_answering_while_materialising_is_held(
    sandbox: Sandbox, group: Group, restarted_later: BotHarness, held: Held
) -> None:
    harness = restarted_later
    await harness.start()  # before the fix, this never became ready: materialisation ran before connecting
    assert held.started.is_set() and not held.finished
    assert harness.scheduler is not None and MATERIALISE_JOB in harness.scheduler.jobs

    listing = await (await sandbox.actors.invoke(group.guild, group.member, "meeting list")).response()
    assert all(title in listing.content for title in SERIES), listing.content
    crisis = await (await sandbox.actors.invoke(group.guild, group.member, "crisis")).response()
    assert crisis.ephemeral and "116 123" in crisis.content
    weeks_ahead = MATERIALISE_HORIZON // timedelta(weeks=1)
    assert await occurrences_ahead(harness) == len(SERIES) * (weeks_ahead - 2)

    held.release.set()
    await meetings_cog(harness).idle()
    await harness.idle()

    assert held.finished
    assert await occurrences_ahead(harness) == len(SERIES) * weeks_ahead
    upcoming = sorted(
        (e for e in group.guild.scheduled_events.values() if e.scheduled_start_time >= harness.clock.now()),
        key=lambda e: e.scheduled_start_time,
    )
    assert len(upcoming) >= 4  # the group's next meetings are still mirrored as events
    await harness.stop()


async def test_closing_while_materialising_cancels_it_cleanly(restarted_later: BotHarness, held: Held) -> None:
    harness = restarted_later
    await harness.start()
    await held.started.wait()
    cog = meetings_cog(harness)

    await harness.stop()

    assert held.cancelled and not held.finished
    await cog.idle()  # returns at once: nothing is left running


async def test_materialising_failure_is_logged_and_the_bot_keeps_working(
    sandbox: Sandbox,
    group: Group,
    restarted_later: BotHarness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(_service: ScheduleService) -> int:
        raise RuntimeError("the schedules table is unreadable")

    monkeypatch.setattr(ScheduleService, "materialise_all", broken)
    harness = restarted_later
    with caplog.at_level(logging.ERROR, logger="cogs.meetings"):
        await harness.start()  # before the fix, the error stopped the bot from starting at all
        await meetings_cog(harness).idle()

    failures = [r.exc_info for r in caplog.records if r.name == "cogs.meetings._commands" and r.exc_info]
    assert [str(info[1]) for info in failures] == ["the schedules table is unreadable"]
    crisis = await (await sandbox.actors.invoke(group.guild, group.member, "crisis")).response()
    assert "116 123" in crisis.content
    await harness.stop()
