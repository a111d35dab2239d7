"""The dashboard's Starlette app: sign-in, sessions and the office's pages, from settings, a database and a clock.

Every route but the sign-in pages, the stylesheet and the public meeting listing (bot/web/public.py, open on
purpose) needs a session; a session's role is checked again with Discord when it is older than
WEB_ROLE_RECHECK_SECONDS, so removing the role removes access. Pages are rendered on the server and need no script.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.clock import Clock
from bot.db.engine import Database
from bot.keyfile import ensure_key_file
from bot.services.login_links import LoginLinks
from bot.services.participation.dashboard import Dashboard
from bot.services.participation.service import ParticipationService
from bot.settings import Settings
from bot.web.discord_api import DiscordAccess, DiscordUnavailableError, OAuthClient
from bot.web.sessions import AttemptLimiter, CSRF_FIELD, CookieJar, Session, same_token

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SIGN_IN_ATTEMPTS = 10
SIGN_IN_WINDOW = timedelta(minutes=5)
SECURITY_HEADERS = {
    # No script anywhere; images are the page's own or data: URIs (charts).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
WHY = {
    "signed-out": "You are signed out.",
    "expired": "Your session ended. Please sign in again.",
    "role": "Access needs the central office role in the office's Discord server.",
    "link": "That sign-in link is unknown, used or expired. Ask the operator for a new one.",
    "state": "The sign-in did not match this browser. Please try again.",
    "no-office": "No central office server is set yet (python -m bot office set).",
}

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Web:
    """What every route uses: settings, database, clock, cookies, Discord and the services."""

    settings: Settings
    database: Database
    clock: Clock
    cookies: CookieJar
    limiter: AttemptLimiter
    templates: Jinja2Templates
    dashboard: Dashboard
    links: LoginLinks
    participation: ParticipationService
    group_key_secret: bytes
    discord: DiscordAccess | None = None
    # Group keys seen so far, to their group: reading every group to find one cost a group page more than its figures.
    _keys: dict[str, int] = field(default_factory=dict)

    def group_key(self, guild_id: int) -> str:
        """Return the opaque key a group has in addresses (never its server id)."""
        return hmac.new(self.group_key_secret, str(guild_id).encode(), hashlib.sha256).hexdigest()[:16]

    async def group_of_key(self, key: str) -> tuple[int, str] | None:
        """Return the group whose key this is, with its name, or None."""
        guild_id = self._keys.get(key)
        if guild_id is None:
            # A key not seen before: the groups may have changed, so read them all again.
            self._keys = {self.group_key(guild): guild for guild in await self.dashboard.known_groups()}
            guild_id = self._keys.get(key)
            if guild_id is None:
                return None
        # Asked each time, so a group that is no longer known (or became the office's server) is not shown.
        name = await self.dashboard.group_name(guild_id)
        return None if name is None else (guild_id, name)

    async def access_of(self, user: str) -> bool | None:
        """Return None when the user may not enter, else whether they may also see exact figures."""
        assert self.discord is not None  # noqa: S101 - created in the lifespan
        office = await self.participation.office.config()
        if office is None:
            return None
        roles = await self.discord.roles_of(office.guild_id, user)
        if roles is None or office.role_id not in roles:
            return None
        return self.settings.web_exact_role_id is not None and self.settings.web_exact_role_id in roles

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        """Render a template with what every page shows (the session, its CSRF token)."""
        session: Session | None = getattr(request.state, "session", None)
        full = {"session": session, "csrf": session.csrf if session else "", "csrf_field": CSRF_FIELD, **context}
        return self.templates.TemplateResponse(request, name, full, status_code=status)


def create_app(
    settings: Settings, database: Database, clock: Clock, *, http: httpx.AsyncClient | None = None
) -> Starlette:
    """Return the dashboard app; `http` (else one made at start-up) talks to Discord."""
    from bot.web import announce, pages, signin

    key = ensure_key_file(settings.web_session_key_file)
    templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True))
    web = Web(
        settings=settings,
        database=database,
        clock=clock,
        cookies=CookieJar(key, timedelta(hours=settings.web_session_hours)),
        limiter=AttemptLimiter(SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW),
        templates=templates,
        dashboard=Dashboard(database, clock),
        links=LoginLinks(database, clock),
        participation=ParticipationService(database, clock),
        group_key_secret=hashlib.sha256(b"group-key" + key).digest(),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        client = http or httpx.AsyncClient()
        web.discord = _discord(settings, client)
        try:
            yield
        finally:
            if http is None:
                await client.aclose()

    routes = [
        *signin.routes(web),
        *pages.routes(web),
        *announce.routes(web),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    app.state.web = web
    if http is not None:
        web.discord = _discord(settings, http)
    return app


class SecurityHeaders:
    """Add SECURITY_HEADERS to every response (pure ASGI: nothing is buffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


def _discord(settings: Settings, client: httpx.AsyncClient) -> DiscordAccess:
    oauth = None
    if settings.web_oauth_client_id and settings.web_oauth_client_secret and settings.web_oauth_redirect_url:
        oauth = OAuthClient(
            settings.web_oauth_client_id,
            settings.web_oauth_client_secret.get_secret_value(),
            settings.web_oauth_redirect_url,
        )
    token = settings.discord_token.get_secret_value() if settings.discord_token else None
    return DiscordAccess(client, settings.discord_api_base, settings.discord_oauth_authorize_url, token, oauth)


def protected(web: Web, handler: Handler) -> Handler:
    """Return `handler` behind a valid session (role re-checked when due) and, for POST, a valid CSRF token."""

    async def endpoint(request: Request) -> Response:
        now = web.clock.now()
        session = web.cookies.session(request, now)
        if session is None:
            return refuse(request)
        refreshed = False
        if session.user is not None and now.timestamp() - session.checked >= web.settings.web_role_recheck_seconds:
            try:
                exact = await web.access_of(session.user)
            except DiscordUnavailableError:
                return error_page(web, request, 503, "Discord could not confirm your access just now. Try again soon.")
            if exact is None:
                log.info("A dashboard session lost access at its role check.")
                refused = RedirectResponse("/login?why=role", status_code=303)
                web.cookies.end_session(refused, request)
                return refused
            session = replace(session, exact=exact).checked_at(now)
            refreshed = True
        if request.method == "POST":
            form = await request.form()
            if not same_token(session.csrf, form.get(CSRF_FIELD)):
                return PlainTextResponse("Missing or wrong form token (CSRF). Reload the page and try again.", 403)
        request.state.session = session
        response = await handler(request)
        # A sign-out ends the session: its response must not carry the refreshed cookie again.
        if refreshed and not getattr(request.state, "signed_out", False):
            web.cookies.set_session(response, request, session)
        return response

    return endpoint


def refuse(request: Request) -> Response:
    """Answer a request without a session: pages go to sign-in, anything else is 401."""
    if request.method in ("GET", "HEAD"):
        return RedirectResponse("/login", status_code=303)
    return PlainTextResponse("Sign in first.", status_code=401)


def error_page(web: Web, request: Request, status: int, message: str) -> Response:
    """Return a short page saying what went wrong."""
    return web.render(request, "error.html", {"title": "Something went wrong", "message": message}, status)


def client_address(request: Request) -> str:
    """Return the client's address for the sign-in limit (behind a proxy, uvicorn puts the forwarded one here)."""
    return request.client.host if request.client else "unknown"


def route(path: str, endpoint: Handler, methods: list[str]) -> Route:
    """Return a route."""
    return Route(path, endpoint, methods=methods)


__all__ = ["WHY", "HTMLResponse", "Web", "create_app", "error_page", "protected", "refuse", "route"]
