"""A loopback OAuth2 provider in Discord's shape, for the web dashboard's "Sign in with Discord".

`GET /oauth2/authorize` approves at once for the user a test chose (`sandbox.oauth.next_user`) and redirects back with
a code and the state; `POST /api/v10/oauth2/token` exchanges the code (client id and secret by HTTP Basic, as Discord
accepts them) for a bearer token; `GET /api/v10/users/@me` with that bearer token answers who it is. Requests with the
bot's token go on to the ordinary REST routes.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from tests.sandbox.models import Member, User
from tests.sandbox.rest import API_PREFIX

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox


@dataclass
class OAuthProvider:
    """The sandbox's OAuth2 application and the grants it has made."""

    sandbox: Sandbox
    client_id: int = 4242
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # Who "approves" the next authorisation (None: the user cancels, as Discord's "Cancel" button does).
    next_user: User | Member | None = None
    codes: dict[str, tuple[int, str]] = field(default_factory=dict)  # code -> (user id, redirect_uri)
    tokens: dict[str, int] = field(default_factory=dict)  # access token -> user id
    authorizations: list[dict[str, str]] = field(default_factory=list)

    @property
    def authorize_url(self) -> str:
        """Return the address of the authorisation page."""
        return f"http://127.0.0.1:{self.sandbox.port}/oauth2/authorize"

    def mount(self, app: web.Application) -> None:
        """Add the provider's routes (before the REST catch-all, so they are matched first)."""
        app.router.add_get("/oauth2/authorize", self._authorize)
        app.router.add_post(API_PREFIX + "/oauth2/token", self._token)
        app.router.add_get(API_PREFIX + "/users/@me", self._me)

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.authorizations.append(query)
        if query.get("client_id") != str(self.client_id) or query.get("response_type") != "code":
            return web.Response(status=400, text="invalid client or response type")
        redirect = query.get("redirect_uri", "")
        if self.next_user is None:
            raise web.HTTPFound(f"{redirect}?{urlencode({'error': 'access_denied', 'state': query.get('state', '')})}")
        user = self.next_user.user if isinstance(self.next_user, Member) else self.next_user
        code = secrets.token_urlsafe(12)
        self.codes[code] = (user.id, redirect)
        raise web.HTTPFound(f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}")

    async def _token(self, request: web.Request) -> web.StreamResponse:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        form = await request.post()
        grant = self.codes.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or grant is None or grant[1] != form.get("redirect_uri"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = grant[0]
        body = {"access_token": token, "token_type": "Bearer", "expires_in": 604800, "scope": "identify"}
        return web.json_response(body)

    async def _me(self, request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return await self.sandbox.rest.handle(request)
        user_id = self.tokens.get(header.removeprefix("Bearer "))
        if user_id is None:
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        user = self.sandbox.state.users[user_id]
        return web.json_response(user.payload())
