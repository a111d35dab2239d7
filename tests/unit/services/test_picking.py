"""Pick lists read only the group's own rows, only those the command can act on, named in the group's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot.domain.meeting_format import load_templates
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.picking import series_picks, upcoming_meeting_picks
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from bot.services.rota.picking import own_duty_picks
from bot.services.rota.service import RotaService
from tests.fixtures.db import FakeClock

HERE, ELSEWHERE = 1 << 22, 2 << 22
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def two_groups(database, clock: FakeClock) -> tuple[ScheduleService, int, int, int]:
    """Schedule a weekly and a one-off meeting here (London) and a weekly one elsewhere (New York)."""
    clock.set(MONDAY_NOON)
    configs = GuildConfigService(database, clock)
    await configs.update(HERE, timezone="Europe/London")
    await configs.update(ELSEWHERE, timezone="America/New_York")
    schedules = ScheduleService(database, clock, load_templates())
    weekly, _ = await schedules.create(
        HERE, ScheduleRequest(title="Tuesday SMART", weekday=1, local_time=time(19), on_date=None, channel_id=5)
    )
    one_off, _ = await schedules.create(
        HERE, ScheduleRequest(title="Open day", weekday=None, local_time=time(10), on_date=date(2026, 12, 5))
    )
    other, _ = await schedules.create(
        ELSEWHERE, ScheduleRequest(title="Other group", weekday=1, local_time=time(19), on_date=None, channel_id=6)
    )
    return schedules, weekly, one_off, other


async def test_meetings_are_the_groups_own_scheduled_ones_in_its_zone(database, clock: FakeClock) -> None:
    schedules, _weekly, _one_off, _other = await two_groups(database, clock)
    picks = await upcoming_meeting_picks(database, clock, HERE, "")
    names = [pick.name for pick in picks]
    assert names[:3] == [
        "Tuesday SMART · Tue 1 Dec, 19:00",
        "Open day · Sat 5 Dec, 10:00",
        "Tuesday SMART · Tue 8 Dec, 19:00",
    ]
    assert not any("Other group" in name for name in names)

    await schedules.cancel_occurrence(HERE, int(picks[0].value), "Snow")
    after = [pick.value for pick in await upcoming_meeting_picks(database, clock, HERE, "")]
    assert picks[0].value not in after and after == [pick.value for pick in picks[1:]]

    # Typing narrows the list; a meeting that has started is no longer offered.
    assert [p.name for p in await upcoming_meeting_picks(database, clock, HERE, "sat")] == [names[1]]
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    assert not await upcoming_meeting_picks(database, clock, HERE, "open")


async def test_series_are_named_by_their_next_meeting(database, clock: FakeClock) -> None:
    _schedules, weekly, one_off, _other = await two_groups(database, clock)
    picks = await series_picks(database, clock, HERE, "")
    assert [(p.value, p.name) for p in picks] == [
        (weekly, "Tuesday SMART · next Tue 1 Dec, 19:00"),
        (one_off, "Open day · next Sat 5 Dec, 10:00"),
    ]
    clock.set(datetime(2026, 12, 6, 12, 0, tzinfo=UTC))  # the one-off is over; its series is still active
    picks = await series_picks(database, clock, HERE, "")
    assert [(p.value, p.name) for p in picks] == [
        (weekly, "Tuesday SMART · next Tue 8 Dec, 19:00"),
        (one_off, "Open day · no meeting ahead"),
    ]
    # `/meeting skip` needs a meeting ahead to skip.
    assert [p.value for p in await series_picks(database, clock, HERE, "", with_next_meeting=True)] == [weekly]


async def test_own_duties_are_the_callers_and_give_the_local_date(database, clock: FakeClock) -> None:
    await two_groups(database, clock)
    rota = RotaService(database, clock)
    for user_id in (7, 8):
        await rota.join(HERE, user_id, roles={"lead", "co"}, trained_since=date(2025, 1, 1), max_per_month=None)
    first = (await upcoming_meeting_picks(database, clock, HERE, ""))[0]
    await rota.pin(HERE, int(first.value), "lead", 7)
    await rota.pin(HERE, int(first.value), "co", 8)

    [mine] = await own_duty_picks(database, clock, HERE, 7, "")
    assert (mine.value, mine.name) == ("2026-12-01", "Tuesday SMART · Tue 1 Dec, 19:00 · lead")
    assert not await own_duty_picks(database, clock, ELSEWHERE, 7, "")
    await rota.swap(HERE, 7, date(2026, 12, 1))  # released: no longer the caller's to swap
    assert not await own_duty_picks(database, clock, HERE, 7, "")
    assert [p.name for p in await own_duty_picks(database, clock, HERE, 8, "tue")] == [
        "Tuesday SMART · Tue 1 Dec, 19:00 · co-facilitator"
    ]
