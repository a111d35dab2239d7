"""`python -m bot export participation`, `report` and `office`: figures for the central office, and its server.

`export` and `report` finalise any finished meeting that has no numbers yet (a meeting missed or cancelled while
the bot was down) before reading, then apply disclosure control unless `--exact` is given explicitly.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TYPE_CHECKING, TextIO, TypeVar

import typer

from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION
from bot.domain.text import plural

if TYPE_CHECKING:
    from rich.console import Console

    from bot.services.participation.export import ExportRequest
    from bot.services.participation.office import OfficeService

T = TypeVar("T")

export_app = typer.Typer(
    help="Export data for the central office.", add_completion=False, pretty_exceptions_enable=False
)
report_app = typer.Typer(
    help="Write PNG charts and summary.md for the central office.", add_completion=False, pretty_exceptions_enable=False
)
office_app = typer.Typer(
    help="Choose the central office's Discord server (where /office report works and the digest goes).",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)

# Below this many rows a progress bar would only flicker.
PROGRESS_MIN_ROWS = 200

FromOption = Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (the meetings' local dates).")]
ToOption = Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")]
GuildOption = Annotated[
    list[int] | None, typer.Option("--guild", help="Only this group's server id (repeat for several; default all).")
]
ExactOption = Annotated[
    bool,
    typer.Option(
        "--exact", help=f"Exact figures without disclosure control; every file is stamped {NOT_FOR_PUBLICATION}."
    ),
]
ThresholdOption = Annotated[int, typer.Option("--threshold", help="Suppress counts of people below this.")]
RoundingOption = Annotated[int, typer.Option("--rounding", help="Round published counts to a multiple of this.")]
MinPeopleOption = Annotated[int, typer.Option("--min-people", help="Suppress averages over fewer answers than this.")]


def mount_export_commands(app: typer.Typer) -> None:
    """Add `export`, `report` and `office` to the main command line."""
    app.add_typer(export_app, name="export")
    app.add_typer(report_app, name="report")
    app.add_typer(office_app, name="office")


@export_app.callback()
def export() -> None:
    """Export data for the central office."""
    # A callback keeps `participation` a named sub-command even while it is the only one.


@export_app.command("participation")
def participation(
    ctx: typer.Context,
    start: FromOption,
    end: ToOption,
    guild: GuildOption = None,
    by: Annotated[str, typer.Option("--by", help="One row per occurrence, week or month.")] = "occurrence",
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="File to write; default: standard output.")] = None,
    exact: ExactOption = False,
    threshold: ThresholdOption = 8,
    rounding: RoundingOption = 5,
    min_people: MinPeopleOption = 8,
) -> None:
    """Write anonymised participation figures as CSV or JSON, with disclosure control on by default."""
    from bot.services.participation.export import ExportRequest

    if fmt not in ("csv", "json"):
        raise _fail("--format must be csv or json.")
    policy = _policy(exact, threshold, rounding, min_people)
    try:
        request = ExportRequest(_day(start, "--from"), _day(end, "--to"), tuple(guild or ()), by, policy)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    url = _database_url(ctx)
    with _database_errors():
        if out is None:
            rows = asyncio.run(_export(url, request, fmt, sys.stdout))
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                rows = asyncio.run(_export(url, request, fmt, handle))
    where = "standard output" if out is None else str(out)
    stamp = f" ({NOT_FOR_PUBLICATION})" if exact else ""
    typer.echo(f"Wrote {plural(rows, 'row')} to {where}{stamp}.", err=True)


@report_app.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    start: FromOption,
    end: ToOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for the PNG charts and summary.md.")],
    guild: GuildOption = None,
    exact: ExactOption = False,
    threshold: ThresholdOption = 8,
    rounding: RoundingOption = 5,
    min_people: MinPeopleOption = 8,
) -> None:
    """Write charts (attendance, new vs returning, meetings held vs missed, feedback) and summary.md."""
    from bot.services.participation.export import ExportRequest

    policy = _policy(exact, threshold, rounding, min_people)
    try:
        request = ExportRequest(_day(start, "--from"), _day(end, "--to"), tuple(guild or ()), "week", policy)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with _database_errors():
        summary = asyncio.run(_report(_database_url(ctx), request, out))
    stamp = f" ({NOT_FOR_PUBLICATION})" if exact else ""
    typer.echo(f"Wrote the report to {summary}{stamp}.", err=True)


@office_app.command("set")
def office_set(
    ctx: typer.Context,
    guild: Annotated[int, typer.Option("--guild", help="The central office's server id.")],
    channel: Annotated[int, typer.Option("--channel", help="Channel id for the monthly digest.")],
    role: Annotated[int, typer.Option("--role", help="Id of the role allowed to use /office report.")],
) -> None:
    """Make a server the central office's: it will see every group's (protected) figures."""
    config = _office(ctx, lambda office: office.configure(guild, channel, role))
    typer.echo(f"The central office server is {config.guild_id}: digest to channel {config.channel_id}, "
               f"/office report for role {config.role_id}.")  # fmt: skip


@office_app.command("show")
def office_show(ctx: typer.Context) -> None:
    """Show the central office's server, if one is set."""
    config = _office(ctx, lambda office: office.config())
    if config is None:
        typer.echo("No central office server is set. Use `python -m bot office set`.")
    else:
        last = config.last_digest_month or "none yet"
        typer.echo(f"Server {config.guild_id}, digest channel {config.channel_id}, role {config.role_id}, "
                   f"last digest: {last}.")  # fmt: skip


