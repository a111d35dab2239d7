"""End to end: times and dates as people type them (7pm, tomorrow, 1 Dec) and monthly meetings by weekday position."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db.models import MeetingOccurrence, MeetingSchedule
from tests.e2e.conftest import BotHarness, Group, configure
from tests.e2e.test_rota import duty_holders, rota_group
from tests.sandbox.handles import Response
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

TUESDAY = 1
THURSDAY = 3
LAST = -1
FIRST = 1


async def schedule(sandbox: Sandbox, group: Group, **options: object) -> Response:
    """Run /meeting schedule as the facilitator in the voice room; return the bot's answer."""
    handle = await sandbox.actors.invoke(
        group.guild, group.facilitator, "meeting schedule", {"title": "SMART", "channel": group.voice, **options}
    )
    return await handle.response()


async def occurrences(harness: BotHarness) -> list[MeetingOccurrence]:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        return list((await session.scalars(select(MeetingOccurrence).order_by(MeetingOccurrence.starts_at))).all())


async def test_seven_pm_on_tuesday_is_listed_at_19_00_in_the_groups_zone(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group, timezone="America/New_York")
    answer = await schedule(sandbox, group, time="7pm", weekday=TUESDAY)
    assert answer.content.startswith("Scheduled (series `1`, every Tuesday). Next meetings:"), answer.content

    rows = await occurrences(harness)
    new_york = ZoneInfo("America/New_York")
    # 19:00 in New York on Tuesday 1 December is midnight UTC going into Wednesday.
    assert rows[0].starts_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert {row.starts_at.astimezone(new_york).time() for row in rows} == {time(19)}
    assert {row.starts_at.astimezone(new_york).weekday() for row in rows} == {TUESDAY}

    listing = await (await sandbox.actors.invoke(group.guild, group.newcomer, "meeting list")).response()
    for row in rows[:4]:
        assert f"<t:{int(row.starts_at.timestamp())}:F>" in listing.content
    await harness.idle()


async def test_last_thursday_of_the_month(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    smartbot = await harness.start()
    await configure(sandbox, group)
    answer = await schedule(sandbox, group, time="7:30 pm", weekday=THURSDAY, week_of_month=LAST)
    assert "last Thursday of the month" in answer.content, answer.content
    # Meetings are stored eight weeks ahead; the daily extension adds the later months as time goes by.
    for weeks in (4, 8):
        await smartbot.services.schedules.materialise_guild(
            group.guild.id, harness.clock.now() + timedelta(weeks=weeks)
        )
    london = ZoneInfo("Europe/London")
    local = [row.starts_at.astimezone(london) for row in await occurrences(harness)]
    assert [start.date() for start in local] == [date(2026, 12, 31), date(2027, 1, 28), date(2027, 2, 25)]
    assert {start.time() for start in local} == {time(19, 30)}
    listing = await (await sandbox.actors.invoke(group.guild, group.newcomer, "meeting list")).response()
    assert listing.content.count("**SMART**") == 3

    # The facilitator moves it to the first Thursday: the next meeting is this week's.
    edited = await (
        await sandbox.actors.invoke(
            group.guild, group.facilitator, "meeting edit", {"series": 1, "week_of_month": FIRST}
        )
    ).response()
    assert edited.content.startswith("Updated."), edited.content
    upcoming = await smartbot.services.schedules.upcoming(group.guild.id, limit=1)
    assert upcoming[0].starts_at.astimezone(london) == datetime(2026, 12, 3, 19, 30, tzinfo=london)
    await harness.idle()  # the events it asked Discord to move, before the bot stops


async def test_ambiguous_date_is_refused_with_both_readings_and_nothing_stored(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    answer = await schedule(sandbox, group, time="19:00", date="01/12")
    assert answer.ephemeral
    assert answer.content == "`01/12` could be 1 December or 12 January: write it as `1 Dec` or `2026-12-01`."
    monthly_every_two = await schedule(sandbox, group, time="19:00", weekday=TUESDAY, week_of_month=LAST, every_weeks=2)
    assert (
        monthly_every_two.ephemeral and "`every_weeks` can't be used with `week_of_month`" in monthly_every_two.content
    )
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(MeetingSchedule)) == 0
        assert await session.scalar(select(func.count()).select_from(MeetingOccurrence)) == 0

    # Written out, the same date is taken: a one-off on 1 December.
    taken = await schedule(sandbox, group, time="19:00", date="1 Dec")
    assert "Scheduled" in taken.content
    assert [row.starts_at for row in await occurrences(harness)] == [datetime(2026, 12, 1, 19, tzinfo=UTC)]
    await harness.idle()


async def test_tomorrow_is_tomorrow_in_the_groups_zone(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    # At noon UTC on Monday 30 November it is already 02:00 on Tuesday 1 December on Kiritimati (UTC+14).
    await configure(sandbox, group, timezone="Pacific/Kiritimati")
    answer = await schedule(sandbox, group, time="7pm", date="tomorrow")
    assert "Scheduled" in answer.content, answer.content
    rows = await occurrences(harness)
    assert [row.local_start for row in rows] == ["2026-12-02T19:00:00"]
    assert rows[0].starts_at == datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    await harness.idle()


async def test_rota_away_from_tomorrow(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, _free = duty_holders(sandbox, group, people)
    # Today is Monday 30 November: tomorrow is the Tuesday of the first meeting.
    away = await (
        await sandbox.actors.invoke(group.guild, lead, "rota away", {"first_day": "tomorrow", "last_day": "Wed 2 Dec"})
    ).response()
    assert away.content == "Noted. 1 duty in that time is now open for cover."
    await harness.idle()
    assert "Cover needed" in sandbox.last_message(group.facilitators).content

    refused = await (
        await sandbox.actors.invoke(group.guild, lead, "rota away", {"first_day": "3/4", "last_day": "5 Apr"})
    ).response()
    assert refused.ephemeral
    assert refused.content == "`3/4` could be 3 April or 4 March: write it as `3 Apr` or `2027-04-03`."
    await harness.idle()
