"""REST v10 plumbing: routing, auth, fault injection, rate limits, body parsing and validation."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TYPE_CHECKING

from aiohttp import BodyPartReader, web
from multidict import MultiMapping

from tests.sandbox import errors
from tests.sandbox.models import Json, User
from tests.sandbox.snowflakes import snowflake
from tests.sandbox.validation import RequestValidator

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
JSON_TYPE = "application/json"
INVALID_JSON = (400, 50109, "The request body contains invalid JSON.")

Handler = Callable[["Sandbox", "Call"], Awaitable["Reply"]]


@dataclass
class Call:
    """One parsed request: its route template, path parameters, query, body and caller."""

    method: str
    route: str
    params: dict[str, str]
    query: MultiMapping[str]
    body: Any
    files: list[Json]
    user: User | None

    def flag(self, name: str) -> bool:
        """Return whether a boolean query parameter is set (`true`, `1`)."""
        return self.query.get(name, "").lower() in ("1", "true")

    def json(self) -> Json:
        """Return the body as an object (an empty one when there was none)."""
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class Reply:
    """A handler's answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: Any, status: int = 200) -> Reply:
    """Return a JSON reply."""
    return Reply(status=status, body=body)


def no_content() -> Reply:
    """Return a 204 reply."""
    return Reply(status=204)


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool


class Router:
    """Matches concrete paths to templates named as in Discord's docs; literal segments win."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        """Register a handler for `METHOD /template/{param}`."""
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.replace(".", r"\."))
        self._routes.append(_Route(method, template, re.compile(pattern + "/?"), handler, auth))

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        """Return the route and path parameters, or raise 404/405 like Discord."""
        candidates = []
        for route in self._routes:
            found = route.regex.fullmatch(path)
            if found is not None:
                candidates.append((route, found.groupdict()))
        if not candidates:
            raise errors.ApiError(errors.NOT_FOUND)
        matching = [c for c in candidates if c[0].method == method]
        if not matching:
            raise errors.ApiError(errors.METHOD_NOT_ALLOWED)
        # Prefer the template with the most literal characters (`@me` over `{user_id}`).
        return max(matching, key=lambda c: len(re.sub(r"\{\w+\}", "", c[0].template)))


class RestApi:
    """The aiohttp handler for everything under /api/v10."""

    def __init__(self, sandbox: Sandbox, validator: RequestValidator) -> None:
        self.sandbox = sandbox
        self.validator = validator
        self.router = Router()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one REST request."""
        sb = self.sandbox
        path = request.path[len(API_PREFIX) :] or "/"
        method = request.method
        try:
            route, params = self.router.match(method, path)
        except errors.ApiError as exc:
            return _json_response(exc.status, exc.body())
        name = f"{method} {route.template}"
        sb.stats.requests[name] += 1
        delay = sb.faults.latency_for(name)
        if delay:
            await asyncio.sleep(delay)
        user = None
        if route.auth:
            if request.headers.get("Authorization") != f"Bot {sb.state.app.token}":
                return self._finish(name, _json_response(*_error(errors.UNAUTHORIZED)))
            user = sb.state.bot
        status = sb.faults.take_5xx(name)
        if status is not None:
            sb.stats.injected_5xx += 1
            body = {"message": f"{status}: Server Error", "code": 0}
            return self._finish(name, _json_response(status, body))
        major = _major(params)
        decision = sb.ratelimits.check(name, major)
        if not decision.allowed:
            sb.stats.rate_limited += 1
            sb.stats.rate_limited_routes[name] += 1
            return self._finish(name, _json_response(429, decision.body(), decision.headers))
        try:
            body, files = await _read_body(request)
        except errors.ApiError as exc:
            return self._finish(name, _json_response(exc.status, exc.body(), decision.headers))
        if body is not None:
            problems = self.validator.validate(method, path, body)
            if problems:
                invalid = errors.ApiError(errors.INVALID_FORM_BODY, problems)
                log.info("sandbox: %s answered 400 50035 %s", name, json.dumps(problems)[:500])
                return self._finish(name, _json_response(400, invalid.body(), decision.headers))
        call = Call(method, name, params, request.query, body, files, user)
        try:
            reply = await route.handler(sb, call)
        except errors.ApiError as exc:
            log.info("sandbox: %s answered %s %s", name, exc.status, exc.code)
            return self._finish(name, _json_response(exc.status, exc.body(), decision.headers))
        except Exception as exc:
            # A sandbox bug: 503 makes discord.py fail at once (500 would be retried for seconds).
            log.exception("sandbox: internal error in %s", name)
            sb.internal_errors.append(f"{name}: {exc!r}")
            body = {"message": f"sandbox internal error: {exc!r}", "code": 0}
            return self._finish(name, _json_response(503, body, decision.headers))
        headers = decision.headers | reply.headers
        if reply.status == 204 or reply.body is None:
            return self._finish(name, web.Response(status=204, headers=headers))
        return self._finish(name, _json_response(reply.status, reply.body, headers))

    def _finish(self, name: str, response: web.Response) -> web.Response:
        self.sandbox.stats.statuses[response.status] += 1
        return response


def _error(spec: tuple[int, int, str]) -> tuple[int, Json]:
    return spec[0], {"message": spec[2], "code": spec[1]}


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: discord.py compares the header verbatim and a charset breaks login.
    all_headers = dict(headers or {})
    all_headers["Content-Type"] = JSON_TYPE
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


def _major(params: dict[str, str]) -> str:
    for key in ("channel_id", "guild_id"):
        if key in params:
            return params[key]
    if "webhook_id" in params:
        return f"{params['webhook_id']}+{params.get('webhook_token', '')}"
    if "interaction_id" in params:
        return params["interaction_id"]
    return ""


async def _read_body(request: web.Request) -> tuple[Any, list[Json]]:
    """Return the JSON body (or a multipart request's payload_json) and uploaded files."""
    if not request.can_read_body:
        return None, []
    content_type = request.content_type
    if content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        raise errors.ApiError(INVALID_JSON) from None


async def _read_multipart(request: web.Request) -> tuple[Any, list[Json]]:
    reader = await request.multipart()
    body: Any = None
    files: dict[int, Json] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        data = await part.read()
        if name == "payload_json":
            try:
                body = json.loads(data)
            except ValueError:
                raise errors.ApiError(INVALID_JSON) from None
            continue
        matched = re.fullmatch(r"files\[(\d+)\]", name)
        if matched:
            files[int(matched.group(1))] = {
                "filename": part.filename or f"file{matched.group(1)}",
                "size": len(data),
                "content_type": part.headers.get("Content-Type", "application/octet-stream"),
            }
    attachments = []
    described = {str(a.get("id")): a for a in (body or {}).get("attachments") or []} if isinstance(body, dict) else {}
    for index, info in sorted(files.items()):
        attachment_id = snowflake()
        meta = described.get(str(index), {})
        filename = meta.get("filename") or info["filename"]
        url = f"http://{request.host}/attachments/{attachment_id}/{filename}"
        attachments.append(
            {
                "id": str(attachment_id),
                "filename": filename,
                "description": meta.get("description"),
                "size": info["size"],
                "content_type": info["content_type"],
                "url": url,
                "proxy_url": url,
            }
        )
    return body, attachments
