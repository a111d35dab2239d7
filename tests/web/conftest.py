"""The dashboard in-process over HTTP: a migrated database with a few groups' meetings, and a fake Discord."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_participation import ParticipationSettings
from bot.db.models_rota import RotaAssignment, RotaMember
from bot.services.participation.service import ParticipationService
from bot.settings import Settings
from bot.web.app import create_app
from tests.fixtures.db import FakeClock
from tests.unit.services.test_participation_export import meeting

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OFFICE_GUILD = 900_000_000_000_000_001
OFFICE_ROLE = 900_000_000_000_000_002
EXACT_ROLE = 900_000_000_000_000_003
STAFF = "700000000000000001"
VISITOR = "700000000000000002"
GROUPS = {111_111_111_111_111_111: "Harbour Town SMART", 222_222_222_222_222_222: "Riverside Online"}
# A facilitator on a group's rota: their id must never reach a page.
FACILITATOR_ID = 733_333_333_333_333_337
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class FakeDiscord:
    """Discord's OAuth2 and member endpoints, answering from dicts a test changes."""

    roles: dict[str, list[int]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(f"{request.method} {path}")
        if path == "/api/v10/oauth2/token":
            code = dict(httpx.QueryParams(request.content.decode()))["code"]
            if code not in self.codes:
                return httpx.Response(400, json={"error": "invalid_grant"})
            token = f"token-{code}"
            self.tokens[token] = self.codes.pop(code)
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "scope": "identify"})
        if path == "/api/v10/users/@me":
            user = self.tokens.get(request.headers["Authorization"].removeprefix("Bearer "))
            return httpx.Response(200, json={"id": user}) if user else httpx.Response(401, json={"code": 0})
        match = re.fullmatch(r"/api/v10/guilds/(\d+)/members/(\d+)", path)
        if match and request.headers.get("Authorization") == "Bot bot-token":
            if int(match[1]) != OFFICE_GUILD or match[2] not in self.roles:
                return httpx.Response(404, json={"code": 10007, "message": "Unknown Member"})
            return httpx.Response(200, json={"user": {"id": match[2]}, "roles": [str(r) for r in self.roles[match[2]]]})
        return httpx.Response(404, json={"code": 0})


@dataclass
class WebWorld:
    client: httpx.AsyncClient
    discord: FakeDiscord
    clock: FakeClock
    database: Database
    settings: Settings
    app: object

    async def sign_in_with_discord(self, user: str) -> httpx.Response:
        """Go through the OAuth2 flow as `user`; return the callback's answer."""
        start = await self.client.get("/auth/discord")
        assert start.status_code == 303, start.text
        authorize = httpx.URL(start.headers["location"])
        assert authorize.params["scope"] == "identify"
        code = f"code-{len(self.discord.codes)}-{user}"
        self.discord.codes[code] = user
        return await self.client.get("/auth/callback", params={"code": code, "state": authorize.params["state"]})

    async def sign_in_with_link(self, *, exact: bool = False) -> None:
        """Sign in with a fresh one-time link."""
        from bot.services.login_links import LoginLinks

        link = await LoginLinks(self.database, self.clock).create(exact=exact)
        page = await self.client.get(f"/login/link/{link.token}")
        answer = await self.client.post(
            "/login/link", data={"token": link.token, "csrf_token": CSRF.search(page.text)[1]}
        )
        assert answer.headers["location"] == "/", answer.text

    async def csrf(self) -> str:
        """Return the signed-in session's CSRF token, as a page carries it."""
        return CSRF.search((await self.client.get("/downloads")).text)[1]


async def seed(database: Database, clock: FakeClock) -> None:
    """Two groups with meetings in October and November, one of them with a rota duty nobody holds."""
    async with database.session() as session:
        for guild_id, name in GROUPS.items():
            session.add(GuildConfig(guild_id=guild_id, timezone="Europe/London", created_at=NOW, updated_at=NOW))
            session.add(ParticipationSettings(guild_id=guild_id, guild_name=name, updated_at=NOW))
        first, second = GROUPS
        number = 1
        for week in range(7):
            starts = datetime(2026, 10, 6, 18, 0, tzinfo=UTC) + timedelta(days=7 * week)
            session.add(
                meeting(
                    number,
                    first,
                    starts,
                    attendees=9 + week,
                    new_attendees=3,
                    returning_attendees=6 + week,
                    fb_helpful_4=8,
                    fb_helpful_5=2,
                    fb_heard_web=2,
                )
            )
            number += 1
            missed = week >= 5
            session.add(
                meeting(
                    number,
                    second,
                    starts + timedelta(days=1),
                    attendees=0 if missed else 4,
                    outcome="missed" if missed else "held",
                    missed_reason="no facilitator" if missed else None,
                )
            )
            number += 1
        occurrence = MeetingOccurrence(
            guild_id=second,
            schedule_id=None,
            local_start="2026-11-25T19:00:00",
            starts_at=NOW + timedelta(days=5),
            ends_at=NOW + timedelta(days=5, hours=1),
            state="scheduled",
            title="Wednesday SMART",
            template_slug="standard",
            location_kind="voice",
            channel_id=5,
            created_at=NOW,
        )
        session.add(occurrence)
        await session.flush()
        session.add(
            RotaMember(guild_id=second, user_id=FACILITATOR_ID, roles="lead", trained_since=NOW.date(), joined_at=NOW)
        )
        session.add(
            RotaAssignment(
                guild_id=second,
                occurrence_id=occurrence.id,
                role="lead",
                user_id=None,
                status="open",
                released_by=FACILITATOR_ID,
                updated_at=NOW,
            )
        )
    await ParticipationService(database, clock).office.configure(OFFICE_GUILD, 5, OFFICE_ROLE)


def web_settings(url: str, tmp_path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "discord_token": "bot-token",
        "database_url": url,
        "web_session_key_file": tmp_path / "web_session.key",
        "web_oauth_client_id": 42,
        "web_oauth_client_secret": "oauth-secret",
        "web_oauth_redirect_url": "http://testserver/auth/callback",
        "web_exact_role_id": EXACT_ROLE,
        "discord_api_base": "http://discord.test/api/v10",
        "discord_oauth_authorize_url": "http://discord.test/oauth2/authorize",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def world(migrated_database_url: str, tmp_path) -> AsyncIterator[WebWorld]:
    """The dashboard on a seeded database: SQLite, and PostgreSQL too when TEST_DATABASE_URL is set."""
    url = migrated_database_url
    database = Database(url)
    clock = FakeClock(NOW)
    await seed(database, clock)
    discord = FakeDiscord(roles={STAFF: [OFFICE_ROLE], VISITOR: []})
    settings = web_settings(url, tmp_path)
    discord_http = httpx.AsyncClient(transport=httpx.MockTransport(discord.handle))
    app = create_app(settings, database, clock, http=discord_http)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    try:
        yield WebWorld(client, discord, clock, database, settings, app)
    finally:
        await client.aclose()
        await discord_http.aclose()
        await database.dispose()
