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


async def test_phase_timer_nudges_then_advances_when_the_template_says_so(services, database, clock):
    schedules, runner = services
    await schedules.create(GUILD, weekly(template_slug="discussion-60", duration_minutes=60))
    start = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    clock.set(start)
    await runner.tick()
    occurrence = (await schedules.upcoming(GUILD, limit=1))[0]
    for index in range(5):  # walk to the closing phase, which advances (ends) on its own (no pass the hat)
        occurrence = await runner.control(GUILD, occurrence.id, "next", index, user_id=9)
    assert occurrence.phase_index == 5
    deadline = occurrence.phase_deadline
    assert deadline == start + timedelta(minutes=4)
    clock.set(deadline - timedelta(minutes=3))
    await runner.tick()
    nudges = [p for k, p in await outbox(database) if k == "dm"]
    assert nudges and nudges[-1]["user_id"] == 9 and "3 minutes left in closing" in nudges[-1]["content"]
    assert await runner.next_due() == deadline
    clock.set(deadline)
    await runner.tick()
    assert (await runner.get(occurrence.id)).state == "completed"


async def test_manual_phases_only_nudge_and_extend_pause_resume_move_the_deadline(services, clock):
    schedules, runner = services
    await schedules.create(GUILD, weekly())
    start = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    clock.set(start)
    await runner.tick()
    occurrence = (await schedules.upcoming(GUILD, limit=1))[0]
    assert occurrence.phase_deadline == start + timedelta(minutes=5)
    extended = await runner.control(GUILD, occurrence.id, "extend", 0, user_id=9)
    assert extended.phase_deadline == start + timedelta(minutes=10)
    clock.set(start + timedelta(minutes=4))
    paused = await runner.control(GUILD, occurrence.id, "pause", 0, user_id=9)
    assert paused.paused and paused.phase_deadline is None
    clock.set(start + timedelta(minutes=30))
    resumed = await runner.control(GUILD, occurrence.id, "resume", 0, user_id=9)
    assert resumed.phase_deadline == start + timedelta(minutes=36)  # six minutes were left when paused
    clock.set(start + timedelta(minutes=40))
    await runner.tick()
    assert (await runner.get(occurrence.id)).phase_index == 0  # a manual phase never advances by itself


async def test_edit_moves_upcoming_meetings_and_keeps_events_in_step(services, database, clock):
    schedules, _runner = services
    series, _upcoming = await schedules.create(GUILD, weekly())
    moved = await schedules.edit(GUILD, series, local_time=time(18, 30), title="Earlier SMART")
    assert moved[0].starts_at == datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    assert all(o.title == "Earlier SMART" for o in moved)
    kinds = [k for k, _ in await outbox(database)]
    # The old 19:00 meetings were replaced: their events cancelled, new ones created.
    assert kinds.count("event_status") == 4
    assert kinds.count("event_create") == 8
    changed_day = await schedules.edit(GUILD, series, weekday=3)
    assert changed_day[0].starts_at.weekday() == 3


async def test_skip_cancels_only_the_next_meeting(services, database):
    schedules, _runner = services
    series, upcoming = await schedules.create(GUILD, weekly())
    skipped = await schedules.skip_next(GUILD, series, "Holiday")
    assert skipped.id == upcoming[0].id and skipped.state == "cancelled"
    remaining = await schedules.upcoming(GUILD, limit=2)
    assert remaining[0].id == upcoming[1].id
    notices = [p["content"] for k, p in await outbox(database) if k == "message"]
    assert any("Holiday" in text for text in notices)


async def test_text_only_meeting_is_an_external_event_and_opens_its_thread_in_that_channel(services, database, clock):
    schedules, runner = services
    await schedules.create(GUILD, weekly(location_kind="text", channel_id=400))
    events = [p for k, p in await outbox(database) if k == "event_create"]
    assert events[0]["entity_type"] == 3 and events[0]["location"].endswith("/400")
    clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    await runner.tick()
    venue = [p for k, p in await outbox(database) if k == "open_venue"]
    assert venue[0]["channel_id"] == 400


async def test_one_off_meeting_in_the_past_is_refused(services):
    schedules, _runner = services
    with pytest.raises(InvalidInputError, match="already passed"):
        await schedules.create(GUILD, weekly(weekday=None, on_date=datetime(2026, 11, 1).date()))
