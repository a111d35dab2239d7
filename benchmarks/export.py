"""Benchmark 5: the participation export with disclosure control, for a national-scale year, against raw SQL.

Data: one year (52 weeks) of 600 groups holding 5 meetings a week, 156,000 meetings, each with its finalised
numbers row (participation_occurrence) and its meeting_occurrence row, and about 1,000,000 attendance marks
(participation_marks, by pseudonym; the export never reads them, but they are there, as in a real database).

Case: the export as `python -m bot export participation --from ... --to ... --by week` runs it (the CLI's own
`_export`: catch-up of unfinalised meetings in the range, a row count only if a progress bar shows (not here), SQL
aggregation, disclosure control on every cell, CSV written to /dev/null), and the same `--by occurrence` (one row
per meeting).
Baseline: the raw SQL giving the same rows (the same GROUP BY for weeks, the same SELECT for occurrences) run
with the standard library's sqlite3, every row fetched. Both are timed inside one process, after its imports
(interpreter start-up excluded), alternating, 3 times each; the figures are medians. Memory is that process's
peak resident set (VmHWM), which includes the interpreter and imports.
Target: the export <= 2x the raw query, and <= 200 MB peak.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import fixes
from benchmarks.common import ROOT, Result, SEED, memory_mb, migrated, parse_size, quiet_logging, workdir

NAME = "export"
TITLE = "5. Participation export with disclosure control (a national year)"
TARGET_RATIO = 2.0
TARGET_MB = 200.0
FIRST_DAY = date(2025, 1, 6)  # a Monday: 52 whole ISO weeks follow
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores datetimes in SQLite
MISSED = ("no facilitator", "bot down", "cancelled")


@dataclass(frozen=True)
class Size:
    groups: int
    per_week: int
    weeks: int
    attendees: float  # mean attendance marks per held meeting
    repeats: int


FULL = Size(groups=600, per_week=5, weeks=52, attendees=7.1, repeats=3)
TOY = Size(groups=6, per_week=2, weeks=3, attendees=7.1, repeats=1)


def pending_reason() -> str | None:
    """Return why the export cannot be measured yet (its code is still being written), or None."""
    try:
        import bot.cli_export
        import bot.services.participation.export
    except ImportError as exc:
        return f"the participation export is not there yet ({exc})"
    if not hasattr(bot.cli_export, "_export"):
        return "bot.cli_export has no _export to time"
    return None


# --- seeding -------------------------------------------------------------------------------------------


def seed(path: Path, size: Size) -> dict[str, int]:
    """Write a year of meetings, their numbers and attendance marks with plain sqlite3 (seconds, not minutes)."""
    from bot.db.models_participation import FEEDBACK_COLUMNS

    rng = random.Random(SEED)
    created = datetime(2026, 1, 15, tzinfo=UTC).strftime(SQLITE_TIME)
    meetings: list[tuple[Any, ...]] = []
    numbers: list[dict[str, Any]] = []
    marks: list[tuple[Any, ...]] = []
    occurrence_id = 0
    for guild_index in range(size.groups):
        guild_id = 1_100_000_000_000_000_000 + guild_index
        people = [f"{rng.getrandbits(256):064x}" for _ in range(60)]  # the group's regulars, by pseudonym
        for week in range(size.weeks):
            for slot in range(size.per_week):
                occurrence_id += 1
                day = FIRST_DAY + timedelta(weeks=week, days=(guild_index + 2 * slot) % 7)
                start = datetime(day.year, day.month, day.day, 18 + slot % 3, 0, tzinfo=UTC)
                end = start + timedelta(minutes=90)
                held = rng.random() < 0.92
                state = "completed" if held else "missed"
                reason = None if held else rng.choice(MISSED)
                meetings.append(
                    (occurrence_id, guild_id, day.isoformat() + "T18:00:00", start.strftime(SQLITE_TIME),
                     end.strftime(SQLITE_TIME), state, reason, created)
                )  # fmt: skip
                attendees = min(max(int(rng.gauss(size.attendees, 3)), 1), 25) if held else 0
                present = rng.sample(people, attendees)
                new = sum(1 for _ in present if rng.random() < 0.15)
                answers = rng.randint(0, attendees)
                feedback = dict.fromkeys(FEEDBACK_COLUMNS, 0)
                for _ in range(answers):
                    feedback[f"fb_helpful_{rng.choice((3, 4, 4, 5, 5))}"] += 1
                    feedback[rng.choice(("fb_again_yes", "fb_again_yes", "fb_again_maybe", "fb_again_no"))] += 1
                iso = day.isocalendar()
                numbers.append(
                    {
                        "occurrence_id": occurrence_id,
                        "guild_id": guild_id,
                        "schedule_id": guild_index * size.per_week + slot + 1,
                        "period": str(day.year),
                        "local_date": day.isoformat(),
                        "local_week": f"{iso.year:04d}-W{iso.week:02d}",
                        "local_month": day.isoformat()[:7],
                        "outcome": "held" if held else "missed",
                        "missed_reason": reason,
                        "scheduled_start": start.strftime(SQLITE_TIME),
                        "scheduled_end": end.strftime(SQLITE_TIME),
                        "actual_start": start.strftime(SQLITE_TIME) if held else None,
                        "actual_end": end.strftime(SQLITE_TIME) if held else None,
                        "phases_reached": 7 if held else 0,
                        "phases_total": 7,
                        "attendees": attendees,
                        "new_attendees": new,
                        "returning_attendees": attendees - new,
                        "unlinked_attendees": 0,
                        "checkins": rng.randint(0, attendees),
                        "voice_attendees": attendees,
                        "posters": rng.randint(0, attendees),
                        "facilitators": 1 + (rng.random() < 0.3) if held else 0,
                        "feedback_answers": answers,
                        **feedback,
                        "feedback_until": None,
                        "finalised_at": end.strftime(SQLITE_TIME),
                        "created_at": created,
                    }
                )
                marks += [(occurrence_id, guild_id, str(day.year), p, start.strftime(SQLITE_TIME)) for p in present]
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.executemany(
                "INSERT INTO meeting_occurrence (id, guild_id, local_start, starts_at, ends_at, state, reason, "
                "title, template_slug, location_kind, channel_id, event_requested, phase_nudged, phase_timings, "
                "started_late, no_facilitator_alerted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'SMART meeting', "
                "'standard-90', 'voice', 1, 0, 0, '[]', 0, 1, ?)",
                meetings,
            )
            names = list(numbers[0])
            connection.executemany(
                f"INSERT INTO participation_occurrence ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",  # noqa: S608 - our own column names
                [tuple(row[name] for name in names) for row in numbers],
            )
            connection.executemany(
                "INSERT INTO participation_mark (occurrence_id, guild_id, period, pseudonym, starts_at) "
                "VALUES (?, ?, ?, ?, ?)",
                marks,
            )
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return {"meetings": len(numbers), "marks": len(marks)}


# --- measuring (in a fresh process) ----------------------------------------------------------------------


def raw_sql(by: str) -> str:
    """Return the plain SQL giving the export's rows, built from the export's own column lists."""
    from bot.services.participation.export import OCCURRENCE_FACTS, PEOPLE_COLUMNS

    where = "finalised_at IS NOT NULL AND local_date >= ? AND local_date <= ?"
    if by == "occurrence":
        chosen = ", ".join(["guild_id", *OCCURRENCE_FACTS, *PEOPLE_COLUMNS])
        order = "local_date, scheduled_start, guild_id, occurrence_id"
        return f"SELECT {chosen} FROM participation_occurrence WHERE {where} ORDER BY {order}"  # noqa: S608
    bucket = "local_week" if by == "week" else "local_month"
    missed = ", ".join(f"sum(CASE WHEN missed_reason = '{reason}' THEN 1 ELSE 0 END)" for reason in (*MISSED, "other"))
    sums = ", ".join(f"sum({name})" for name in PEOPLE_COLUMNS)
    return (
        f"SELECT {bucket}, guild_id, count(*), sum(CASE WHEN outcome = 'held' THEN 1 ELSE 0 END), {missed}, "  # noqa: S608
        f"sum(facilitators), {sums} FROM participation_occurrence WHERE {where} "
        f"GROUP BY {bucket}, guild_id ORDER BY {bucket}, guild_id"
    )


def time_raw(path: Path, by: str, start: date, end: date) -> tuple[float, int]:
    sql = raw_sql(by)
    began = time.perf_counter()
    connection = sqlite3.connect(path)
    try:
        rows = sum(1 for _ in connection.execute(sql, (start.isoformat(), end.isoformat())))
    finally:
        connection.close()
    return time.perf_counter() - began, rows


def time_export(path: Path, by: str, start: date, end: date) -> tuple[float, int]:
    from benchmarks.common import sqlite_url
    from bot.cli_export import _export
    from bot.services.participation.export import ExportRequest

    request = ExportRequest(start, end, (), by)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        began = time.perf_counter()
        rows = asyncio.run(_export(sqlite_url(path), request, "csv", sink))
        return time.perf_counter() - began, rows


def measure(path: Path, by: str, repeats: int, start: date, end: date) -> dict[str, Any]:
    """Time the raw query and the export alternately in this process; report medians and memory."""
    # Import everything first: the figures exclude interpreter start-up and imports.
    from benchmarks import fixes

    fixes.apply(fixes.requested("export"))

    before = memory_mb()["rss_mb"]
    raw, export = [], []
    rows: dict[str, int] = {}
    for _ in range(repeats):
        seconds, rows["raw"] = time_raw(path, by, start, end)
        raw.append(seconds)
        seconds, rows["export"] = time_export(path, by, start, end)
        export.append(seconds)
    return {"raw": raw, "export": export, "rows": rows, "rss_before": before, **memory_mb()}


def write_output(path: Path, by: str, start: date, end: date, out: Path) -> int:
    """Write the export's CSV to a file (with whatever fixes BENCH_FIXES names), for comparing outputs."""
    from benchmarks import fixes
    from benchmarks.common import sqlite_url
    from bot.cli_export import _export
    from bot.services.participation.export import ExportRequest

    fixes.apply(fixes.requested("export"))
    with out.open("w", encoding="utf-8", newline="") as handle:
        return asyncio.run(_export(sqlite_url(path), ExportRequest(start, end, (), by), "csv", handle))


