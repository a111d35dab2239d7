"""The dashboard over HTTP: nothing without a session, CSRF on every change, cookies that cannot be forged or kept."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from bot.domain.disclosure import DisclosurePolicy
from bot.services.login_links import LoginLinks
from bot.services.participation.export import ExportRequest, ParticipationExport, SCOPE_GROUP
from bot.services.participation.service import ParticipationService
from bot.web.pages import GROUP_COLUMNS
from bot.web.sessions import SESSION_COOKIE
from tests.e2e.test_participation_privacy import encodings
from tests.unit.services.test_participation_export import meeting
from tests.web.conftest import EXACT_ROLE, FACILITATOR_ID, GROUPS, NOW, OFFICE_ROLE, STAFF, VISITOR, WebWorld

PAGES = ["/", "/groups/0123456789abcdef", "/downloads", "/report", "/announcements"]
FORMS = ["/downloads", "/report", "/logout", "/announcements"]
SIGN_IN = ["/login", "/auth/discord", "/auth/callback", "/login/link/{token}", "/login/link", "/static"]
# Open without a session on purpose: the public meeting listing (issue 15). `/groups/{slug}` is a listed group's
# public page, or else (an office group key) the office's page behind a session, as PAGES checks.
PUBLIC = ["/meetings.json", "/groups/meetings.json", "/groups/{slug}.ics", "/groups/{slug}.html", "/groups/{slug}"]


async def test_every_route_is_refused_without_a_session(world: WebWorld) -> None:
    for path in PAGES:
        answer = await world.client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path
    for path in FORMS:
        answer = await world.client.post(path, data={"from": "2026-10-01", "to": "2026-10-31"})
        assert answer.status_code == 401, path
    # The sign-in page itself is open, and says how to get in.
    assert "Sign in with Discord" in (await world.client.get("/login")).text
    # Every route is one of those checked above, sign-in, or public on purpose: a new route must be listed here.
    paths = {route.path for route in world.app.routes}  # type: ignore[attr-defined]
    assert paths == {"/", "/downloads", "/report", "/logout", "/announcements", *SIGN_IN, *PUBLIC}
    for path in ("/meetings.json", "/groups/meetings.json"):
        answer = await world.client.get(path)
        assert answer.status_code == 200 and answer.json() == [], path
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", ""), path


async def test_a_post_without_the_csrf_token_is_refused(world: WebWorld) -> None:
    await world.sign_in_with_link()
    form = {"from": "2026-10-01", "to": "2026-10-31", "by": "month", "format": "csv"}
    assert (await world.client.post("/downloads", data=form)).status_code == 403
    assert (await world.client.post("/downloads", data=form | {"csrf_token": "forged"})).status_code == 403
    assert (await world.client.post("/logout", data={})).status_code == 403
    good = await world.client.post("/downloads", data=form | {"csrf_token": await world.csrf()})
    assert good.status_code == 200 and good.text.startswith("# export: participation")


async def test_a_forged_or_expired_session_cookie_is_refused(world: WebWorld) -> None:
    await world.sign_in_with_link()
    assert (await world.client.get("/")).status_code == 200
    genuine = world.client.cookies[SESSION_COOKIE]
    payload, _, signature = genuine.rpartition(".")
    # Same payload, made-up signature; and a payload of our own with the genuine signature.
    mine = URLSafeSerializer(b"not the dashboard's key", salt="smartbot-web-session")
    session = {"user": STAFF, "exact": True, "began": NOW.timestamp(), "checked": NOW.timestamp(), "csrf": "x"}
    for forged in (f"{payload}.{signature[::-1]}x", mine.dumps(session)):
        world.client.cookies.set(SESSION_COOKIE, forged)
        answer = await world.client.get("/")
        assert (answer.status_code, answer.headers.get("location")) == (303, "/login")
    world.client.cookies.set(SESSION_COOKIE, genuine)
    assert (await world.client.get("/")).status_code == 200
    world.clock.set(world.clock.now() + timedelta(hours=world.settings.web_session_hours, seconds=1))
    assert (await world.client.get("/")).status_code == 303


async def test_sign_in_with_discord_needs_the_office_role_and_loses_access_when_it_goes(world: WebWorld) -> None:
    refused = await world.sign_in_with_discord(VISITOR)
    assert refused.headers["location"] == "/login?why=role"
    assert (await world.client.get("/")).status_code == 303
    # A state that is not this browser's is refused before any code is exchanged.
    forged = await world.client.get("/auth/callback", params={"code": "x", "state": "not-mine"})
    assert forged.headers["location"] == "/login?why=state"

    signed_in = await world.sign_in_with_discord(STAFF)
    assert signed_in.headers["location"] == "/"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain HTTP here
    assert (await world.client.get("/")).status_code == 200
    # Without the exact-figures role, exact downloads are refused.
    form = {"from": "2026-10-01", "to": "2026-10-31", "format": "csv", "exact": "1", "csrf_token": await world.csrf()}
    assert (await world.client.post("/downloads", data=form)).status_code == 403

    world.discord.roles[STAFF] = []
    # Within the re-check interval the session stands; after it, Discord is asked again and access is gone.
    world.clock.set(world.clock.now() + timedelta(seconds=world.settings.web_role_recheck_seconds - 1))
    assert (await world.client.get("/")).status_code == 200
    world.clock.set(world.clock.now() + timedelta(seconds=2))
    lost = await world.client.get("/")
    assert lost.headers["location"] == "/login?why=role"
    assert (await world.client.get("/")).status_code == 303


async def test_the_exact_role_gives_exact_figures_stamped_not_for_publication(world: WebWorld) -> None:
    world.discord.roles[STAFF] = [OFFICE_ROLE, EXACT_ROLE]
    await world.sign_in_with_discord(STAFF)
    assert 'name="exact"' in (await world.client.get("/downloads")).text
    form = {"from": "2026-10-01", "to": "2026-10-31", "format": "csv", "exact": "1", "csrf_token": await world.csrf()}
    answer = await world.client.post("/downloads", data=form)
    assert answer.text.startswith("# NOT FOR PUBLICATION\n")
    assert "NOT_FOR_PUBLICATION" in answer.headers["content-disposition"]


async def test_sign_out_ends_the_session(world: WebWorld) -> None:
    await world.sign_in_with_link()
    kept = world.client.cookies[SESSION_COOKIE]
    answer = await world.client.post("/logout", data={"csrf_token": await world.csrf()})
    assert answer.headers["location"] == "/login?why=signed-out"
    assert SESSION_COOKIE not in world.client.cookies
    assert (await world.client.get("/")).status_code == 303
    del kept  # the cookie is stateless: what ends it for good is its expiry, tested above


async def test_sign_out_wins_over_a_role_check_on_the_same_request(world: WebWorld) -> None:
    # With a check on every request, the sign-out's own check must not put the session back.
    world.settings.web_role_recheck_seconds = 0
    await world.sign_in_with_discord(STAFF)
    answer = await world.client.post("/logout", data={"csrf_token": await world.csrf()})
    assert [header for header in answer.headers.get_list("set-cookie") if "Max-Age=0" not in header] == []
    assert (await world.client.get("/")).status_code == 303


async def test_a_one_time_link_works_once_and_not_after_it_expires(world: WebWorld) -> None:
    links = LoginLinks(world.database, world.clock)
    link = await links.create()
    # Two processes trying the same link at once: exactly one wins.
    assert sorted(await asyncio.gather(links.use(link.token), links.use(link.token)), key=str) == [False, None]
    late = await links.create(timedelta(minutes=5))
    world.clock.set(world.clock.now() + timedelta(minutes=5))
    assert await links.use(late.token) is None
    page = await world.client.get(f"/login/link/{(await links.create()).token}")
    token = re.search(r'name="token" value="([^"]+)"', page.text)[1]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    first = await world.client.post("/login/link", data={"token": token, "csrf_token": csrf})
    assert first.headers["location"] == "/"
    world.client.cookies.delete(SESSION_COOKIE)
    page = await world.client.get(f"/login/link/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    again = await world.client.post("/login/link", data={"token": token, "csrf_token": csrf})
    assert again.headers["location"] == "/login?why=link"


async def test_sign_in_attempts_are_rate_limited(world: WebWorld) -> None:
    page = await world.client.get("/login/link/nothing")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    statuses = [
        (await world.client.post("/login/link", data={"token": f"guess-{n}", "csrf_token": csrf})).status_code
        for n in range(12)
    ]
    assert statuses[:10] == [303] * 10 and statuses[10:] == [429, 429]
    world.clock.set(world.clock.now() + timedelta(minutes=6))
    assert (await world.client.post("/login/link", data={"token": "x", "csrf_token": csrf})).status_code == 303


async def test_the_overview_shows_each_group_by_name_with_the_exports_figures(world: WebWorld) -> None:
    await world.sign_in_with_link()
    page = (await world.client.get("/?month=2026-10")).text
    request = ExportRequest(date(2026, 10, 1), date(2026, 10, 31), by="month", policy=DisclosurePolicy())
    rows = [row async for row in ParticipationExport(world.database).rows(request) if row["scope"] == SCOPE_GROUP]
    assert len(rows) == 2
    for row in rows:
        name = GROUPS[int(row["guild_id"])]
        line = re.search(rf'<tr data-group="{name}">(.*?)</tr>', page, re.S)[1]
        cells = dict(re.findall(r'<td data-column="(\w+)">([^<]*)</td>', line))
        for column in ("meetings", "meetings_held", "missed_no_facilitator", "attendees", "new_attendees"):
            assert cells[column] == ("*" if row[column] is None else str(row[column])), (name, column)
    assert str(next(iter(GROUPS))) not in page  # by name, never by id
    november = (await world.client.get("/?month=2026-11&sort=attendees&order=desc")).text
    riverside = re.search(r'<tr data-group="Riverside Online">(.*?)</tr>', november, re.S)[1]
    assert "Call" in riverside and "2 meetings missed in a row" in riverside and "1 duty uncovered" in riverside
    assert '<td data-column="on_rota">1</td>' in riverside
    assert "Call" not in re.search(r'<tr data-group="Harbour Town SMART">(.*?)</tr>', november, re.S)[1]
    filtered = (await world.client.get("/?month=2026-11&q=river")).text
    assert "Riverside Online" in filtered and "Harbour Town SMART" not in filtered


async def test_the_group_page_shows_the_exports_figures_its_rota_and_small_referral_totals(world: WebWorld) -> None:
    harbour, riverside = GROUPS
    async with world.database.session() as session:
        # Three newcomers heard from a friend: a total the page must call small, not round to 5.
        session.add(meeting(99, harbour, datetime(2026, 11, 18, 18, 0, tzinfo=UTC), attendees=9, fb_heard_friend=3))
    await world.sign_in_with_link()
    overview = (await world.client.get("/?month=2026-11")).text
    keys = dict(re.findall(r'<a href="/groups/([0-9a-f]{16})">([^<]+)</a>', overview))
    pages = {name: (await world.client.get(f"/groups/{key}")).text for key, name in keys.items()}
    assert set(pages) == set(GROUPS.values())
    request = ExportRequest(date(2025, 12, 1), date(2026, 11, 30), (harbour,), "month", DisclosurePolicy())
    rows = [row async for row in ParticipationExport(world.database).rows(request)]
    page = pages[GROUPS[harbour]]
    for row in (row for row in rows if row["scope"] == SCOPE_GROUP):
        line = re.search(rf'<th scope="row">{row["bucket"]}</th>(.*?)</tr>', page)[1]
        cells = re.findall(r"<td>([^<]*)</td>", line)
        expected = [row[name] for name in GROUP_COLUMNS]
        assert cells == ["*" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in expected]
    total = next(row for row in rows if row["scope"] == "total")
    assert total["fb_heard_web"] == 15  # 14 newcomers, rounded as the report and export round a total
    referrals = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', page.split("referral")[-1]))
    assert "15" in referrals.values() and "fewer than 8" in referrals.values(), referrals
    rota = pages[GROUPS[riverside]]
    assert "Cover requests: 1" in rota and "Escalations to coordinators: 0" in rota
    assert "Duties uncovered in the next two weeks: 1" in rota and "no rota duties" in rota
    assert "2026-11-18" in rota and "no facilitator" in rota  # its history: a meeting missed, and why
    # An unknown key, and a group that became the office's server (its key seen before), are not found.
    assert (await world.client.get("/groups/0123456789abcdef")).status_code == 404
    await ParticipationService(world.database, world.clock).office.configure(riverside, 5, OFFICE_ROLE)
    harbour_key = next(key for key, name in keys.items() if name == GROUPS[harbour])
    riverside_key = next(key for key, name in keys.items() if name == GROUPS[riverside])
    assert (await world.client.get(f"/groups/{riverside_key}")).status_code == 404
    assert (await world.client.get(f"/groups/{harbour_key}")).status_code == 200


async def test_no_page_or_header_carries_a_members_id(world: WebWorld) -> None:
    await world.sign_in_with_link(exact=True)
    overview = await world.client.get("/?month=2026-11")
    keys = re.findall(r'href="/groups/([0-9a-f]{16})"', overview.text)
    assert len(keys) == 2
    answers = [overview, *[await world.client.get(f"/groups/{key}") for key in keys]]
    csrf = await world.csrf()
    for by in ("occurrence", "week", "month"):
        for fmt in ("csv", "json"):
            form = {"from": "2026-10-01", "to": "2026-11-30", "by": by, "format": fmt, "csrf_token": csrf}
            answers.append(await world.client.post("/downloads", data=form))
            answers.append(await world.client.post("/downloads", data=form | {"exact": "1"}))
    answers.append(
        await world.client.post("/report", data={"from": "2026-10-01", "to": "2026-11-30", "csrf_token": csrf})
    )
    forbidden = encodings(FACILITATOR_ID)
    for answer in answers:
        assert answer.status_code == 200, answer.text[:300]
        blob = answer.content + json.dumps(dict(answer.headers)).encode()
        found = [value for value in forbidden if len(value) >= 8 and value in blob]
        assert not found, (answer.request.url, found)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
