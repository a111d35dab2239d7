from datetime import UTC, datetime, time

import icalendar

from bot.domain.meeting_format import load_templates
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.calendar import guild_calendar
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService


async def test_calendar_has_series_zone_and_cancellations(database, clock):
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    await GuildConfigService(database, clock).update(1, timezone="America/New_York", meetings_channel_id=5)
    schedules = ScheduleService(database, clock, load_templates())
    request = ScheduleRequest(title="Evening SMART", weekday=2, local_time=time(18, 30), on_date=None, channel_id=7)
    _series, upcoming = await schedules.create(1, request)
    await schedules.cancel_occurrence(1, upcoming[1].id, "Holiday")
    calendar = icalendar.Calendar.from_ical(await guild_calendar(database, clock, 1))
    event = next(iter(calendar.walk("VEVENT")))
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "America/New_York"
    assert "BYDAY=WE" in event["RRULE"].to_ical().decode()
    exdates = [d.dt for d in event["EXDATE"].dts] if not isinstance(event["EXDATE"], list) else []
    assert [d.replace(tzinfo=None) for d in exdates] == [datetime(2026, 12, 9, 18, 30)]
