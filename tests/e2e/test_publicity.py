"""End to end: `/referral poster` and `/referral listing on|off` through the real bot and the sandbox."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest

from bot.services.referral.feed import meetings_feed, write_feed
from bot.services.referral.listing import ListingService
from tests.e2e.conftest import BotHarness, Group, configure
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

ROUTE = "Anytown Alcohol Service"


async def a_group_with_a_route(sandbox: Sandbox, group: Group, harness: BotHarness) -> str:
    """Start the bot, set the group up with a weekly meeting, and make a referral route; return its link."""
    await harness.start()
    await configure(sandbox, group)
    scheduled = await (
        await sandbox.actors.invoke(
            group.guild,
            group.facilitator,
            "meeting schedule",
            {"channel": group.voice, "title": "Tuesday evening", "time": "19:00", "weekday": 1},
        )
    ).response()
    assert "Scheduled" in scheduled.content, scheduled.content
    created = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "referral create", {"name": ROUTE})
    ).response()
    match = re.search(r"https://discord\.gg/[A-Za-z0-9-]+", created.content)
    assert match is not None, created.content
    return match[0]


async def test_a_coordinator_gets_a_leaflet_only_they_see(
    sandbox: Sandbox, group: Group, harness: BotHarness, uploads: dict[str, bytes]
) -> None:
    link = await a_group_with_a_route(sandbox, group, harness)
    choices = await sandbox.actors.autocomplete(
        group.guild, group.coordinator, "referral poster", {"route": "anytown"}, focused="route"
    )
    assert [choice["value"] for choice in choices] == [ROUTE]
    response = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "referral poster", {"route": ROUTE, "size": "a5"})
    ).response()
    assert response.ephemeral
    assert link in response.content
    assert response.message is not None
    (attachment,) = response.message.attachments
    assert attachment["filename"] == "smart-online-group-anytown-alcohol-service-leaflet.pdf"
    pdf = uploads[attachment["filename"]]
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftoppm") is not None:
        import zxingcpp
        from PIL import Image

        from bot.services.referral.poster import pdf_to_png

        image = Image.open(io.BytesIO(pdf_to_png(pdf)))
        assert [found.text for found in zxingcpp.read_barcodes(image)] == [link]


async def test_members_cannot_make_posters_or_change_the_listing(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await a_group_with_a_route(sandbox, group, harness)
    for command, options in (("referral poster", {}), ("referral listing on", {"route": ROUTE})):
        response = await (await sandbox.actors.invoke(group.guild, group.member, command, options)).response()
        assert response.ephemeral
        assert "Only members with" in response.content
        assert not response.message or not response.message.attachments
    choices = await sandbox.actors.autocomplete(
        group.guild, group.member, "referral poster", {"route": ""}, focused="route"
    )
    assert choices == []
    assert harness.bot is not None
    assert await ListingService(harness.bot.database, harness.clock).get(group.guild.id) is None


async def test_the_listing_goes_on_with_the_chosen_link_and_off_again(
    sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path
) -> None:
    link = await a_group_with_a_route(sandbox, group, harness)
    assert harness.bot is not None
    database, clock = harness.bot.database, harness.clock

    bad = await (
        await sandbox.actors.invoke(
            group.guild,
            group.coordinator,
            "referral listing on",
            {"join_link": f"https://discord.com/channels/{group.guild.id}/{group.meetings.id}"},
        )
    ).response()
    assert bad.ephemeral and "must be a Discord invite" in bad.content
    both = await (
        await sandbox.actors.invoke(
            group.guild, group.coordinator, "referral listing on", {"route": ROUTE, "join_link": link}
        )
    ).response()
    assert both.ephemeral and "not both" in both.content
    assert await meetings_feed(database, clock) == []

    on = await (
        await sandbox.actors.invoke(
            group.guild,
            group.coordinator,
            "referral listing on",
            {"route": ROUTE, "description": "A friendly online group; everyone welcome."},
        )
    ).response()
    assert on.ephemeral and "smart-online-group" in on.content, on.content
    (entry,) = await meetings_feed(database, clock)
    # The public name defaults to the server's name; the join link is the route's invite.
    assert (entry["group"], entry["name"], entry["conference_url"]) == ("SMART Online Group", "Tuesday evening", link)
    assert (entry["day"], entry["time"], entry["timezone"]) == (2, "19:00", "Europe/London")

    written = await write_feed(database, clock, tmp_path)
    ids = {
        thing.id
        for thing in (
            group.guild,
            group.meetings,
            group.facilitators,
            group.coordinators,
            group.voice,
            group.facilitator_role,
            group.coordinator_role,
            group.reminder_role,
        )
    } | {person.user.id for person in (group.admin, group.facilitator, group.coordinator, group.member)}
    for path in written:
        content = path.read_text("utf-8")
        assert [found for found in ids if str(found) in content] == [], path.name

    off = await (await sandbox.actors.invoke(group.guild, group.coordinator, "referral listing off")).response()
    assert off.ephemeral and "no longer in the public listing" in off.content
    assert await meetings_feed(database, clock) == []
    again = await (await sandbox.actors.invoke(group.guild, group.coordinator, "referral listing off")).response()
    assert "isn't in the public listing" in again.content
    assert json.loads((tmp_path / "meetings.json").read_text("utf-8"))[0]["conference_url"] == link
