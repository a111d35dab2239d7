"""The Sandbox: a loopback Discord (REST v10 + gateway) on 127.0.0.1 with a test API to act as people."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from aiohttp import web

from tests.sandbox import (
    interactions as interaction_routes,
    routes_app,
    routes_channels,
    routes_events,
    routes_guilds,
    routes_invites,
    routes_oauth,
)
from tests.sandbox.actors import Actors
from tests.sandbox.gateway import Gateway
from tests.sandbox.interactions import Interactions
from tests.sandbox.messages import Messages
from tests.sandbox.models import Channel, Member, Message, User
from tests.sandbox.ratelimit import RateLimiter, Stats
from tests.sandbox.rest import API_PREFIX, RestApi
from tests.sandbox.snowflakes import utcnow
from tests.sandbox.state import SandboxState
from tests.sandbox.transcript import Entry, Transcript
from tests.sandbox.validation import RequestValidator

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


@lru_cache(maxsize=1)
def shared_validator() -> RequestValidator:
    """Return one validator for the whole process (the spec is large; loading it once is enough)."""
    return RequestValidator()


@dataclass
class Faults:
    """Injected failures: 5xx answers and latency, per route template or for every route."""

    latency: float = 0.0
    route_latency: dict[str, float] = field(default_factory=dict)
    _errors: list[tuple[str | None, int]] = field(default_factory=list)

    def inject_5xx(self, route: str | None = None, *, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` requests to a route (None: to any route) with an HTTP `status`."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx code, got {status}")
        self._errors.extend([(route, status)] * count)

    def add_latency(self, seconds: float, route: str | None = None) -> None:
        """Delay every request (or one route template's) by `seconds`."""
        if route is None:
            self.latency = seconds
        else:
            self.route_latency[route] = seconds

    def take_5xx(self, route: str) -> int | None:
        """Consume and return a pending injected status for this route, if any."""
        for index, (target, status) in enumerate(self._errors):
            if target is None or target == route:
                del self._errors[index]
                return status
        return None

    def latency_for(self, route: str) -> float:
        """Return the delay to apply to a request."""
        return self.route_latency.get(route, self.latency)

    def clear(self) -> None:
        """Remove every injected fault."""
        self.latency = 0.0
        self.route_latency.clear()
        self._errors.clear()


class Sandbox:
    """A loopback Discord: start it, point discord.py at it, then act as people and read the transcript."""

    def __init__(
        self,
        *,
        app_name: str = "Sandbox Bot",
        privileged_intents: bool = True,
        heartbeat_interval_ms: int = 41250,
        validator: RequestValidator | None = None,
    ) -> None:
        self.state = SandboxState(app_name=app_name, privileged_intents=privileged_intents)
        self.messages = Messages(self.state)
        self.gateway = Gateway(self.state, heartbeat_interval_ms=heartbeat_interval_ms)
        self.state.dispatch = self.gateway.dispatch
        self.interactions = Interactions(self)
        self.ratelimits = RateLimiter()
        self.stats = Stats()
        self.faults = Faults()
        self.recommended_shards = 1
        # Discord's idea of "now" where a rule depends on it (events cannot start in the past). A test
        # driving the bot with a fake clock points this at the same clock.
        self.now: Callable[[], dt.datetime] = utcnow
        # Bugs in the sandbox itself (handler exceptions); the pytest fixture fails the test on any.
        self.internal_errors: list[str] = self.gateway.internal_errors
        self.rest = RestApi(self, validator or shared_validator())
        for module in (routes_app, routes_guilds, routes_channels, routes_events, routes_invites, interaction_routes):
            module.register(self.rest.router)
        self.actors = Actors(self)
        self.oauth = routes_oauth.OAuthProvider(self)
        self.port = 0
        self._runner: web.AppRunner | None = None

    # Lifecycle.

    async def start(self, port: int = 0) -> Sandbox:
        """Listen on 127.0.0.1 (a free port unless one is given) and return self."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.oauth.mount(app)  # before the REST catch-all
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        app.router.add_get("/", self.gateway.handle)
        # For benchmarks and manual poking against a standalone sandbox (not part of Discord's API).
        app.router.add_get("/_sandbox/stats", self._stats_page)
        app.router.add_get("/ephemeral-attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_get("/_sandbox/transcript", self._transcript_page)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.gateway.url = f"ws://{HOST}:{self.port}/"
        self.state.attachment_base = f"http://{HOST}:{self.port}"
        log.info("sandbox listening on %s", self.api_base)
        return self

    async def _attachment(self, request: web.Request) -> web.Response:
        """Serve a file attached to a command option, as Discord's CDN does."""
        content = self.state.attachments.get(int(request.match_info["attachment_id"]))
        if content is None:
            raise web.HTTPNotFound
        return web.Response(body=content, content_type="application/octet-stream")

    async def _stats_page(self, request: web.Request) -> web.Response:
        stats = self.stats
        body = {
            "requests": dict(stats.requests),
            "statuses": {str(k): v for k, v in stats.statuses.items()},
            "rate_limited": stats.rate_limited,
            "rate_limited_routes": dict(stats.rate_limited_routes),
            "injected_5xx": stats.injected_5xx,
            "identify": self.gateway.identify_count,
            "resume": self.gateway.resume_count,
        }
        return web.json_response(body)

    async def _transcript_page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.render() + "\n")

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        self.interactions.close()
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # Addresses and credentials.

    @property
    def api_base(self) -> str:
        """Return the value for `discord.http.Route.BASE`."""
        return f"http://{HOST}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL (`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`)."""
        return self.gateway.url

    @property
    def token(self) -> str:
        """Return the bot token."""
        return self.state.app.token

    @property
    def bot(self) -> User:
        """Return the bot user."""
        return self.state.bot

    # Discord rules a test may tighten to avoid real waits.

    @property
    def interaction_deadline(self) -> float:
        """Return the seconds a bot has for its initial interaction response (3 on Discord)."""
        return self.interactions.deadline

    @interaction_deadline.setter
    def interaction_deadline(self, seconds: float) -> None:
        self.interactions.deadline = seconds

    @property
    def interaction_token_ttl(self) -> float:
        """Return how long an interaction token works for follow-ups (15 minutes on Discord)."""
        return self.interactions.token_ttl

    @interaction_token_ttl.setter
    def interaction_token_ttl(self, seconds: float) -> None:
        self.interactions.token_ttl = seconds

    @property
    def nonce_window(self) -> float:
        """Return how long `enforce_nonce` remembers a nonce."""
        return self.messages.nonce_window

    @nonce_window.setter
    def nonce_window(self, seconds: float) -> None:
        self.messages.nonce_window = seconds

    # Reading what happened.

    @property
    def transcript(self) -> Transcript:
        """Return the ordered record of everything that happened."""
        return self.state.transcript

    def channel_messages(self, channel: Channel) -> list[Message]:
        """Return a channel's current messages (edits applied, deletions and ephemerals left out), oldest first."""
        return self.state.visible_messages(channel)

    def last_message(self, channel: Channel) -> Message:
        """Return the newest visible message of a channel."""
        messages = self.channel_messages(channel)
        if not messages:
            raise AssertionError(f"no messages in {self.state.where(channel)}; transcript:\n{self.transcript}")
        return messages[-1]

    def ephemeral_replies(self, user: User | Member | int) -> list[Message]:
        """Return the current ephemeral messages only this user sees."""
        user_id = user if isinstance(user, int) else user.id
        return [m for m in self.state.messages.values() if m.ephemeral_to == user_id and not m.deleted]

    def dms(self, user: User | Member | int) -> list[Message]:
        """Return the current messages in the bot's DM channel with a user."""
        user_id = user if isinstance(user, int) else user.id
        channel_id = self.state.dm_channels.get(frozenset({self.bot.id, user_id}))
        if channel_id is None:
            return []
        return self.state.visible_messages(self.state.channels[channel_id])

    def pings(self) -> list[Entry]:
        """Return the transcript entries of messages that pinged someone."""
        return self.transcript.pings()

    def render(self) -> str:
        """Return the transcript as text."""
        return self.transcript.render()

    # Waiting.

    async def sync(self, *, timeout: float = 5.0) -> None:
        """Wait until every connected client has read every dispatch sent so far."""
        await self.gateway.sync(timeout=timeout)

    async def wait_until(self, predicate: Callable[[], object], *, timeout: float = 5.0, what: str = "") -> None:
        """Wait until `predicate()` is true, failing with the transcript after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}:\n{self.transcript}")
            await asyncio.sleep(0.005)

    async def wait_for_commands(self, *names: str, timeout: float = 5.0) -> None:
        """Wait until the bot has synced commands with these top-level names (globally or in any guild)."""

        def synced() -> bool:
            have = {c.name for c in self.state.commands.values()}
            return all(name in have for name in names)

        await self.wait_until(synced, timeout=timeout, what=f"commands {names} to be synced")