def in_child(args: list[str], *, without_fixes: bool = False) -> str:
    """Run this module with `args` in a fresh interpreter (its peak memory is then its own); return stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if without_fixes:
        env.pop("BENCH_FIXES", None)
    command = [sys.executable, "-m", "benchmarks.export", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"export benchmark child failed:\n{done.stderr[-3000:]}")
    return done.stdout


def measure_in_child(path: Path, by: str, size: Size, start: date, end: date) -> dict[str, Any]:
    """Time both in a fresh interpreter, so its peak memory is the export's alone."""
    span = ["--from", start.isoformat(), "--to", end.isoformat()]
    output = in_child(["--measure", str(path), "--by", by, "--repeats", str(size.repeats), *span])
    return json.loads(output.strip().splitlines()[-1])


def same_output(path: Path, by: str, start: date, end: date, scratch: Path) -> bool:
    """Return whether the export writes the same CSV with and without the fixes (the generation time aside)."""
    span = ["--from", start.isoformat(), "--to", end.isoformat()]
    files = {}
    for name, without in (("reference", True), ("fixed", False)):
        files[name] = scratch / f"{by}-{name}.csv"
        in_child(["--write", str(files[name]), "--measure", str(path), "--by", by, *span], without_fixes=without)
    texts = [
        [line for line in files[name].read_text().splitlines() if not line.startswith("# generated_at")]
        for name in ("reference", "fixed")
    ]
    return texts[0] == texts[1]


