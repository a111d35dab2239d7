"""Signed session cookies, CSRF tokens and the sign-in rate limit.

A session is a signed cookie and nothing else: no row anywhere says who is signed in. It holds the Discord user id
that the periodic role check needs (None for a one-time link's session), whether it may see exact figures, when it
began, when the role was last checked, and its CSRF token. Its times come from the app's clock, so expiry is tested
by moving the clock.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "smartbot_session"
LOGIN_COOKIE = "smartbot_signin"
# The pre-sign-in cookie (OAuth state, the sign-in forms' CSRF token) lives this long.
LOGIN_COOKIE_TTL = timedelta(minutes=10)
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """A signed-in session, exactly as its cookie holds it."""

    user: str | None  # Discord user id as text; None for a session opened with a one-time link
    exact: bool
    began: float  # POSIX seconds, from the app's clock
    checked: float  # when the office role was last confirmed
    csrf: str

    def checked_at(self, now: datetime) -> Session:
        """Return the session with its role check done at `now`."""
        return replace(self, checked=now.timestamp())


@dataclass(frozen=True)
class SignIn:
    """What a browser carries before signing in: the OAuth `state` it was sent with and the forms' CSRF token."""

    state: str
    csrf: str
    began: float


class CookieJar:
    """Sign and read the two cookies; a forged, altered or expired cookie reads as no cookie."""

    def __init__(self, key: bytes, lifetime: timedelta) -> None:
        self._sessions = URLSafeSerializer(key, salt="smartbot-web-session")
        self._sign_ins = URLSafeSerializer(key, salt="smartbot-web-sign-in")
        self.lifetime = lifetime

    def new_session(self, user: str | None, exact: bool, now: datetime) -> Session:
        """Return a fresh session beginning (and role-checked) at `now`."""
        return Session(user, exact, now.timestamp(), now.timestamp(), secrets.token_urlsafe(24))

    def session(self, request: Request, now: datetime) -> Session | None:
        """Return the request's session, or None when it has none, a bad one or an expired one."""
        data = _load(self._sessions, request.cookies.get(SESSION_COOKIE))
        if data is None:
            return None
        try:
            session = Session(**data)
        except TypeError:
            return None
        if not session.began <= now.timestamp() < session.began + self.lifetime.total_seconds():
            return None
        return session

    def sign_in(self, request: Request, now: datetime) -> SignIn | None:
        """Return the request's pre-sign-in state, or None."""
        data = _load(self._sign_ins, request.cookies.get(LOGIN_COOKIE))
        if data is None:
            return None
        try:
            state = SignIn(**data)
        except TypeError:
            return None
        if not state.began <= now.timestamp() < state.began + LOGIN_COOKIE_TTL.total_seconds():
            return None
        return state

    def new_sign_in(self, now: datetime) -> SignIn:
        """Return fresh pre-sign-in state."""
        return SignIn(secrets.token_urlsafe(24), secrets.token_urlsafe(24), now.timestamp())

    def set_session(self, response: Response, request: Request, session: Session) -> None:
        """Put the session's cookie on a response (Secure when the request came over HTTPS)."""
        value = self._sessions.dumps(asdict(session))
        remaining = int(session.began + self.lifetime.total_seconds() - session.checked)
        _set(response, request, SESSION_COOKIE, value, max(remaining, 1))

    def set_sign_in(self, response: Response, request: Request, state: SignIn) -> None:
        """Put the pre-sign-in cookie on a response."""
        _set(
            response, request, LOGIN_COOKIE, self._sign_ins.dumps(asdict(state)), int(LOGIN_COOKIE_TTL.total_seconds())
        )

    @staticmethod
    def end_session(response: Response, request: Request) -> None:
        """Remove the session cookie (sign-out, or access lost)."""
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="lax"
        )

    @staticmethod
    def end_sign_in(response: Response, request: Request) -> None:
        """Remove the pre-sign-in cookie once it has served."""
        response.delete_cookie(
            LOGIN_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="lax"
        )


def same_token(expected: str | None, given: object) -> bool:
    """Return whether a submitted CSRF token (or OAuth state) matches, in constant time."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected or "", given)


class AttemptLimiter:
    """Sign-in attempts per client address in a sliding window; in memory, so each web process counts its own."""

    def __init__(self, attempts: int, window: timedelta) -> None:
        self._attempts = attempts
        self._window = window.total_seconds()
        self._seen: dict[str, deque[float]] = {}

    def allow(self, client: str, now: datetime) -> bool:
        """Count an attempt from `client`; return False when it is over the limit."""
        moment = now.timestamp()
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= moment - self._window:
            seen.popleft()
        if len(seen) >= self._attempts:
            return False
        seen.append(moment)
        if len(self._seen) > 10_000:
            # A flood of addresses must not grow memory without bound: forget the quiet ones.
            for key in [key for key, times in self._seen.items() if not times]:
                del self._seen[key]
        return True


def _load(serializer: URLSafeSerializer, value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        data = serializer.loads(value)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def _set(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
