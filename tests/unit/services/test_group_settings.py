"""A group's timings: validated together, stored where the timers read them, applied to meetings already planned."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import GuildConfig, MeetingReminder
from bot.domain.group_settings import GroupTimings
from bot.domain.meeting_format import load_templates
from bot.errors import InvalidInputError
from bot.services.group_settings import GroupSettingsService
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from bot.services.rota.service import RotaService
from bot.services.rota.timers import RotaTimers

GUILD = 1
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FIRST = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # Tuesday 19:00 in London
WEEKLY = ScheduleRequest(title="Tuesday SMART", weekday=1, local_time=time(19, 0), on_date=None, channel_id=300)


@pytest.fixture
async def service(database, clock) -> GroupSettingsService:
    clock.set(MONDAY_NOON)
    await GuildConfigService(database, clock).update(
        GUILD, timezone="Europe/London", meetings_channel_id=100, reminder_role_id=200
    )
    return GroupSettingsService(database, clock)


async def reminders(database) -> dict[datetime, set[int]]:
    """Return each meeting's pending reminder offsets, by the meeting's start."""
    found: dict[datetime, set[int]] = {}
    async with database.session() as session:
        for row in await session.scalars(select(MeetingReminder).where(MeetingReminder.sent_at.is_(None))):
            start = row.due_at + timedelta(minutes=row.offset_minutes)
            found.setdefault(start, set()).add(row.offset_minutes)
    return found


async def test_defaults_until_set(service: GroupSettingsService) -> None:
    assert await service.get(GUILD) == GroupTimings()
    assert await service.get(999) == GroupTimings()


async def test_values_are_stored_where_the_timers_read_them(service: GroupSettingsService, database) -> None:
    timings = await service.update(
        GUILD, late_start_grace_minutes=20, reminders="24h, 30m", rota_confirm_hours=48, rota_escalate_hours=12
    )
    assert timings == GroupTimings(20, (1440, 30), 48, 12)
    assert await service.get(GUILD) == timings
    async with database.session() as session:
        config = await session.get(GuildConfig, GUILD)
        assert (config.late_start_grace_minutes, config.reminder_offsets) == (20, "1440,30")
    # One value at a time keeps the others; "off" means no reminders.
    assert await service.update(GUILD, reminders="off") == GroupTimings(20, (), 48, 12)
    assert await service.update(GUILD, rota_escalate_hours=6) == GroupTimings(20, (), 48, 6)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rota_escalate_hours": 72}, "less than the confirmation"),
        ({"rota_confirm_hours": 24}, "less than the confirmation"),  # the stored escalation (24) is not less
        ({"rota_confirm_hours": 400}, "14 days"),
        ({"late_start_grace_minutes": 2}, "5 to 120 minutes"),
        ({"reminders": "5,10,15,20"}, "at most 3"),
        ({"reminders": "2 weeks"}, "isn't a reminder time"),
        ({"late_start_grace_minutes": 30, "reminders": "8d"}, "from 5 minutes to 7 days"),
    ],
)
async def test_a_refused_value_changes_nothing(service: GroupSettingsService, changes, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        await service.update(GUILD, **changes)
    assert await service.get(GUILD) == GroupTimings()


async def test_new_reminder_times_apply_to_meetings_already_planned(
    service: GroupSettingsService, database, clock
) -> None:
    await ScheduleService(database, clock, load_templates()).create(GUILD, WEEKLY)
    before = await reminders(database)
    assert before[FIRST] == {1440, 15} and len(before) == 8  # eight weeks ahead
    clock.set(FIRST - timedelta(hours=2))  # today's day-before reminder is past (as if sent); 15 minutes is to come
    async with database.session() as session:
        first_day_before = await session.scalar(
            select(MeetingReminder).where(MeetingReminder.due_at == FIRST - timedelta(days=1))
        )
        first_day_before.sent_at = FIRST - timedelta(days=1)
    await service.update(GUILD, reminders="1h,30m")
    after = await reminders(database)
    # The first meeting is in 2 hours: both new times are still ahead; every later meeting gets both too.
    assert after[FIRST] == {60, 30}
    assert all(offsets == {60, 30} for offsets in after.values()) and len(after) == 8
    async with database.session() as session:
        sent = (await session.scalars(select(MeetingReminder).where(MeetingReminder.sent_at.is_not(None)))).all()
    assert [row.offset_minutes for row in sent] == [1440]  # what was sent stays recorded
    # A time already past for the first meeting is not added to it.
    await service.update(GUILD, reminders="3h,30m")
    assert (await reminders(database))[FIRST] == {30}


async def test_the_rota_asks_for_confirmation_at_the_new_hours(service: GroupSettingsService, database, clock) -> None:
    await ScheduleService(database, clock, load_templates()).create(GUILD, WEEKLY)
    rota = RotaService(database, clock)
    await rota.join(GUILD, 7, roles={"lead"}, trained_since=date(2025, 1, 1), max_per_month=None)
    await rota.generate(GUILD)
    timers = RotaTimers(database, clock, rota)
    clock.set(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))  # the first meeting is over; the next one is in 6 days
    second = FIRST + timedelta(days=7)
    assert await timers.next_due() == second - timedelta(hours=72)  # the default
    await service.update(GUILD, rota_confirm_hours=30, rota_escalate_hours=6)
    assert await timers.next_due() == second - timedelta(hours=30)


async def test_meeting_channels_are_those_of_active_series(service: GroupSettingsService, database, clock) -> None:
    schedules = ScheduleService(database, clock, load_templates())
    await schedules.create(GUILD, WEEKLY)
    await schedules.create(GUILD, ScheduleRequest(**{**WEEKLY.__dict__, "channel_id": 301, "location_kind": "text"}))
    assert await service.meeting_channels(GUILD) == [(300, "voice"), (301, "text")]
    assert await service.meeting_channels(2) == []
