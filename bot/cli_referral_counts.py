"""`python -m bot export referrals`: joins through each group's referral routes per month, for the central office."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, TextIO

import typer

from bot.cli_export import (
    ExactOption,
    FromOption,
    GuildOption,
    RoundingOption,
    ThresholdOption,
    ToOption,
    export_app,
)
from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION
from bot.domain.text import plural


def mount_referral_export() -> None:
    """Add `referrals` to `python -m bot export`."""
    export_app.command("referrals")(referrals)


def referrals(
    ctx: typer.Context,
    start: FromOption,
    end: ToOption,
    guild: GuildOption = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="File to write; default: standard output.")] = None,
    exact: ExactOption = False,
    threshold: ThresholdOption = 8,
    rounding: RoundingOption = 5,
) -> None:
    """Write joins per group, referral route and month (the months of --from to --to), protected by default."""
    from bot.cli import require_settings

    if fmt not in ("csv", "json"):
        raise _fail("--format must be csv or json.")
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        raise _fail("--to must not be before --from")
    try:
        policy = DisclosurePolicy(threshold=threshold, rounding=rounding, exact=exact)
    except ValueError as exc:
        raise _fail(f"Disclosure control: {exc}.") from None
    url = require_settings(ctx).database_url
    try:
        if out is None:
            rows = asyncio.run(_write(url, first, last, tuple(guild or ()), policy, fmt, sys.stdout))
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                rows = asyncio.run(_write(url, first, last, tuple(guild or ()), policy, fmt, handle))
    except Exception as exc:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        if isinstance(exc, OperationalError | ProgrammingError):
            raise _fail(
                "The database is not ready (missing, or not migrated): run `python -m bot migrate` first."
            ) from None
        raise
    where = "standard output" if out is None else str(out)
    stamp = f" ({NOT_FOR_PUBLICATION})" if exact else ""
    typer.echo(f"Wrote {plural(rows, 'row')} to {where}{stamp}.", err=True)


async def _write(
    url: str, first: date, last: date, guild_ids: tuple[int, ...], policy: DisclosurePolicy, fmt: str, out: TextIO
) -> int:
    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.services.referral.counts import metadata, referral_counts, write_csv, write_json

    database = Database(url)
    try:
        rows = await referral_counts(database, first, last, guild_ids, policy=policy)
    finally:
        await database.dispose()
    meta = metadata(first, last, guild_ids, policy, SystemClock().now())
    return (write_csv if fmt == "csv" else write_json)(rows, out, meta)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} must be a date as YYYY-MM-DD (got {text!r}).") from None


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)
