"""Extending every series to the horizon (`ScheduleService.materialise_all`), as the bot does after start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from bot.db.engine import Database
from bot.db.models import MeetingOccurrence, MeetingReminder
from bot.domain.meeting_format import load_templates
from bot.services.guild_config import GuildConfigService
from bot.services.meetings import schedules as schedules_module
from bot.services.meetings.common import MATERIALISE_HORIZON
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from tests.fixtures.db import FakeClock

GUILDS = (1, 2, 3)
TEMPLATES = load_templates()
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
WEEKS_AHEAD = MATERIALISE_HORIZON // timedelta(weeks=1)  # meetings of a weekly series from now to the horizon


def weekly(weekday: int = 1, **overrides: object) -> ScheduleRequest:
    base = ScheduleRequest(title="SMART", weekday=weekday, local_time=time(19, 0), on_date=None, channel_id=300)
    return replace(base, **overrides)


@pytest.fixture
async def schedules(database: Database, clock: FakeClock) -> ScheduleService:
    clock.set(MONDAY)
    config = GuildConfigService(database, clock)
    for guild_id in GUILDS:
        await config.update(guild_id, timezone="Europe/London", meetings_channel_id=100)
    return ScheduleService(database, clock, TEMPLATES)


async def occurrences(database: Database, guild_id: int | None = None) -> list[MeetingOccurrence]:
    async with database.session() as session:
        query = select(MeetingOccurrence).order_by(MeetingOccurrence.starts_at, MeetingOccurrence.id)
        if guild_id is not None:
            query = query.where(MeetingOccurrence.guild_id == guild_id)
        return list((await session.scalars(query)).all())


@pytest.fixture
def request_events_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of `request_events` made through the schedule service, by guild id."""
    calls: list[int] = []
    original = schedules_module.request_events

    async def counting(session, guild_id, config, templates, now):
        calls.append(guild_id)
        await original(session, guild_id, config, templates, now)

    monkeypatch.setattr(schedules_module, "request_events", counting)
    return calls


@pytest.fixture
async def loaded_occurrences(database: Database) -> AsyncIterator[list[MeetingOccurrence]]:
    """Collect every occurrence row loaded as an ORM object while the test runs."""
    loaded: list[MeetingOccurrence] = []

    def on_load(target: MeetingOccurrence, _context: object) -> None:
        loaded.append(target)

    event.listen(MeetingOccurrence, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(MeetingOccurrence, "load", on_load)


async def test_requests_events_once_per_group_not_once_per_series(
    schedules: ScheduleService, database: Database, clock: FakeClock, request_events_calls: list[int]
) -> None:
    for guild_id, series in ((1, 3), (2, 2), (3, 1)):
        for weekday in range(series):
            await schedules.create(guild_id, weekly(weekday=weekday))
    clock.advance(weeks=2)
    request_events_calls.clear()

    added = await schedules.materialise_all()

    assert added == 2 * 6  # two new weeks for each of the six series
    assert sorted(request_events_calls) == [1, 2, 3]
    # Each group still has its next four meetings mirrored as events.
    for guild_id in GUILDS:
        upcoming = [row for row in await occurrences(database, guild_id) if row.starts_at > clock.now()]
        assert [row.event_requested for row in upcoming[:4]] == [True] * 4


async def test_past_occurrences_are_not_read(
    schedules: ScheduleService, database: Database, clock: FakeClock, loaded_occurrences: list[MeetingOccurrence]
) -> None:
    await schedules.create(1, weekly())
    for _week in range(12):  # a quarter of history, extended week by week as a running bot does
        clock.advance(weeks=1)
        await schedules.materialise_all()
    clock.advance(weeks=1)
    past = [row.id for row in await occurrences(database) if row.starts_at < clock.now() - timedelta(days=1)]
    assert len(past) >= 12
    loaded_occurrences.clear()

    assert await schedules.materialise_all() == 1

    touched = {row.id for row in loaded_occurrences}
    assert touched.isdisjoint(past)
    rows = await occurrences(database)
    assert len({row.local_start for row in rows}) == len(rows)


async def test_each_group_commits_on_its_own_and_a_failing_group_is_logged(
    schedules: ScheduleService,
    database: Database,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for guild_id in GUILDS:
        await schedules.create(guild_id, weekly())
    clock.advance(weeks=1)
    original = schedules_module.request_events

    async def broken_for_group_two(session, guild_id, config, templates, now):
        if guild_id == 2:
            raise RuntimeError("group two's data is broken")
        await original(session, guild_id, config, templates, now)

    monkeypatch.setattr(schedules_module, "request_events", broken_for_group_two)

    with caplog.at_level(logging.ERROR, logger=schedules_module.__name__):
        added = await schedules.materialise_all()

    assert added == 2  # groups one and three
    horizon = clock.now() + MATERIALISE_HORIZON
    counts = {guild_id: len(await occurrences(database, guild_id)) for guild_id in GUILDS}
    assert counts[1] == counts[3] == WEEKS_AHEAD + 1
    assert counts[2] == WEEKS_AHEAD  # rolled back: nothing half done
    assert all(row.starts_at < horizon for row in await occurrences(database))
    failures = [record for record in caplog.records if record.exc_info]
    assert len(failures) == 1 and "guild 2" in failures[0].getMessage()


async def test_series_moved_back_onto_its_old_day_revives_the_same_rows(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _upcoming = await schedules.create(1, weekly(weekday=1))
    tuesdays = {row.local_start: row.id for row in await occurrences(database)}
    await schedules.edit(1, series, weekday=3)
    await schedules.edit(1, series, weekday=1)
    clock.advance(days=2)  # the first Tuesday is now past; the rest come back as they were

    await schedules.materialise_all()

    rows = [row for row in await occurrences(database) if row.state == "scheduled" and row.starts_at > clock.now()]
    assert all(datetime.fromisoformat(row.local_start).weekday() == 1 for row in rows)
    assert all(tuesdays.get(row.local_start, row.id) == row.id for row in rows)
    assert len(rows) == WEEKS_AHEAD
    async with database.session() as session:
        keys = (await session.execute(select(MeetingOccurrence.schedule_id, MeetingOccurrence.local_start))).all()
        assert len(keys) == len(set(keys))
        reminders = (
            await session.execute(
                select(MeetingReminder.occurrence_id, MeetingReminder.offset_minutes).where(
                    MeetingReminder.occurrence_id.in_([row.id for row in rows])
                )
            )
        ).all()
    assert sorted(reminders) == sorted((row.id, offset) for row in rows for offset in (1440, 15))


async def test_local_wall_time_kept_across_daylight_saving_after_a_long_gap(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    await schedules.create(1, weekly())
    clock.set(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))  # ten weeks later, two weeks before BST starts

    await schedules.materialise_all()

    rows = [row for row in await occurrences(database) if row.starts_at > clock.now()]
    assert len(rows) == WEEKS_AHEAD
    assert {row.starts_at.astimezone(LONDON).time() for row in rows} == {time(19, 0)}
    assert {row.starts_at.hour for row in rows} == {19, 18}  # GMT, then BST after 28 March
