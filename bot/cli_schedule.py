"""`python -m bot schedule ...`: check a meeting schedule from the command line before the bot uses it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.domain.recurrence import (
    RecurrenceError,
    ScheduleRule,
    clock_change,
    first_occurrences,
    parse_local_datetime,
    parse_rrule,
    parse_zone,
)

MAX_PREVIEW_COUNT = 1000

_NOTES = {
    "gap": "clocks skip {wall} that night; held at {held} (RFC 5545: the offset from before the change)",
    "fold": "{wall} happens twice that night; held at the first",
}

schedule_app = typer.Typer(
    help="Check meeting schedules (RFC 5545 recurrence rules in a time zone).",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)


@schedule_app.callback()
def schedule() -> None:
    """Check meeting schedules (RFC 5545 recurrence rules in a time zone)."""
    # A callback keeps `preview` a named sub-command even while it is the only one.


@schedule_app.command()
def preview(
    rrule: Annotated[
        str, typer.Option("--rrule", help="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO;BYHOUR=19;BYMINUTE=0.")
    ],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone of the meeting, e.g. Europe/London.")],
    start: Annotated[
        str, typer.Option("--start", help="First meeting's local wall time, YYYY-MM-DDTHH:MM, e.g. 2026-03-02T19:00.")
    ],
    count: Annotated[int, typer.Option("--count", help=f"How many meetings to list (1-{MAX_PREVIEW_COUNT}).")] = 10,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON list of {utc, local, wall_time, clock_change}: the UTC instant, the local time with "
            "its offset, the rule's wall time, and whether a clock change moved it (gap, fold or null).",
        ),
    ] = False,
) -> None:
    """Print each meeting's UTC instant and local time, exactly as the bot would schedule them."""
    try:
        if not 1 <= count <= MAX_PREVIEW_COUNT:
            raise RecurrenceError(f"--count must be between 1 and {MAX_PREVIEW_COUNT}, not {count}.")
        zone = parse_zone(tz)
        rule = ScheduleRule(rrule=parse_rrule(rrule), tz=zone.key, dtstart_local=parse_local_datetime(start))
    except RecurrenceError as error:
        # Bad input is the operator's to fix: one line saying what was wrong, no traceback.
        typer.echo(f"Error: {error.message}", err=True)
        raise typer.Exit(2) from None
    rows: list[dict[str, str | None]] = []
    notes: list[str] = []
    for occurrence in first_occurrences(rule, count):
        held = occurrence.utc.astimezone(zone)
        change = clock_change(occurrence.local, zone)
        rows.append(
            {
                "utc": occurrence.utc.isoformat(),
                "local": held.isoformat(),
                "wall_time": occurrence.local.isoformat(),
                "clock_change": change,
            }
        )
        wall = f"{occurrence.local:%H:%M}"
        notes.append("" if change is None else _NOTES[change].format(wall=wall, held=f"{held:%H:%M}"))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No meetings: the rule ends before producing any.")
        return
    local_header = f"Local ({zone.key})"
    width = max(27, len(local_header) + 2)
    typer.echo(f"{'UTC':<27}{local_header:<{width}}Note")
    for row, note in zip(rows, notes, strict=True):
        typer.echo(f"{row['utc']:<27}{row['local']:<{width}}{note}".rstrip())
