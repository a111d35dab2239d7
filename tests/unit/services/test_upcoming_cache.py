"""`/meeting list`'s rows are kept in memory until this process writes a meeting, or a listed meeting ends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from bot.db.engine import Database
from bot.db.models import MeetingOccurrence
from bot.domain.meeting_format import load_templates
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from tests.fixtures.db import FakeClock, statements

GUILD = 1
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TABLE = MeetingOccurrence.__tablename__


@pytest.fixture
async def schedules(database: Database, clock: FakeClock) -> ScheduleService:
    clock.set(MONDAY)
    await GuildConfigService(database, clock).update(GUILD, timezone="Europe/London", meetings_channel_id=100)
    service = ScheduleService(database, clock, load_templates())
    request = ScheduleRequest(title="SMART", weekday=1, local_time=time(19, 0), on_date=None, channel_id=300)
    await service.create(GUILD, request)
    return service


async def test_a_second_list_runs_no_sql(schedules: ScheduleService, database: Database) -> None:
    first = await schedules.upcoming(GUILD)
    with statements(database) as seen:
        again = await schedules.upcoming(GUILD)
    assert again == first and len(first) == 8  # eight weeks ahead
    assert seen == []


async def test_a_cancelled_meeting_leaves_the_list_at_once(schedules: ScheduleService) -> None:
    first = await schedules.upcoming(GUILD)
    await schedules.cancel_occurrence(GUILD, first[0].id, "Room unavailable")
    assert first[0].id not in [view.id for view in await schedules.upcoming(GUILD)]


async def test_a_write_by_plain_update_statement_is_seen(schedules: ScheduleService, database: Database) -> None:
    first = await schedules.upcoming(GUILD)
    async with database.session() as session:
        await session.execute(
            update(MeetingOccurrence).where(MeetingOccurrence.id == first[1].id).values(title="Renamed")
        )
    assert (await schedules.upcoming(GUILD))[1].title == "Renamed"


async def test_a_meeting_that_has_ended_leaves_the_list_without_a_write(
    schedules: ScheduleService, clock: FakeClock
) -> None:
    first = await schedules.upcoming(GUILD)
    clock.set(first[0].ends_at + timedelta(seconds=1))
    later = await schedules.upcoming(GUILD)
    assert [view.id for view in later][:7] == [view.id for view in first][1:]


async def test_the_version_moves_on_committed_writes_only(database: Database, schedules: ScheduleService) -> None:
    before = database.version(TABLE)
    async with database.session() as session:
        await session.scalars(select(MeetingOccurrence))
    assert database.version(TABLE) == before  # reading writes nothing
    with pytest.raises(RuntimeError):
        async with database.session() as session:
            await session.execute(update(MeetingOccurrence).values(title="Never"))
            raise RuntimeError("rolled back")
    assert database.version(TABLE) == before  # nothing was committed
    async with database.session() as session:
        row = await session.scalar(select(MeetingOccurrence).limit(1))
        assert row is not None
        row.title = "Changed through the entity"
    assert database.version(TABLE) == before + 1
