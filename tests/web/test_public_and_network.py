"""The public meeting listing (no sign-in, on purpose) and the network's figures on the office's pages."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import icalendar
import pytest
from sqlalchemy import select

from bot.db.models import GuildConfig, MeetingOccurrence, Outbox
from bot.domain.states import OccurrenceState
from bot.services.care import CareServices
from bot.services.care.debrief import ask_facilitator
from bot.services.care.milestones import record_milestone
from bot.services.guild_config import GuildConfigService
from bot.services.office.announcements import AnnouncementService
from bot.services.office.pairing import PairingService
from bot.services.participation.dashboard_network import CARRYING_TOO_MUCH, SEVERAL_TOUGH
from bot.services.referral.listing import ListingService
from bot.services.referral.service import ReferralService
from bot.web.sessions import SESSION_COOKIE
from tests.e2e.test_participation_privacy import encodings
from tests.fixtures import publicity
from tests.fixtures.publicity import ROUTE_CHANNEL, add_route, seed_group
from tests.web.conftest import FACILITATOR_ID, GROUPS, NOW, WebWorld

HARBOUR, RIVERSIDE = GROUPS
JOIN = "https://discord.gg/Harbour7"
# Everything that identifies a server, channel, role or person: none may reach a public body or an office page.
PRIVATE_IDS = [
    FACILITATOR_ID,
    *GROUPS,
    publicity.MEETINGS_CHANNEL,
    publicity.FACILITATORS_CHANNEL,
    publicity.COORDINATORS_CHANNEL,
    publicity.ROUTE_CHANNEL,
    publicity.FACILITATOR_ROLE,
    publicity.COORDINATOR_ROLE,
]


def private_ids_in(blob: bytes) -> list[bytes]:
    """Return the encodings of private ids found in `blob` (the privacy scan of tests/e2e)."""
    return [value for private in PRIVATE_IDS for value in encodings(private) if len(value) >= 8 and value in blob]


async def test_the_public_listing_needs_no_sign_in_and_serves_only_listed_groups(world: WebWorld) -> None:
    for guild_id in GROUPS:
        await seed_group(world.database, world.clock, guild_id, first=date(2026, 12, 1))
    listings = ListingService(world.database, world.clock)
    listed = await listings.list_group(HARBOUR, public_name="Harbour Town SMART", join_url=JOIN)
    hidden = await listings.list_group(RIVERSIDE, public_name="Riverside Online", join_url="https://discord.gg/River9")
    await listings.unlist_group(RIVERSIDE)

    feed = await world.client.get("/meetings.json")
    entries = feed.json()
    assert feed.status_code == 200 and feed.headers["access-control-allow-origin"] == "*"
    assert {entry["group"] for entry in entries} == {"Harbour Town SMART"}
    assert entries[0]["url"] == f"http://testserver/groups/{listed.slug}.html"
    page = await world.client.get(f"/groups/{listed.slug}")
    assert page.status_code == 200 and "Harbour Town SMART" in page.text and JOIN in page.text
    assert "Tuesday" in page.text and (await world.client.get(entries[0]["url"])).text == page.text
    calendar = await world.client.get(f"/groups/{listed.slug}.ics")
    assert calendar.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(calendar.content).walk("VEVENT")
    assert {str(event["SUMMARY"]) for event in events} == {"Tuesday evening", "Thursday check-in", "Monthly catch-up"}
    # The group turned off, and one never listed, are not found: a 404 that says no more, not a sign-in page.
    for path in (f"/groups/{hidden.slug}", f"/groups/{hidden.slug}.ics", "/groups/no-such-group", "/groups/x.ics"):
        answer = await world.client.get(path)
        assert answer.status_code == 404 and "Riverside" not in answer.text, path
    answers = [feed, page, calendar, await world.client.get("/groups/meetings.json")]
    for answer in answers:
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
        found = private_ids_in(answer.content + json.dumps(dict(answer.headers)).encode())
        assert not found, (answer.request.url, found)
    assert "no-store" not in page.headers["cache-control"]


async def facilitated_meetings(world: WebWorld, guild_id: int, count: int) -> list[int]:
    """Add `count` completed meetings run by FACILITATOR_ID this month, each asked its debrief; return the debriefs."""
    debriefs = []
    async with world.database.session() as session:
        config = await session.get(GuildConfig, guild_id)
        for day in range(count):
            starts = NOW - timedelta(days=day + 1)
            row = MeetingOccurrence(
                guild_id=guild_id,
                local_start=f"{starts:%Y-%m-%dT%H:%M:%S}",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                state=OccurrenceState.COMPLETED,
                title="Wednesday SMART",
                template_slug="standard",
                location_kind="voice",
                channel_id=publicity.MEETINGS_CHANNEL,
                facilitator_id=FACILITATOR_ID,
                created_at=starts,
            )
            session.add(row)
            await session.flush()
            debrief = await ask_facilitator(session, row, config, starts)
            assert debrief is not None
            debriefs.append(debrief)
    return debriefs


async def test_the_overview_and_group_page_show_referrals_pairs_milestones_and_care(world: WebWorld) -> None:
    configs = GuildConfigService(world.database, world.clock)
    for guild_id in GROUPS:
        await configs.update(guild_id, coordinators_channel_id=publicity.COORDINATORS_CHANNEL)
    await PairingService(world.database, world.clock).pair(RIVERSIDE, "Riverside Online", HARBOUR, "Harbour Town SMART")
    await add_route(world.database, world.clock, HARBOUR, "Anytown Alcohol Service", "anytown1")
    await add_route(world.database, world.clock, HARBOUR, "Library", "library1")
    await ReferralService(world.database, world.clock).record_uses(
        HARBOUR, ROUTE_CHANNEL, {"anytown1": 12, "library1": 3}
    )
    async with world.database.session() as session:
        config = await session.get(GuildConfig, HARBOUR)
        await record_milestone(session, config, HARBOUR, "held:10", NOW - timedelta(days=2), NOW)
        await record_milestone(session, config, HARBOUR, "held:1", NOW - timedelta(days=60), NOW)
    care = CareServices.build(world.database, world.clock)
    # Riverside's one facilitator ran its last four meetings and found three of them tough; Harbour had one tough.
    for number, debrief in enumerate(await facilitated_meetings(world, RIVERSIDE, 4)):
        await care.debriefs.answer(debrief, FACILITATOR_ID, "tough" if number < 3 else "fine")
    assert await care.load.check(RIVERSIDE, FACILITATOR_ID)
    (harbour_debrief,) = await facilitated_meetings(world, HARBOUR, 1)
    await care.debriefs.answer(harbour_debrief, FACILITATOR_ID, "tough")

    await world.sign_in_with_link()
    overview = await world.client.get("/?month=2026-11&sort=referral_joins&order=desc")
    rows = {name: re.search(rf'<tr data-group="{name}">(.*?)</tr>', overview.text, re.S)[1] for name in GROUPS.values()}
    harbour, riverside = rows["Harbour Town SMART"], rows["Riverside Online"]
    assert overview.text.index("Harbour Town SMART") < overview.text.index('<tr data-group="Riverside Online"')
    assert '<td data-column="referral_joins">15</td>' in harbour  # 12 + 3 people, rounded as one count
    assert '<td data-column="referral_joins">0</td>' in riverside
    assert '<td data-column="tough_debriefs">*</td>' in riverside  # 3: suppressed, but it still raises the flag
    assert "Call" in riverside and CARRYING_TOO_MUCH in riverside and SEVERAL_TOUGH in riverside
    assert "Call" not in harbour and SEVERAL_TOUGH not in harbour
    assert "Riverside Online is mentored by Harbour Town SMART" in overview.text
    milestones = re.search(r'<ul class="milestones">(.*?)</ul>', overview.text, re.S)[1]
    assert "Harbour Town SMART held its 10th meeting" in milestones and "first" not in milestones  # November only

    key = re.search(r'<a href="/groups/([0-9a-f]{16})">Harbour Town SMART</a>', overview.text)[1]
    page = await world.client.get(f"/groups/{key}")
    routes = dict(re.findall(r'<tr data-route="([^"]+)"><th scope="row">[^<]*</th><td>([^<]*)</td>', page.text))
    assert routes == {"Anytown Alcohol Service": "10", "Library": "*"}
    tough = re.search(r'<tr data-month="2026-11">.*?<td data-column="tough">([^<]*)</td>', page.text)[1]
    assert tough == "*"
    assert "held its 10th meeting" in page.text and "held its first meeting" in page.text
    assert "Riverside Online is mentored by Harbour Town SMART" in page.text
    for answer in (overview, page):
        assert not private_ids_in(answer.content), answer.request.url


async def test_an_announcement_from_the_dashboard_is_queued_through_the_outbox_and_reported(world: WebWorld) -> None:
    await GuildConfigService(world.database, world.clock).update(
        HARBOUR, coordinators_channel_id=publicity.COORDINATORS_CHANNEL
    )
    await world.sign_in_with_link()
    page = await world.client.get("/announcements")
    assert "Harbour Town SMART" in page.text and "Riverside Online" not in page.text  # no coordinators' channel
    key = re.search(r'name="group" value="([0-9a-f]{16})"', page.text)[1]
    form = {"message": "Training for new facilitators on 12 January.", "group": key}
    assert (await world.client.post("/announcements", data=form)).status_code == 403  # no CSRF token
    empty = await world.client.post("/announcements", data={"message": " ", "csrf_token": await world.csrf()})
    assert empty.status_code == 400 and "empty" in empty.text
    sent = await world.client.post("/announcements", data=form | {"csrf_token": await world.csrf()})
    assert sent.status_code == 303
    async with world.database.session() as session:
        queued = (await session.scalars(select(Outbox.kind).where(Outbox.guild_id == HARBOUR))).all()
    assert queued, "the bot process delivers what the outbox holds"
    reports = await AnnouncementService(world.database, world.clock).recent()
    assert [(target.group_name, target.state) for target in reports[0].targets] == [("Harbour Town SMART", "pending")]
    listed = (await world.client.get(sent.headers["location"])).text
    assert "is queued" in listed and "Training for new facilitators" in listed
    assert '<td data-column="state">pending</td>' in listed and not private_ids_in(listed.encode())


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
