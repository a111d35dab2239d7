"""The public listing: a Meeting Guide feed that validates, calendars that match `schedule preview`, no ids."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import jsonschema
import pytest
import recurring_ical_events
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli_schedule import schedule_app
from bot.db.models import MeetingOccurrence, MeetingSchedule
from bot.domain.meeting_format import load_templates
from bot.errors import NotFoundError
from bot.services.meetings.schedules import ScheduleService
from bot.services.referral.feed import (
    MEETING_TYPES,
    group_calendar,
    group_calendar_by_slug,
    group_page_by_slug,
    meetings_feed,
    write_feed,
)
from bot.services.referral.listing import ListingInputError, ListingService, slug_of
from tests.fixtures import publicity
from tests.fixtures.publicity import GUILD, OTHER_GUILD, WELSH_NAME, seed_group

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "meeting_feed_schema"
FEB_25 = datetime(2027, 2, 25, 12, 0, tzinfo=UTC)
JOIN = "https://discord.gg/YnysMon7"
HIDDEN_NAME = "Quiet Valley Group"


def feed_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / "meeting-feed.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


async def two_groups(database, clock):
    """One group listed; another that was listed and then turned off."""
    clock.set(FEB_25)
    listed = await seed_group(database, clock, GUILD, first=date(2027, 3, 1))
    await seed_group(database, clock, OTHER_GUILD, first=date(2027, 3, 1))
    listings = ListingService(database, clock)
    await listings.list_group(
        GUILD, public_name=WELSH_NAME, description="Croeso! A friendly group in north Wales.", join_url=JOIN
    )
    await listings.list_group(OTHER_GUILD, public_name=HIDDEN_NAME, join_url="https://discord.com/invite/Hidden1")
    await listings.unlist_group(OTHER_GUILD)
    return listed


async def test_the_feed_validates_and_lists_only_weekly_meetings_of_listed_groups(database, clock):
    listed = await two_groups(database, clock)
    feed = await meetings_feed(database, clock, base_url="https://example.org/meetings/")
    feed_validator().validate(feed)
    known_types = set(json.loads((SCHEMA_DIR / "types.json").read_text("utf-8")))
    assert [entry["slug"] for entry in feed] == [f"smart-ynys-mon-ty-ddewi-{listed.weekly_id}"]
    (entry,) = feed
    assert set(entry["types"]) - known_types == {"ONL"}  # TSML's own code for online; the rest are the spec's
    assert entry["types"] == list(MEETING_TYPES)
    assert entry | {"updated": None, "notes": None} == {
        "name": "Tuesday evening",
        "slug": f"smart-ynys-mon-ty-ddewi-{listed.weekly_id}",
        "day": 2,  # Tuesday, counting Sunday as 0
        "time": "19:00",
        "end_time": "20:30",
        "timezone": "Europe/London",
        "conference_url": JOIN,
        "types": ["A", "ONL"],
        "notes": None,
        "group": WELSH_NAME,
        "updated": None,
        "url": "https://example.org/meetings/smart-ynys-mon-ty-ddewi.html",
    }
    assert entry["notes"].startswith("Croeso! A friendly group in north Wales.")
    assert entry["updated"] == "2027-02-25 12:00:00"
    assert HIDDEN_NAME not in json.dumps(feed)


async def test_a_feed_breaking_the_schema_is_caught():
    bad = [{"name": "x", "slug": "has spaces", "day": 7, "time": "7pm"}]
    errors = list(feed_validator().iter_errors(bad))
    assert len(errors) >= 3


@pytest.mark.parametrize("series", ["weekly_id", "fortnightly_id", "monthly_id"])
async def test_the_ics_round_trips_with_the_same_instants_as_schedule_preview(database, clock, series):
    listed = await two_groups(database, clock)
    schedule_id = getattr(listed, series)
    async with database.session() as session:
        schedule = await session.get(MeetingSchedule, schedule_id)
        assert schedule is not None
        rrule, start = schedule.rrule, schedule.dtstart_local
        second = await session.scalar(
            select(MeetingOccurrence)
            .where(MeetingOccurrence.schedule_id == schedule_id)
            .order_by(MeetingOccurrence.starts_at)
            .offset(1)
        )
    assert second is not None
    await ScheduleService(database, clock, load_templates()).cancel_occurrence(GUILD, second.id, "Holiday")
    listing = await ListingService(database, clock).get(GUILD)
    assert listing is not None
    calendar = icalendar.Calendar.from_ical(await group_calendar(database, clock, listing))
    events = [
        event
        for event in recurring_ical_events.of(calendar).between(FEB_25, FEB_25 + timedelta(days=300))
        if str(event["UID"]).endswith(f"-{schedule_id}@smart-meetings-bot")
    ]
    from_ics = sorted(event["DTSTART"].dt.astimezone(UTC) for event in events)

    preview = CliRunner().invoke(
        schedule_app,
        ["preview", "--rrule", rrule, "--tz", "Europe/London", "--start", start[:16], "--count", "60", "--json"],
    )
    assert preview.exit_code == 0, preview.output
    from_preview = [datetime.fromisoformat(row["utc"]) for row in json.loads(preview.stdout)]
    in_window = [when for when in from_preview if when < FEB_25 + timedelta(days=300)]
    assert len(in_window) >= 9
    # The same instants (across the March and October clock changes), less the one meeting cancelled.
    assert from_ics == [when for when in in_window if when != second.starts_at]
    assert second.starts_at in in_window


async def test_no_member_facilitator_channel_role_or_server_id_in_any_output(database, clock, tmp_path):
    await two_groups(database, clock)
    async with database.session() as session:
        occurrence = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.guild_id == GUILD))
        assert occurrence is not None
        occurrence.facilitator_id = 945678901234567801
    written = await write_feed(database, clock, tmp_path)
    assert sorted(path.name for path in written) == [
        "meetings.json",
        "smart-ynys-mon-ty-ddewi.html",
        "smart-ynys-mon-ty-ddewi.ics",
    ]
    ids = {value for name, value in vars(publicity).items() if name.isupper() and isinstance(value, int)}
    ids.add(945678901234567801)
    async with database.session() as session:
        for table in (MeetingSchedule, MeetingOccurrence):
            for row in await session.scalars(select(table)):
                ids.update(value for value in vars(row).values() if isinstance(value, int) and value > 10**15)
    assert len(ids) >= 9
    for path in written:
        content = path.read_text("utf-8")
        leaked = [found for found in ids if str(found) in content]
        assert leaked == [], f"{path.name} contains {leaked}"
        assert "discord.com/channels" not in content
    page = (tmp_path / "smart-ynys-mon-ty-ddewi.html").read_text("utf-8")
    assert WELSH_NAME in page and "Tuesdays, 7pm UK time" in page and JOIN in page
    assert "Samaritans free on 116 123" in page
    assert HIDDEN_NAME not in page


async def test_the_web_functions_serve_listed_groups_only(database, clock):
    await two_groups(database, clock)
    hidden = slug_of(HIDDEN_NAME)
    assert await group_page_by_slug(database, clock, hidden) is None
    assert await group_calendar_by_slug(database, clock, hidden) is None
    page = await group_page_by_slug(database, clock, "smart-ynys-mon-ty-ddewi")
    assert page is not None and "Tŷ Ddewi" in page
    ics = await group_calendar_by_slug(database, clock, "smart-ynys-mon-ty-ddewi")
    assert ics is not None and b"BEGIN:VCALENDAR" in ics


async def test_the_page_escapes_what_coordinators_wrote(database, clock):
    clock.set(FEB_25)
    await seed_group(database, clock, GUILD, first=date(2027, 3, 1))
    await ListingService(database, clock).list_group(
        GUILD, public_name="Caerdydd <b>", description="<script>alert(1)</script>", join_url=JOIN
    )
    page = await group_page_by_slug(database, clock, "caerdydd-b")
    assert page is not None
    assert "<script>alert" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("join_url", "https://discord.com/channels/1/2", "must be a Discord invite"),
        ("join_url", "http://discord.gg/abc", "must be a Discord invite"),
        ("public_name", "   ", "can't be empty"),
        ("public_name", "x" * 101, "at most 100"),
        ("description", "Ask <@123456> for help", "can't mention"),
    ],
)
async def test_bad_listing_input_is_refused_and_nothing_is_stored(database, clock, field, value, message):
    values = {"public_name": "Group", "join_url": JOIN, "description": "Hello"} | {field: value}
    with pytest.raises(ListingInputError, match=message):
        await ListingService(database, clock).list_group(GUILD, **values)
    assert await ListingService(database, clock).get(GUILD) is None


async def test_slugs_are_unique_and_kept_after_a_rename(database, clock):
    listings = ListingService(database, clock)
    first = await listings.list_group(1, public_name="Grŵp Ynys Môn", join_url=JOIN)
    second = await listings.list_group(2, public_name="Grwp Ynys Mon", join_url="https://discord.gg/Other2")
    assert (first.slug, second.slug) == ("grwp-ynys-mon", "grwp-ynys-mon-2")
    renamed = await listings.list_group(1, public_name="SMART Môn")
    assert (renamed.slug, renamed.public_name, renamed.join_url) == ("grwp-ynys-mon", "SMART Môn", JOIN)
    with pytest.raises(NotFoundError):
        await listings.unlist_group(3)
    with pytest.raises(ListingInputError, match="join link"):
        await listings.list_group(3, public_name="No link yet")


def test_python_m_bot_feed_writes_a_folder_or_the_json_alone(tmp_path):
    import asyncio

    from bot.cli import app
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from bot.settings import load_settings
    from tests.fixtures.db import FakeClock

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"

    async def fill() -> None:
        database = Database(url)
        await upgrade(database)
        await two_groups(database, FakeClock())
        await database.dispose()

    asyncio.run(fill())
    settings = load_settings(database_url=url, _env_file=None)
    folder = tmp_path / "public"
    result = CliRunner().invoke(
        app, ["feed", "--out", str(folder), "--base-url", "https://example.org/m"], obj=settings
    )
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in folder.iterdir()) == [
        "meetings.json",
        "smart-ynys-mon-ty-ddewi.html",
        "smart-ynys-mon-ty-ddewi.ics",
    ]
    feed = json.loads((folder / "meetings.json").read_text("utf-8"))
    feed_validator().validate(feed)
    assert feed[0]["url"] == "https://example.org/m/smart-ynys-mon-ty-ddewi.html"
    single = tmp_path / "only.json"
    result = CliRunner().invoke(app, ["feed", "--out", str(single)], obj=settings)
    assert result.exit_code == 0, result.output
    assert [entry["conference_url"] for entry in json.loads(single.read_text("utf-8"))] == [JOIN]
    assert "url" not in json.loads(single.read_text("utf-8"))[0]
