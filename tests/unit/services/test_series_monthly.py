"""Series that meet monthly on a weekday's position ("last Thursday"): created, edited, and refused when unclear."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models import MeetingOccurrence, MeetingSchedule
from bot.domain.meeting_format import load_templates
from bot.errors import InvalidInputError
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService, WEEKLY
from tests.fixtures.db import FakeClock

GUILD = 1
LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LAST_THURSDAYS = [date(2026, 12, 31), date(2027, 1, 28), date(2027, 2, 25), date(2027, 3, 25)]
FIRST_TUESDAYS = [date(2026, 12, 1), date(2027, 1, 5), date(2027, 2, 2), date(2027, 3, 2)]
NOT_EVERY_WEEKS = (
    "A meeting on the last Thursday of the month repeats monthly, so `every_weeks` can't be used with "
    "`week_of_month`: leave `every_weeks` at 1."
)
NEEDS_WEEKDAY = (
    "`week_of_month` needs a `weekday` too, e.g. week_of_month:Last weekday:Thursday for the last Thursday "
    "of each month."
)
NO_FIFTH = "A monthly meeting can be on the first, second, third, fourth or last weekday of the month, not 5."


@pytest.fixture
async def schedules(database: Database, clock: FakeClock) -> ScheduleService:
    clock.set(MONDAY)
    await GuildConfigService(database, clock).update(GUILD, timezone="Europe/London", meetings_channel_id=100)
    return ScheduleService(database, clock, load_templates())


def monthly(week_of_month: int | None, weekday: int | None = 3, **changes: object) -> ScheduleRequest:
    request = ScheduleRequest(
        title="Monthly SMART",
        weekday=weekday,
        local_time=time(19, 0),
        on_date=None,
        week_of_month=week_of_month,
        channel_id=300,
    )
    return ScheduleRequest(**{**request.__dict__, **changes})  # type: ignore[arg-type]


async def local_starts(database: Database, series: int) -> list[datetime]:
    """Return the series' scheduled meetings as local wall times in London, in order."""
    async with database.session() as session:
        starts = await session.scalars(
            select(MeetingOccurrence.starts_at)
            .where(MeetingOccurrence.schedule_id == series, MeetingOccurrence.state == "scheduled")
            .order_by(MeetingOccurrence.starts_at)
        )
        return [start.astimezone(LONDON).replace(tzinfo=None) for start in starts]


async def months_of_meetings(
    schedules: ScheduleService, clock: FakeClock, database: Database, series: int
) -> list[date]:
    """Return the series' meeting dates over four months, moving the clock as the daily extension would see it."""
    # Meetings are stored eight weeks ahead, about two of a monthly series; later ones come as time passes.
    for _step in range(4):
        clock.set(clock.now() + timedelta(weeks=4))
        await schedules.materialise_guild(GUILD)
    return [start.date() for start in await local_starts(database, series)][:4]


async def stored_rule(database: Database, series: int) -> str | None:
    async with database.session() as session:
        schedule = await session.get(MeetingSchedule, series)
        assert schedule is not None
        return schedule.rrule


async def test_last_thursday_of_each_month(schedules: ScheduleService, database: Database, clock: FakeClock) -> None:
    series, shown = await schedules.create(GUILD, monthly(-1))
    assert await stored_rule(database, series) == ("FREQ=MONTHLY;INTERVAL=1;BYDAY=-1TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0")
    assert [view.starts_at for view in shown] == [datetime(2026, 12, 31, 19, tzinfo=UTC)]  # eight weeks ahead
    assert await months_of_meetings(schedules, clock, database, series) == LAST_THURSDAYS
    # 19:00 on the wall in winter and in summer time alike.
    assert {start.time() for start in await local_starts(database, series)} == {time(19)}


async def test_a_first_week_date_starts_the_series_from_that_month(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _shown = await schedules.create(GUILD, monthly(1, weekday=1, on_date=date(2027, 1, 1)))
    assert (await months_of_meetings(schedules, clock, database, series))[:3] == FIRST_TUESDAYS[1:]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (monthly(-1, interval_weeks=2), NOT_EVERY_WEEKS),
        (monthly(1, weekday=None), NEEDS_WEEKDAY),
        (monthly(5), NO_FIFTH),
    ],
)
async def test_unclear_monthly_requests_are_refused_and_nothing_is_stored(
    schedules: ScheduleService, database: Database, request_: ScheduleRequest, message: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await schedules.create(GUILD, request_)
    assert caught.value.message == message
    async with database.session() as session:
        assert (await session.scalars(select(MeetingSchedule))).all() == []


async def test_editing_the_time_keeps_a_monthly_series_monthly(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _shown = await schedules.create(GUILD, monthly(-1))
    await schedules.edit(GUILD, series, local_time=time(18, 30))
    assert "BYDAY=-1TH;BYHOUR=18;BYMINUTE=30" in (await stored_rule(database, series) or "")
    assert await months_of_meetings(schedules, clock, database, series) == LAST_THURSDAYS
    assert {start.time() for start in await local_starts(database, series)} == {time(18, 30)}


async def test_editing_the_weekday_keeps_the_position(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _shown = await schedules.create(GUILD, monthly(1))  # first Thursdays: 3 December...
    await schedules.edit(GUILD, series, weekday=1)
    assert await months_of_meetings(schedules, clock, database, series) == FIRST_TUESDAYS


async def test_a_weekly_series_becomes_monthly_and_back(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _shown = await schedules.create(GUILD, monthly(None, interval_weeks=2))  # every other Thursday
    await schedules.edit(GUILD, series, week_of_month=-1)
    assert [start.date() for start in await local_starts(database, series)] == LAST_THURSDAYS[:1]
    assert "FREQ=MONTHLY;INTERVAL=1;BYDAY=-1TH" in (await stored_rule(database, series) or "")

    await schedules.edit(GUILD, series, week_of_month=WEEKLY)
    assert await stored_rule(database, series) == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0"
    starts = await local_starts(database, series)
    assert [start.date() for start in starts[:3]] == [date(2026, 12, 3), date(2026, 12, 10), date(2026, 12, 17)]
