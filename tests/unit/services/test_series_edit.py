"""Editing a series that meets every two or more weeks keeps its interval: the dates, the stored rule, later weeks."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models import MeetingOccurrence, MeetingSchedule
from bot.domain.meeting_format import load_templates
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from tests.fixtures.db import FakeClock

GUILD = 1
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FIRST_TUESDAY = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 19:00 in London is 19:00 UTC in winter


@pytest.fixture
async def schedules(database: Database, clock: FakeClock) -> ScheduleService:
    clock.set(MONDAY)
    await GuildConfigService(database, clock).update(GUILD, timezone="Europe/London", meetings_channel_id=100)
    return ScheduleService(database, clock, load_templates())


def every(weeks: int) -> ScheduleRequest:
    return ScheduleRequest(
        title="Fortnightly SMART",
        weekday=1,
        local_time=time(19, 0),
        on_date=None,
        interval_weeks=weeks,
        channel_id=300,
    )


async def scheduled_starts(database: Database, series: int) -> list[datetime]:
    """Return the series' meetings still to happen, in order."""
    async with database.session() as session:
        starts = await session.scalars(
            select(MeetingOccurrence.starts_at)
            .where(MeetingOccurrence.schedule_id == series, MeetingOccurrence.state == "scheduled")
            .order_by(MeetingOccurrence.starts_at)
        )
        return list(starts)


async def stored_rule(database: Database, series: int) -> str:
    async with database.session() as session:
        schedule = await session.get(MeetingSchedule, series)
        assert schedule is not None and schedule.rrule is not None
        return schedule.rrule


def gaps(starts: list[datetime]) -> set[timedelta]:
    return {later - earlier for earlier, later in pairwise(starts)}


@pytest.mark.parametrize("weeks", [2, 3, 8])
@pytest.mark.parametrize(
    ("change", "first"),
    [
        ({"title": "Renamed SMART"}, FIRST_TUESDAY),
        ({"local_time": time(18, 30)}, FIRST_TUESDAY.replace(hour=18, minute=30)),
        ({"weekday": 3}, FIRST_TUESDAY + timedelta(days=2)),  # Thursday 3 December
        ({"duration_minutes": 60}, FIRST_TUESDAY),
        ({"channel_id": 301, "location_kind": "stage"}, FIRST_TUESDAY),
    ],
)
async def test_an_edit_keeps_the_interval_of_the_series(
    schedules: ScheduleService, database: Database, weeks: int, change: dict[str, Any], first: datetime
) -> None:
    series, _upcoming = await schedules.create(GUILD, every(weeks))
    assert gaps(await scheduled_starts(database, series)) <= {timedelta(weeks=weeks)}

    shown = await schedules.edit(GUILD, series, **change)

    assert shown[0].starts_at == first
    assert f"INTERVAL={weeks};" in await stored_rule(database, series)
    starts = await scheduled_starts(database, series)
    assert starts[0] == first
    assert gaps(starts) == ({timedelta(weeks=weeks)} if len(starts) > 1 else set())
    assert gaps([view.starts_at for view in shown]) <= {timedelta(weeks=weeks)}


async def test_weeks_added_after_an_edit_keep_the_interval(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _upcoming = await schedules.create(GUILD, every(2))
    await schedules.edit(GUILD, series, local_time=time(18, 0))
    # Six weeks on, the daily extension adds the meetings that come into the horizon: still a fortnight apart.
    clock.set(MONDAY + timedelta(weeks=6))
    await schedules.materialise_guild(GUILD)
    starts = [start for start in await scheduled_starts(database, series) if start > clock.now()]
    assert len(starts) >= 4
    assert gaps(starts) == {timedelta(weeks=2)}
    assert {(start - FIRST_TUESDAY.replace(hour=18)) % timedelta(weeks=2) for start in starts} == {timedelta(0)}


@pytest.mark.parametrize("days_after_a_meeting", [1, 6, 8, 13])
async def test_an_edit_in_an_off_week_keeps_the_series_in_step(
    schedules: ScheduleService, database: Database, clock: FakeClock, days_after_a_meeting: int
) -> None:
    series, _upcoming = await schedules.create(GUILD, every(2))  # 1, 15, 29 December...
    clock.set(FIRST_TUESDAY + timedelta(days=days_after_a_meeting))
    await schedules.edit(GUILD, series, title="Renamed SMART")
    starts = [start for start in await scheduled_starts(database, series) if start > clock.now()]
    assert starts[0] == FIRST_TUESDAY + timedelta(weeks=2), starts[:3]
    assert gaps(starts) == {timedelta(weeks=2)}