async def run(size: Size = FULL) -> Result:
    reason = pending_reason()
    if reason is not None:
        return Result(NAME, TITLE, {"status": "pending"}, None, _target(), None, [reason])
    start, end = FIRST_DAY, FIRST_DAY + timedelta(weeks=size.weeks, days=-1)
    with workdir("export") as scratch:
        path = scratch / "national.sqlite3"
        await migrated(path)
        began = time.perf_counter()
        counts = seed(path, size)
        seeded = time.perf_counter() - began
        cases = {by: measure_in_child(path, by, size, start, end) for by in ("week", "occurrence")}
        database_mb = path.stat().st_size / 1024 / 1024
        applied = fixes.requested("export")
        same = {by: same_output(path, by, start, end, scratch) for by in cases} if applied else {}
    figures: dict[str, Any] = {
        "meetings, marks": f"{counts['meetings']}, {counts['marks']}",
        "database MB": round(database_mb, 1),
        "seeded in s": round(seeded, 1),
    }
    ratios, peaks = [], []
    for by, measured in cases.items():
        raw, export = statistics.median(measured["raw"]), statistics.median(measured["export"])
        ratios.append(export / raw)
        peaks.append(measured["peak_rss_mb"])
        figures[f"--by {by}: rows"] = measured["rows"]["export"]
        figures[f"--by {by}: raw SQL s"] = round(raw, 3)
        figures[f"--by {by}: export s"] = round(export, 3)
        figures[f"--by {by}: ratio"] = f"{export / raw:.2f}x"
        figures[f"--by {by}: peak RSS MB (after imports)"] = f"{measured['peak_rss_mb']} ({measured['rss_before']})"
    ratio = ratios[0]
    met = all(r <= TARGET_RATIO for r in ratios) and all(p <= TARGET_MB for p in peaks)
    notes = ["ratio shown is --by week; the target applies to both groupings"]
    if applied:
        figures["fixes applied"] = ", ".join(applied)
        figures["same CSV as without the fixes"] = ", ".join(
            f"--by {by}: {'yes' if ok else 'NO'}" for by, ok in same.items()
        )
        met = met and all(same.values())
    return Result(NAME, TITLE, figures, ratio, _target(), met, notes)


def _target() -> str:
    return f"export <= {TARGET_RATIO:g}x raw SQL, peak RSS <= {TARGET_MB:g} MB"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--measure" in args:
        # A child of this benchmark: measure (or with --write, write the CSV) and print one JSON line.
        parser = argparse.ArgumentParser()
        parser.add_argument("--measure", type=Path, required=True)
        parser.add_argument("--write", type=Path)
        parser.add_argument("--by", required=True)
        parser.add_argument("--repeats", type=int, default=1)
        parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
        parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
        options = parser.parse_args(args)
        quiet_logging()
        with contextlib.redirect_stdout(sys.stderr):
            if options.write is not None:
                result: Any = write_output(options.measure, options.by, options.start, options.end, options.write)
            else:
                result = measure(options.measure, options.by, options.repeats, options.start, options.end)
        print(json.dumps(result))
        return
    toy = parse_size(args, __doc__ or "")
    quiet_logging()
    asyncio.run(run(TOY if toy else FULL)).show()


if __name__ == "__main__":
    main()