@office_app.command("clear")
def office_clear(ctx: typer.Context) -> None:
    """Stop treating any server as the central office's."""
    cleared = _office(ctx, lambda office: office.clear())
    typer.echo("Cleared." if cleared else "No central office server was set.")


def _office(ctx: typer.Context, action: Callable[[OfficeService], Awaitable[T]]) -> T:
    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.services.participation.service import ParticipationService

    async def run() -> T:
        database = Database(_database_url(ctx))
        try:
            return await action(ParticipationService(database, SystemClock()).office)
        finally:
            await database.dispose()

    with _database_errors():
        return asyncio.run(run())


async def _export(url: str, request: ExportRequest, fmt: str, handle: TextIO) -> int:
    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.services.participation.export import ParticipationExport, metadata
    from bot.services.participation.export_files import write_csv, write_json
    from bot.services.participation.service import ParticipationService

    database = Database(url)
    clock = SystemClock()
    try:
        await ParticipationService(database, clock).reconcile(request.start, request.end)
        export = ParticipationExport(database)
        console = _terminal()
        # Counting re-runs the whole aggregate: only worth it when there is a bar to size.
        total = await export.count_rows(request) if console is not None else 0
        writer = write_csv if fmt == "csv" else write_json
        with _progress(console, total) as advance:
            return await writer(export.rows(request), handle, metadata(request, clock.now()), request.by, advance)
    finally:
        await database.dispose()


async def _report(url: str, request: ExportRequest, out: Path) -> Path:
    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.services.participation.report import build_report
    from bot.services.participation.service import ParticipationService

    database = Database(url)
    clock = SystemClock()
    try:
        await ParticipationService(database, clock).reconcile(request.start, request.end)
        built = await build_report(database, request, out, clock.now())
        return built.summary
    finally:
        await database.dispose()


def _terminal() -> Console | None:
    """Return a console on stderr when it is a terminal (where a progress bar can be drawn), else None."""
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else None


def _progress(console: Console | None, total: int) -> Any:
    """Return a context giving a callback per partition written: a progress bar for long exports, else nothing."""
    from rich.progress import Progress

    if console is None or total < PROGRESS_MIN_ROWS:
        return nullcontext(None)
    return _ProgressBar(Progress(console=console, transient=True), total)


class _ProgressBar:
    def __init__(self, progress: Any, total: int) -> None:
        self.progress = progress
        self.total = total

    def __enter__(self) -> Callable[[int], None]:
        self.progress.start()
        task = self.progress.add_task("Exporting", total=self.total)
        return lambda rows: self.progress.advance(task, rows)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _policy(exact: bool, threshold: int, rounding: int, min_people: int) -> DisclosurePolicy:
    try:
        return DisclosurePolicy(threshold=threshold, rounding=rounding, min_people_for_averages=min_people, exact=exact)
    except ValueError as exc:
        raise _fail(f"Disclosure control: {exc}.") from None


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} must be a date as YYYY-MM-DD (got {text!r}).") from None


def _database_url(ctx: typer.Context) -> str:
    from bot.cli import require_settings

    return require_settings(ctx).database_url


@contextmanager
def _database_errors() -> Iterator[None]:
    """Turn a database that is missing or not migrated into one clear line instead of a traceback."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        yield
    except (OperationalError, ProgrammingError):
        raise _fail(
            "The database is not ready (missing, or not migrated): run `python -m bot migrate` first."
        ) from None


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)
