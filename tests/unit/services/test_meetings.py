import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import MeetingOccurrence, Outbox
from bot.domain.meeting_format import load_templates
from bot.errors import ConflictError, InvalidInputError
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.runner import MeetingRunner
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService

GUILD = 1
TEMPLATES = load_templates()


@pytest.fixture
async def services(database, clock):
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))  # a Monday
    config = GuildConfigService(database, clock)
    await config.update(
        GUILD,
        timezone="Europe/London",
        meetings_channel_id=100,
        coordinators_channel_id=101,
        facilitators_channel_id=102,
        reminder_role_id=200,
    )
    return ScheduleService(database, clock, TEMPLATES), MeetingRunner(database, clock, TEMPLATES)


async def outbox(database):
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
        return [(row.kind, json.loads(row.payload)) for row in rows]


def weekly(**overrides):
    base = ScheduleRequest(title="Tuesday SMART", weekday=1, local_time=time(19, 0), on_date=None, channel_id=300)
    return replace(base, **overrides)


async def test_weekly_schedule_materialises_local_time_and_events(services, database):
    schedules, _runner = services
    _id, upcoming = await schedules.create(GUILD, weekly())
    assert upcoming[0].starts_at == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # GMT in winter
    kinds = [kind for kind, _ in await outbox(database)]
    assert kinds.count("event_create") == 4


async def test_summer_meeting_keeps_local_wall_time(services, clock):
    schedules, _runner = services
    clock.set(datetime(2027, 3, 20, 12, 0, tzinfo=UTC))
    _id, upcoming = await schedules.create(GUILD, weekly())
    assert [o.starts_at.hour for o in upcoming] == [19, 18, 18]  # 19:00 local: GMT, then BST after 28 March


async def test_bad_input_changes_nothing(services, database):
    schedules, _runner = services
    with pytest.raises(InvalidInputError, match="format"):
        await schedules.create(GUILD, weekly(template_slug="nope"))
    with pytest.raises(InvalidInputError):
        await schedules.create(GUILD, weekly(timezone="Mars/Base"))
    async with database.session() as session:
        assert (await session.scalars(select(MeetingOccurrence))).all() == []


async def test_meeting_runs_through_reminders_phases_and_end(services, database, clock):
    schedules, runner = services
    await schedules.create(GUILD, weekly())
    start = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    clock.set(start - timedelta(hours=24))
    await runner.tick()
    messages = [p for k, p in await outbox(database) if k == "message"]
    assert any(p.get("ping_role_id") == 200 for p in messages)
    assert any("no facilitator" in p["content"] for p in messages)
    clock.set(start)
    await runner.tick()
    occurrence = (await schedules.upcoming(GUILD, limit=1))[0]
    assert occurrence.state == "running"
    await runner.tick()  # a second tick in the same instant changes nothing
    kinds = [k for k, _ in await outbox(database)]
    assert kinds.count("open_venue") == 1
    assert kinds.count("panel") == 1
    with pytest.raises(ConflictError):
        await runner.control(GUILD, occurrence.id, "next", 5, user_id=9)
    view = await runner.control(GUILD, occurrence.id, "next", 0, user_id=9)
    assert view.phase_index == 1
    assert view.facilitator_id == 9
    view = await runner.control(GUILD, occurrence.id, "end", 1, user_id=9)
    assert view.state == "completed"
    assert [t["key"] for t in view.phase_timings] == ["welcome", "check-in"]
    assert all(t["ended"] for t in view.phase_timings)


async def test_start_missed_beyond_grace_alerts_coordinators(services, database, clock):
    schedules, runner = services
    await schedules.create(GUILD, weekly())
    clock.set(datetime(2026, 12, 1, 19, 16, tzinfo=UTC))
    await runner.tick()
    async with database.session() as session:
        first = await session.scalar(select(MeetingOccurrence).order_by(MeetingOccurrence.starts_at))
        assert (first.state, first.reason) == ("missed", "bot down")
    assert any("was missed" in p.get("content", "") and p["channel_id"] == 101 for k, p in await outbox(database))


async def test_late_start_within_grace_opens_with_a_note(services, database, clock):
    schedules, runner = services
    await schedules.create(GUILD, weekly())
    clock.set(datetime(2026, 12, 1, 19, 10, tzinfo=UTC))
    await runner.tick()
    contents = [p.get("content", "") for k, p in await outbox(database) if k == "message"]
    assert any("late start" in c for c in contents)
