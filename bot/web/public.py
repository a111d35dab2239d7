"""The public meeting listing, open without sign-in on purpose: the Meeting Guide feed, and each listed group's page.

Only groups whose coordinators turned the listing on (`/referral listing on`) are served, with only what they made
public (bot/services/referral/feed.py); anything else is a 404 that says no more. A group's public page shares the
`/groups/...` addresses with the office's group pages: a listed group's slug is its public page, an office group key
(16 hex digits) goes to the office's page behind a session.
"""

from __future__ import annotations

import json
import logging
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.services.referral.feed import FEED_FILE, group_calendar_by_slug, group_page_by_slug, meetings_feed
from bot.web.app import Handler, Web

log = logging.getLogger(__name__)

OFFICE_KEY = re.compile(r"[0-9a-f]{16}")
# The listing is public and changes rarely: caches may keep it a few minutes. Its page has its own inline style.
PUBLIC_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
}
# Meeting Guide and TSML UI read feeds from other sites, some in the browser.
FEED_HEADERS = PUBLIC_HEADERS | {"Access-Control-Allow-Origin": "*"}


def routes(web: Web, office_group_page: Handler) -> list[BaseRoute]:
    """Return the public listing's routes; `/groups/{key}` with an office key falls through to `office_group_page`."""

    async def feed(request: Request) -> Response:
        base_url = str(request.base_url).rstrip("/") + "/groups"
        entries = await meetings_feed(web.database, web.clock, base_url=base_url)
        body = json.dumps(entries, ensure_ascii=False, indent=2).encode("utf-8")
        return Response(body, media_type="application/json", headers=FEED_HEADERS)

    async def calendar(request: Request) -> Response:
        found = await group_calendar_by_slug(web.database, web.clock, request.path_params["slug"])
        if found is None:
            return _not_listed()
        return Response(found, media_type="text/calendar; charset=utf-8", headers=PUBLIC_HEADERS)

    async def page(request: Request) -> Response:
        slug = request.path_params["slug"]
        found = await group_page_by_slug(web.database, web.clock, slug)
        if found is not None:
            return HTMLResponse(found, headers=PUBLIC_HEADERS)
        if OFFICE_KEY.fullmatch(slug) and not request.url.path.endswith(".html"):
            return await office_group_page(request)
        return _not_listed()

    return [
        Route(f"/{FEED_FILE}", feed, methods=["GET"]),
        # The group page links the feed relatively, so it is found beside the pages too.
        Route(f"/groups/{FEED_FILE}", feed, methods=["GET"]),
        Route("/groups/{slug}.ics", calendar, methods=["GET"]),
        # The feed's `url` names `<slug>.html`, as the static files `python -m bot feed` writes do.
        Route("/groups/{slug}.html", page, methods=["GET"]),
        Route("/groups/{slug}", page, methods=["GET"]),
    ]


def _not_listed() -> Response:
    return PlainTextResponse("No listed group has this address.", status_code=404, headers=PUBLIC_HEADERS)


__all__ = ["routes"]
