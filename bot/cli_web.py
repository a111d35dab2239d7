"""`python -m bot web`: the central office's dashboard, and `web login-link` for a one-time sign-in link."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Annotated, Any

import typer

log = logging.getLogger(__name__)

# The line `python -m bot web` prints once it accepts connections, followed by its address.
READY = "Dashboard ready at"

web_app = typer.Typer(
    help="The central office's web dashboard (its own process, beside the bot).",
    add_completion=False,
    pretty_exceptions_enable=False,
)


@web_app.callback(invoke_without_command=True)
def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (keep 127.0.0.1 behind a proxy).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8080,
) -> None:
    """Serve the dashboard until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.cli import require_settings
    from bot.logging_setup import configure_logging

    settings = require_settings(ctx)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings, host, port))


async def serve(settings: object, host: str, port: int) -> None:
    """Run the dashboard on `host:port` until the process is told to stop."""
    import uvicorn

    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from bot.settings import Settings
    from bot.web.app import create_app

    assert isinstance(settings, Settings)  # noqa: S101
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        app = create_app(settings, database, SystemClock())
        # Behind a reverse proxy on this host, X-Forwarded-Proto says whether the browser used HTTPS (Secure cookies).
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            access_log=False,
            log_config=None,
            server_header=False,
        )
        await _run(config, f"http://{host}:{port}/")
    finally:
        await database.dispose()


async def _run(config: Any, address: str) -> None:
    """Serve with uvicorn until stopped, saying on stdout once connections are accepted."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                log.info("Dashboard listening on %s", address)
                # A line for whoever started the process (a supervisor, the tests): it may send requests now.
                print(f"{READY} {address}", flush=True)  # noqa: T201

    await Server(config).serve()


@web_app.command("login-link")
def login_link(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="The dashboard's address as a browser reaches it.")] = (
        "http://127.0.0.1:8080"
    ),
    minutes: Annotated[int, typer.Option("--minutes", help="How long the link works.", min=1, max=60)] = 10,
    exact: Annotated[
        bool, typer.Option("--exact", help="Let this session download exact figures (NOT FOR PUBLICATION).")
    ] = False,
) -> None:
    """Print a one-time sign-in link for the operator on this host: it works once, for a few minutes."""
    from bot.cli import require_settings

    settings = require_settings(ctx)
    link = asyncio.run(create_link(settings.database_url, timedelta(minutes=minutes), exact))
    typer.echo(f"{url.rstrip('/')}/login/link/{link}")
    typer.echo(f"Works once, for {minutes} minute{'s' if minutes != 1 else ''}.", err=True)


async def create_link(database_url: str, valid_for: timedelta, exact: bool) -> str:
    """Store a new one-time link and return its token."""
    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from bot.services.login_links import LoginLinks

    database = Database(database_url)
    try:
        await upgrade(database)
        return (await LoginLinks(database, SystemClock()).create(valid_for, exact=exact)).token
    finally:
        await database.dispose()
