"""`python -m bot poster` and `python -m bot feed`: printable posters and leaflets, and the public meeting listing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TYPE_CHECKING, TypeVar

import typer

from bot.domain.text import plural
from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.db.engine import Database
    from bot.settings import Settings

T = TypeVar("T")


def mount_referral_commands(app: typer.Typer) -> None:
    """Add `poster` and `feed` to the main CLI."""
    app.command("poster")(poster)
    app.command("feed")(feed)


def _run(ctx: typer.Context, work: Callable[[Database, Clock, Settings], Awaitable[T]]) -> T:
    """Open the database, run `work(database, clock, settings)`, and turn bad input into one line and exit 2."""
    from bot.cli import require_settings
    from bot.clock import SystemClock
    from bot.db.engine import Database

    settings = require_settings(ctx)

    async def _go() -> T:
        database = Database(settings.database_url)
        try:
            return await work(database, SystemClock(), settings)
        finally:
            await database.dispose()

    try:
        return asyncio.run(_go())
    except UserFacingError as error:
        typer.echo(f"Error: {error.message}", err=True)
        raise typer.Exit(2) from None


def poster(
    ctx: typer.Context,
    guild: Annotated[int, typer.Option(help="The server id of the group.")],
    out: Annotated[Path, typer.Option(help="File to write, e.g. poster.pdf.")],
    route: Annotated[
        str | None, typer.Option(help="A referral route's name: its invite link goes in the QR code.")
    ] = None,
    file_format: Annotated[str, typer.Option("--format", help="pdf, or png (needs poppler's pdftoppm).")] = "pdf",
    size: Annotated[str, typer.Option(help="a4 (poster) or a5 (leaflet).")] = "a4",
    name: Annotated[
        str | None, typer.Option(help="The group's name as printed; default: its public listing's name.")
    ] = None,
) -> None:
    """Make a printable poster (A4) or leaflet (A5) of the group's meetings, with a QR code of its join link."""
    from bot.services.referral.poster import make_poster

    made = _run(
        ctx,
        lambda database, clock, settings: make_poster(
            database,
            clock,
            guild,
            group_name=name,
            route=route,
            size=size.lower(),
            file_format=file_format.lower(),
            office_contact=settings.office_contact,
        ),
    )
    out.write_bytes(made.data)
    qr = f"QR code: {made.link}" if made.link else "no QR code (give --route, or list the group with a join link)"
    typer.echo(f"Wrote {out} ({qr}).", err=True)


def feed(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option(help="A folder (meetings.json, <slug>.ics, <slug>.html), or a .json file for the feed only.")
    ],
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="PUBLIC_LISTING_URL",
            help="Where the folder is published, e.g. https://example.org/meetings: gives each feed entry its url.",
        ),
    ] = None,
) -> None:
    """Write the public meeting listing of every group that opted in (Meeting Guide feed, calendars, pages)."""
    import json

    from bot.services.referral.feed import meetings_feed, write_feed

    if base_url is not None and not base_url.startswith(("https://", "http://")):
        typer.echo(f"Error: --base-url must be a web address starting with https:// (got {base_url!r}).", err=True)
        raise typer.Exit(2)
    if out.suffix.lower() == ".json":
        entries = _run(ctx, lambda database, clock, _settings: meetings_feed(database, clock, base_url=base_url))
        out.write_text(json.dumps(entries, indent=2) + "\n", "utf-8")
        typer.echo(f"Wrote {out} ({plural(len(entries), 'meeting')}).", err=True)
        return
    written = _run(ctx, lambda database, clock, _settings: write_feed(database, clock, out, base_url=base_url))
    typer.echo(f"Wrote {plural(len(written), 'file')} to {out}.", err=True)
