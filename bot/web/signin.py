"""Sign-in and sign-out: Discord OAuth2 (authorisation code, `identify` only), one-time links, and the sign-in page."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.web.app import WHY, Web, client_address, error_page, protected
from bot.web.discord_api import DiscordUnavailableError
from bot.web.sessions import CSRF_FIELD, same_token

log = logging.getLogger(__name__)


def routes(web: Web) -> list[BaseRoute]:
    """Return the sign-in routes (open to everyone, rate-limited where they try a credential)."""

    async def login_page(request: Request) -> Response:
        if web.cookies.session(request, web.clock.now()) is not None and "why" not in request.query_params:
            return RedirectResponse("/", status_code=303)
        why = WHY.get(request.query_params.get("why", ""))
        response = web.render(
            request, "login.html", {"title": "Sign in", "why": why, "oauth": web.discord and web.discord.oauth}
        )
        return response

    async def discord_start(request: Request) -> Response:
        now = web.clock.now()
        if web.discord is None or web.discord.oauth is None:
            return error_page(web, request, 404, "Sign-in with Discord is not configured on this dashboard.")
        if not web.limiter.allow(client_address(request), now):
            return _too_many(web, request)
        state = web.cookies.new_sign_in(now)
        response = RedirectResponse(web.discord.authorize_url(state.state), status_code=303)
        web.cookies.set_sign_in(response, request, state)
        return response

    async def discord_callback(request: Request) -> Response:
        now = web.clock.now()
        if web.discord is None or web.discord.oauth is None:
            return error_page(web, request, 404, "Sign-in with Discord is not configured on this dashboard.")
        if not web.limiter.allow(client_address(request), now):
            return _too_many(web, request)
        pending = web.cookies.sign_in(request, now)
        code = request.query_params.get("code")
        if pending is None or not code or not same_token(pending.state, request.query_params.get("state")):
            return RedirectResponse("/login?why=state", status_code=303)
        try:
            user = await web.discord.user_of_code(code)
            exact = await web.access_of(user)
        except PermissionError:
            return RedirectResponse("/login?why=state", status_code=303)
        except DiscordUnavailableError:
            return error_page(web, request, 503, "Discord could not confirm your access just now. Try again soon.")
        if exact is None:
            office = await web.participation.office.config()
            log.info("A sign-in was refused: no central office role.")
            response = RedirectResponse(f"/login?why={'role' if office else 'no-office'}", status_code=303)
            web.cookies.end_sign_in(response, request)
            return response
        log.info("Signed in with Discord.")
        return _signed_in(web, request, user, exact)

    async def link_page(request: Request) -> Response:
        now = web.clock.now()
        pending = web.cookies.sign_in(request, now) or web.cookies.new_sign_in(now)
        response = web.render(
            request,
            "link.html",
            {"title": "Sign in with a one-time link", "token": request.path_params["token"], "form_csrf": pending.csrf},
        )
        web.cookies.set_sign_in(response, request, pending)
        return response

    async def link_use(request: Request) -> Response:
        now = web.clock.now()
        if not web.limiter.allow(client_address(request), now):
            return _too_many(web, request)
        pending = web.cookies.sign_in(request, now)
        form = await request.form()
        if pending is None or not same_token(pending.csrf, form.get(CSRF_FIELD)):
            return PlainTextResponse("Missing or wrong form token (CSRF). Open the link again.", 403)
        token = form.get("token")
        exact = await web.links.use(token) if isinstance(token, str) and token else None
        if exact is None:
            return RedirectResponse("/login?why=link", status_code=303)
        return _signed_in(web, request, None, exact)

    async def logout(request: Request) -> Response:
        request.state.signed_out = True
        response = RedirectResponse("/login?why=signed-out", status_code=303)
        web.cookies.end_session(response, request)
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/auth/discord", discord_start, methods=["GET"]),
        Route("/auth/callback", discord_callback, methods=["GET"]),
        Route("/login/link/{token}", link_page, methods=["GET"]),
        Route("/login/link", link_use, methods=["POST"]),
        Route("/logout", protected(web, logout), methods=["POST"]),
    ]


def _signed_in(web: Web, request: Request, user: str | None, exact: bool) -> Response:
    response = RedirectResponse("/", status_code=303)
    web.cookies.set_session(response, request, web.cookies.new_session(user, exact, web.clock.now()))
    web.cookies.end_sign_in(response, request)
    return response


def _too_many(web: Web, request: Request) -> Response:
    return error_page(web, request, 429, "Too many sign-in attempts from here. Wait a few minutes and try again.")
