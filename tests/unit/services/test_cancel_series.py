"""Ending a series: every upcoming meeting of it cancelled, nothing else touched, members told, events cancelled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models import MeetingOccurrence, MeetingSchedule, Outbox
from bot.domain.meeting_format import load_templates
from bot.errors import InvalidInputError, NotFoundError
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from tests.fixtures.db import FakeClock

GUILD, OTHER_GUILD = 1, 2
MEETINGS_CHANNEL = 100
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FIRST_TUESDAY = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


@pytest.fixture
async def schedules(database: Database, clock: FakeClock) -> ScheduleService:
    clock.set(MONDAY)
    config = GuildConfigService(database, clock)
    for guild_id in (GUILD, OTHER_GUILD):
        await config.update(guild_id, timezone="Europe/London", meetings_channel_id=MEETINGS_CHANNEL)
    return ScheduleService(database, clock, load_templates())


def weekly(title: str, weekday: int) -> ScheduleRequest:
    return ScheduleRequest(title=title, weekday=weekday, local_time=time(19, 0), on_date=None, channel_id=300)


async def occurrences(database: Database) -> dict[int, MeetingOccurrence]:
    async with database.session() as session:
        return {row.id: row for row in (await session.scalars(select(MeetingOccurrence))).all()}


async def outbox_after(database: Database, last_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Return the items enqueued after `last_id`: kind, occurrence and payload."""
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.id > last_id).order_by(Outbox.id))).all()
        return [(row.kind, row.occurrence_id, json.loads(row.payload)) for row in rows]


async def last_outbox_id(database: Database) -> int:
    async with database.session() as session:
        return max((await session.scalars(select(Outbox.id))).all(), default=0)


async def set_state(database: Database, occurrence_id: int, state: str) -> None:
    async with database.session() as session:
        row = await session.get(MeetingOccurrence, occurrence_id)
        assert row is not None
        row.state = state


async def test_cancelling_a_series_cancels_its_upcoming_meetings_and_nothing_else(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    tuesdays, _shown = await schedules.create(GUILD, weekly("Tuesday SMART", 1))
    thursdays, _shown = await schedules.create(GUILD, weekly("Thursday SMART", 3))
    theirs, _shown = await schedules.create(OTHER_GUILD, weekly("Their Tuesday", 1))
    before = await occurrences(database)
    mine = sorted((row for row in before.values() if row.schedule_id == tuesdays), key=lambda row: row.starts_at)
    # A week on: the first Tuesday was held, the second is running now.
    held, running = mine[0], mine[1]
    await set_state(database, held.id, "completed")
    await set_state(database, running.id, "running")
    clock.set(FIRST_TUESDAY + timedelta(weeks=1, minutes=10))
    upcoming = {row.id for row in mine[2:]}
    assert upcoming
    last = await last_outbox_id(database)

    assert await schedules.cancel_series(GUILD, tuesdays, "  The venue   has closed ") == len(upcoming)

    after = await occurrences(database)
    assert {i for i, row in after.items() if row.state == "cancelled"} == upcoming
    assert {after[i].reason for i in upcoming} == {"The venue has closed"}
    assert (after[held.id].state, after[running.id].state) == ("completed", "running")
    # Other series, here and in another group, are untouched.
    others = [i for i, row in before.items() if row.schedule_id in (thursdays, theirs)]
    assert others and {after[i].state for i in others} == {"scheduled"}
    async with database.session() as session:
        active = {s.id: s.active for s in (await session.scalars(select(MeetingSchedule))).all()}
    assert active == {tuesdays: False, thursdays: True, theirs: True}

    items = await outbox_after(database, last)
    # Members are told once, in the meetings channel, with the reason; not once per meeting.
    messages = [payload for kind, _occurrence, payload in items if kind == "message"]
    assert messages == [
        {
            "channel_id": MEETINGS_CHANNEL,
            "content": "**Tuesday SMART** will no longer meet. Reason: The venue has closed",
        }
    ]
    # Every cancelled meeting that had a Discord event has it cancelled (status 4) through the outbox; no other.
    with_events = {i for i in upcoming if before[i].event_requested or before[i].event_id}
    assert with_events
    cancelled_events = [(occurrence, payload) for kind, occurrence, payload in items if kind == "event_status"]
    assert sorted(cancelled_events, key=lambda item: item[0] or 0) == [(i, {"status": 4}) for i in sorted(with_events)]
    assert {kind for kind, _occurrence, _payload in items} == {"message", "event_status"}


async def test_an_ended_series_gets_no_new_meetings(
    schedules: ScheduleService, database: Database, clock: FakeClock
) -> None:
    series, _shown = await schedules.create(GUILD, weekly("Tuesday SMART", 1))
    await schedules.cancel_series(GUILD, series, "Group closed")
    clock.set(MONDAY + timedelta(weeks=6))
    await schedules.materialise_guild(GUILD)
    assert {row.state for row in (await occurrences(database)).values()} == {"cancelled"}
    assert await schedules.upcoming(GUILD) == []


async def test_a_series_is_ended_only_once_only_by_its_own_group_and_only_with_a_reason(
    schedules: ScheduleService, database: Database
) -> None:
    series, _shown = await schedules.create(GUILD, weekly("Tuesday SMART", 1))
    with pytest.raises(NotFoundError):
        await schedules.cancel_series(OTHER_GUILD, series, "Not ours")
    with pytest.raises(InvalidInputError):
        await schedules.cancel_series(GUILD, series, "   ")
    with pytest.raises(InvalidInputError):
        await schedules.cancel_series(GUILD, series, "x" * 301)
    assert {row.state for row in (await occurrences(database)).values()} == {"scheduled"}
    await schedules.cancel_series(GUILD, series, "Group closed")
    with pytest.raises(NotFoundError):
        await schedules.cancel_series(GUILD, series, "Again")
    with pytest.raises(NotFoundError):
        await schedules.cancel_series(GUILD, 9999, "No such series")
