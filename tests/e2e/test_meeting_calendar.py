"""End to end: `/meeting calendar` gives any member the group's meetings as an .ics file, keeping nothing about them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import select

from bot.db.models import Base, MeetingOccurrence
from bot.services.meetings.common import MATERIALISE_HORIZON
from bot.services.meetings.member_calendar import calendar_filename
from tests.e2e.conftest import BotHarness, Group, configure
from tests.fixtures.bot import build_group
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the harness's clock
FILENAME = "smart-online-group-meetings.ics"


async def schedule(sandbox: Sandbox, group: Group, **options: object) -> None:
    handle = await sandbox.actors.invoke(
        group.guild, group.facilitator, "meeting schedule", {"channel": group.voice, **options}
    )
    answer = await handle.response()
    assert "Scheduled" in answer.content, answer.content


async def scheduled_starts(harness: BotHarness, guild_id: int) -> list[datetime]:
    """Return the group's scheduled meetings within the horizon the bot plans, as the service holds them."""
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        starts = await session.scalars(
            select(MeetingOccurrence.starts_at)
            .where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state == "scheduled",
                MeetingOccurrence.starts_at >= NOW,
                MeetingOccurrence.starts_at < NOW + MATERIALISE_HORIZON,
            )
            .order_by(MeetingOccurrence.starts_at)
        )
        return list(starts.all())


async def stored_anywhere(harness: BotHarness, needle: str) -> list[str]:
    """Return the tables with a row that mentions `needle`."""
    assert harness.bot is not None
    found = []
    async with harness.bot.database.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            if any(needle in repr(tuple(row)) for row in rows):
                found.append(table.name)
    return found


async def test_a_member_gets_the_groups_meetings_as_a_calendar_file(
    sandbox: Sandbox,
    group: Group,
    harness: BotHarness,
    uploads: dict[str, bytes],
    app_logging: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Logging as `python -m bot run --log-level DEBUG` has it (discord.py's payload dumps are held back there).
    other = await build_group(sandbox)
    await harness.start()
    await configure(sandbox, group)
    await configure(sandbox, other, timezone="America/New_York")
    await schedule(sandbox, group, title="Tuesday evening SMART", time="19:00", weekday=1)
    await schedule(sandbox, group, title="Open day", time="10:00", date="2026-12-05")
    await schedule(sandbox, other, title="Another group's meeting", time="09:30", weekday=3)
    await harness.idle()
    cancelled_start = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        cancelled = await session.scalar(
            select(MeetingOccurrence.id).where(MeetingOccurrence.starts_at == cancelled_start)
        )
    answer = await (
        await sandbox.actors.invoke(
            group.guild, group.facilitator, "meeting cancel", {"meeting": cancelled, "reason": "Holiday"}
        )
    ).response()
    assert answer.content.startswith("Cancelled:"), answer.content
    await harness.idle()

    caplog.clear()
    response = await (await sandbox.actors.invoke(group.guild, group.member, "meeting calendar")).response()
    assert response.ephemeral
    assert response.message is not None
    assert [a["filename"] for a in response.message.attachments] == [FILENAME]

    calendar = icalendar.Calendar.from_ical(uploads[FILENAME])
    assert str(calendar["X-WR-CALNAME"]) == "SMART Online Group meetings"
    assert {str(event["SUMMARY"]) for event in calendar.walk("VEVENT")} == {"Tuesday evening SMART", "Open day"}
    # The file's meetings are exactly the group's planned ones: the cancelled date left out, the other group absent.
    instants = sorted(
        occurrence["DTSTART"].dt.astimezone(UTC)
        for occurrence in recurring_ical_events.of(calendar).between(NOW, NOW + MATERIALISE_HORIZON)
    )
    planned = await scheduled_starts(harness, group.guild.id)
    assert instants == planned and cancelled_start not in instants
    assert instants[:3] == [
        datetime(2026, 12, 1, 19, 0, tzinfo=UTC),
        datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
        datetime(2026, 12, 15, 19, 0, tzinfo=UTC),
    ]
    # And they are what `/meeting list` shows.
    listing = await (await sandbox.actors.invoke(group.guild, group.member, "meeting list")).response()
    listed = [datetime.fromtimestamp(int(unix), UTC) for unix in re.findall(r"<t:(\d+):F>", listing.content)]
    assert listed == instants  # eight weeks planned: seven Tuesdays (one cancelled) and the open day

    # Nothing about who asked: not in the file, the logs or the database.
    member_id = str(group.member.user.id)
    assert member_id.encode() not in uploads[FILENAME] and b"max" not in uploads[FILENAME]
    logged = [record.getMessage() for record in caplog.records]
    assert logged and member_id not in "\n".join(logged)
    assert await stored_anywhere(harness, member_id) == []


async def test_a_group_without_meetings_gets_an_empty_calendar(
    sandbox: Sandbox, group: Group, harness: BotHarness, uploads: dict[str, bytes]
) -> None:
    await harness.start()
    await configure(sandbox, group)
    response = await (await sandbox.actors.invoke(group.guild, group.newcomer, "meeting calendar")).response()
    assert response.ephemeral
    calendar = icalendar.Calendar.from_ical(uploads[FILENAME])
    assert calendar.walk("VEVENT") == []
    assert not list(recurring_ical_events.of(calendar).between(NOW, NOW + timedelta(weeks=8)))


@pytest.mark.parametrize(
    ("group_name", "filename"),
    [
        ("SMART Online Group", FILENAME),
        ("  Café Recovery — Leeds!  ", "cafe-recovery-leeds-meetings.ics"),
        ("日本", "smart-meetings.ics"),
        ("x" * 100, "x" * 60 + "-meetings.ics"),
    ],
)
def test_the_file_is_named_after_the_group(group_name: str, filename: str) -> None:
    assert calendar_filename(group_name) == filename
