"""The few Discord calls sign-in needs, over plain HTTPS: the OAuth2 code exchange, who signed in, and their roles.

No discord.py here (the dashboard is not a bot): the member lookup uses the bot's token with one REST call. The
addresses are settings, so tests point them at the loopback sandbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0)


class DiscordUnavailableError(Exception):
    """Discord did not answer as expected; access cannot be decided now."""


@dataclass(frozen=True)
class OAuthClient:
    """The dashboard's OAuth2 application: its id, secret and redirect address."""

    client_id: int
    client_secret: str
    redirect_url: str


class DiscordAccess:
    """Ask Discord who signed in and which roles they hold in the office's server."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_base: str,
        authorize_url: str,
        bot_token: str | None,
        oauth: OAuthClient | None,
    ) -> None:
        self._http = http
        self._api = api_base.rstrip("/")
        self._authorize = authorize_url
        self._bot_token = bot_token
        self.oauth = oauth

    def authorize_url(self, state: str) -> str:
        """Return where to send the browser to sign in with Discord (`identify` scope only)."""
        assert self.oauth is not None  # noqa: S101 - the sign-in page offers Discord only when OAuth is set
        query = {
            "response_type": "code",
            "client_id": str(self.oauth.client_id),
            "scope": "identify",
            "state": state,
            "redirect_uri": self.oauth.redirect_url,
            "prompt": "none",
        }
        return f"{self._authorize}?{urlencode(query)}"

    async def user_of_code(self, code: str) -> str:
        """Exchange an authorisation code for a token, and return the id of the user it belongs to."""
        assert self.oauth is not None  # noqa: S101
        try:
            answer = await self._http.post(
                f"{self._api}/oauth2/token",
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.oauth.redirect_url},
                auth=(str(self.oauth.client_id), self.oauth.client_secret),
                timeout=TIMEOUT,
            )
            if answer.status_code == 400:
                raise PermissionError("the sign-in code was refused")
            answer.raise_for_status()
            token = answer.json()["access_token"]
            me = await self._http.get(
                f"{self._api}/users/@me", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
            )
            me.raise_for_status()
            return str(me.json()["id"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise DiscordUnavailableError(type(exc).__name__) from None

    async def roles_of(self, guild_id: int, user_id: str) -> set[int] | None:
        """Return the roles a user holds in a server, or None when they are not a member of it."""
        if not self._bot_token:
            raise DiscordUnavailableError("DISCORD_TOKEN is not set")
        try:
            answer = await self._http.get(
                f"{self._api}/guilds/{guild_id}/members/{user_id}",
                headers={"Authorization": f"Bot {self._bot_token}"},
                timeout=TIMEOUT,
            )
            if answer.status_code == 404:
                return None
            answer.raise_for_status()
            return {int(role) for role in answer.json().get("roles", [])}
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise DiscordUnavailableError(type(exc).__name__) from None
