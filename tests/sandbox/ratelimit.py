"""Discord-style rate limits: per-route buckets, a global limit, their headers, and counters."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

INTERACTION_CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
RATE_LIMITED_MESSAGE = "You are being rate limited."


@dataclass(frozen=True)
class RouteLimit:
    """A bucket: `limit` requests per `per` seconds for each major parameter (channel, guild, webhook)."""

    limit: int
    per: float
    # Routes naming the same bucket share one counter, as some of Discord's routes do.
    bucket: str | None = None


# Roughly what Discord announces for these routes; tests can replace any of them.
DEFAULT_LIMITS: dict[str, RouteLimit] = {
    "POST /channels/{channel_id}/messages": RouteLimit(5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 1.0),
    "PUT /channels/{channel_id}/pins/{message_id}": RouteLimit(5, 5.0, bucket="pins"),
    "DELETE /channels/{channel_id}/pins/{message_id}": RouteLimit(5, 5.0, bucket="pins"),
    "PUT /channels/{channel_id}/messages/pins/{message_id}": RouteLimit(5, 5.0, bucket="pins"),
    "DELETE /channels/{channel_id}/messages/pins/{message_id}": RouteLimit(5, 5.0, bucket="pins"),
    "POST /webhooks/{webhook_id}/{webhook_token}": RouteLimit(5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": RouteLimit(5, 2.0),
    "PUT /applications/{application_id}/commands": RouteLimit(4, 10.0),
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": RouteLimit(4, 10.0),
    "POST /guilds/{guild_id}/scheduled-events": RouteLimit(5, 5.0),
    "PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}": RouteLimit(5, 5.0),
    "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}": RouteLimit(10, 10.0, bucket="member-roles"),
    "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}": RouteLimit(10, 10.0, bucket="member-roles"),
    "POST /users/@me/channels": RouteLimit(5, 5.0),
}
DEFAULT_ROUTE_LIMIT = RouteLimit(50, 1.0)


@dataclass
class Decision:
    """The outcome of a rate-limit check: headers to send and, when refused, the 429 details."""

    headers: dict[str, str]
    retry_after: float | None = None
    is_global: bool = False
    scope: str = "user"

    @property
    def allowed(self) -> bool:
        """Return whether the request may proceed."""
        return self.retry_after is None

    def body(self) -> dict[str, object]:
        """Return the 429 JSON body."""
        return {"message": RATE_LIMITED_MESSAGE, "retry_after": self.retry_after, "global": self.is_global}


@dataclass
class Stats:
    """Counters a test or benchmark can read."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    rate_limited_routes: Counter[str] = field(default_factory=Counter)
    injected_5xx: int = 0

    def count(self, route: str) -> int:
        """Return how many requests a route template got, e.g. `POST /channels/{channel_id}/messages`."""
        return self.requests[route]

    def reset(self) -> None:
        """Zero every counter."""
        self.requests.clear()
        self.statuses.clear()
        self.rate_limited_routes.clear()
        self.rate_limited = 0
        self.injected_5xx = 0


@dataclass
class _Window:
    started: float
    used: int = 0


class RateLimiter:
    """Fixed-window buckets per route and major parameter, plus the global per-bot limit."""

    def __init__(self, *, enabled: bool = True, global_limit: int = 50, global_per: float = 1.0) -> None:
        self.enabled = enabled
        self.global_limit = global_limit
        self.global_per = global_per
        self.limits: dict[str, RouteLimit] = dict(DEFAULT_LIMITS)
        self.default = DEFAULT_ROUTE_LIMIT
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global = _Window(started=0.0)
        self._forced: list[tuple[str | None, float, str]] = []

    def set_limit(self, route: str, limit: int, per: float, *, bucket: str | None = None) -> None:
        """Replace the bucket for a route template such as `POST /channels/{channel_id}/messages`."""
        self.limits[route] = RouteLimit(limit, per, bucket)
        self._windows = {k: v for k, v in self._windows.items() if k[0] != self._bucket_name(route)}

    def reset(self) -> None:
        """Forget every bucket's usage (including the global window) and any forced 429s."""
        self._windows.clear()
        self._global = _Window(started=0.0)
        self._forced.clear()

    def force_429(self, route: str | None = None, *, count: int = 1, retry_after: float = 0.05) -> None:
        """Answer the next `count` requests to a route (any route with None) with a 'shared' 429."""
        for _ in range(count):
            self._forced.append((route, retry_after, "shared"))

    def check(self, route: str, major: str, *, now: float | None = None) -> Decision:
        """Count a request against its buckets and say whether it may proceed."""
        now = time.monotonic() if now is None else now
        spec = self.limits.get(route, self.default)
        name = self._bucket_name(route)
        window = self._windows.get((name, major))
        if window is None or now - window.started >= spec.per:
            window = self._windows[(name, major)] = _Window(started=now)
        reset_after = max(spec.per - (now - window.started), 0.001)
        headers = {
            "X-RateLimit-Limit": str(spec.limit),
            "X-RateLimit-Bucket": hashlib.sha256(name.encode()).hexdigest()[:32],
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        }
        forced = self._take_forced(route)
        if forced is not None:
            headers["X-RateLimit-Remaining"] = str(max(spec.limit - window.used, 0))
            return self._refuse(headers, forced, is_global=False, scope="shared")
        if self.enabled and route != INTERACTION_CALLBACK:
            if now - self._global.started >= self.global_per:
                self._global = _Window(started=now)
            if self._global.used >= self.global_limit:
                headers["X-RateLimit-Remaining"] = str(max(spec.limit - window.used, 0))
                retry = max(self.global_per - (now - self._global.started), 0.001)
                return self._refuse(headers, retry, is_global=True, scope="global")
        if self.enabled and window.used >= spec.limit:
            headers["X-RateLimit-Remaining"] = "0"
            return self._refuse(headers, reset_after, is_global=False, scope="user")
        window.used += 1
        if route != INTERACTION_CALLBACK:
            self._global.used += 1
        headers["X-RateLimit-Remaining"] = str(max(spec.limit - window.used, 0))
        return Decision(headers=headers)

    def _bucket_name(self, route: str) -> str:
        spec = self.limits.get(route, self.default)
        return spec.bucket or route

    def _take_forced(self, route: str) -> float | None:
        for index, (target, retry_after, _scope) in enumerate(self._forced):
            if target is None or target == route:
                del self._forced[index]
                return retry_after
        return None

    @staticmethod
    def _refuse(headers: dict[str, str], retry_after: float, *, is_global: bool, scope: str) -> Decision:
        headers = dict(headers)
        headers["Retry-After"] = str(math.ceil(retry_after))
        headers["X-RateLimit-Scope"] = scope
        # discord.py takes a 429 without a Via header for a Cloudflare ban and gives up.
        headers["Via"] = "1.1 google"
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return Decision(headers=headers, retry_after=round(retry_after, 3), is_global=is_global, scope=scope)
