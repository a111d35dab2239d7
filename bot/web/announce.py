"""The office's announcements from the dashboard: a form that queues one through the outbox, and recent reports.

The web process only records the announcement (`AnnouncementService.announce`); the bot process delivers it to each
group's coordinators' channel through the outbox, restart-safe and paced, and posts its delivery report in the
office's digest channel. Files are sent with `/office announce` in Discord; this form sends text.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import InvalidInputError
from bot.services.office.announcements import AnnouncementService, Recipient, TEXT_MAX
from bot.web.app import Web, error_page, protected

log = logging.getLogger(__name__)

RECENT = 10


def routes(web: Web) -> list[BaseRoute]:
    """Return the announcement form and its sending, behind a session (office staff only) and CSRF for the POST."""
    service = AnnouncementService(web.database, web.clock)

    async def form(request: Request) -> Response:
        groups = [(recipient.name, web.group_key(recipient.guild_id)) for recipient in await _recipients(web, service)]
        return web.render(
            request,
            "announcements.html",
            {
                "title": "Announcements",
                "groups": groups,
                "reports": await service.recent(RECENT),
                "text_max": TEXT_MAX,
                "sent": request.query_params.get("sent"),
            },
        )

    async def send(request: Request) -> Response:
        office = await web.participation.office.config()
        if office is None:
            return error_page(web, request, 409, "No central office server is set yet (python -m bot office set).")
        submitted = await request.form()
        wanted: set[int] = set()
        for key in submitted.getlist("group"):
            found = await web.group_of_key(str(key))
            if found is None:
                return error_page(web, request, 400, "One of the chosen groups is unknown.")
            wanted.add(found[0])
        recipients = await _recipients(web, service)
        chosen = [recipient for recipient in recipients if not wanted or recipient.guild_id in wanted]
        if wanted and len(chosen) < len(wanted):
            return error_page(web, request, 400, "One of the chosen groups has no coordinators' channel set up.")
        try:
            announcement_id = await service.announce(
                office.guild_id, office.channel_id, str(submitted.get("message") or ""), chosen
            )
        except InvalidInputError as exc:
            return error_page(web, request, 400, str(exc))
        log.info("Dashboard announcement %d queued for %d group(s).", announcement_id, len(chosen))
        return RedirectResponse(f"/announcements?sent={announcement_id}", status_code=303)

    return [
        Route("/announcements", protected(web, form), methods=["GET"]),
        Route("/announcements", protected(web, send), methods=["POST"]),
    ]


async def _recipients(web: Web, service: AnnouncementService) -> list[Recipient]:
    """Return the set-up groups the dashboard knows (never the office's own server, never a group by its id)."""
    names = await web.dashboard.known_groups()
    return [recipient for recipient in await service.recipients(names) if recipient.guild_id in names]


__all__ = ["routes"]
