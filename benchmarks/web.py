"""Benchmark 6: the central office's dashboard (overview and a group page) on the export benchmark's national year.

Data: the export benchmark's year (600 groups, 5 meetings a week, 52 weeks: 156,000 meetings with their numbers
rows and about 1,000,000 attendance marks), seeded the same way.

Case: the dashboard app as `python -m bot web` builds it (same settings, services and templates), signed in with a
one-time link, asked in-process (httpx over ASGI, no network) for the overview (the last month of the year, with
the three before it) and for one group's page (twelve months, the meeting history, rota and referrals, two SVG
charts). Server time is each request's time inside the app; the figure is the p95 of the runs.
Baseline: the raw SQL giving the same figures with the standard library's sqlite3: the monthly GROUP BY of the
four months for every group, the list of groups and their names, and each group's latest two meetings (the health
flag) for the overview; for the group page every figure it shows (`raw_group`: twelve months with their counts of
people protected in SQL, 90 days of meetings, referral totals, rota health, duties uncovered, the group's name);
every row fetched. Timed in the same process, alternating with the pages, after one request of each page.
Memory: the measuring process's peak resident set (VmHWM), which is the web process's: interpreter, imports
(Starlette, Jinja2, the SVG charts; matplotlib only for the report page, not asked here) and the pages.
Target: each page's p95 <= 2x its raw SQL's p95, and <= 200 MB peak.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Result, memory_mb, migrated, parse_size, percentile, quiet_logging, workdir
from benchmarks.export import FIRST_DAY, FULL as EXPORT_FULL, MISSED, Size, TOY as EXPORT_TOY, seed

NAME = "web"
TITLE = "6. Web dashboard: overview and group page (a national year)"
TARGET_RATIO = 2.0
TARGET_MB = 200.0
FULL_RUNS = 20
TOY_RUNS = 3


def _now(size: Size) -> datetime:
    """Return the dashboard's "now": a week before the data's last day (the year's last month is "this month")."""
    last = FIRST_DAY + timedelta(weeks=size.weeks, days=-8)
    return datetime(last.year, last.month, last.day, 12, 0, tzinfo=UTC)


def raw_overview(connection: sqlite3.Connection, start: date, end: date, streak_from: date | None = None) -> int:
    """Return the rows of the overview's figures, computed in plain SQL."""
    missed = ", ".join(f"sum(CASE WHEN missed_reason = '{reason}' THEN 1 ELSE 0 END)" for reason in (*MISSED, "other"))
    sql = (
        "SELECT local_month, guild_id, count(*), sum(CASE WHEN outcome = 'held' THEN 1 ELSE 0 END), "  # noqa: S608
        f"{missed}, sum(attendees), sum(new_attendees), sum(returning_attendees), sum(facilitators), "
        "sum(fb_helpful_1), sum(fb_helpful_2), sum(fb_helpful_3), sum(fb_helpful_4), sum(fb_helpful_5) "
        "FROM participation_occurrence WHERE finalised_at IS NOT NULL AND local_date >= ? AND local_date <= ? "
        "GROUP BY local_month, guild_id ORDER BY local_month, guild_id"
    )
    rows = connection.execute(sql, (start.isoformat(), end.isoformat())).fetchall()
    names = connection.execute(
        "SELECT guild_id FROM guild_config UNION SELECT DISTINCT guild_id FROM participation_occurrence "
        "UNION SELECT guild_id FROM participation_settings"
    ).fetchall()
    names += connection.execute("SELECT guild_id, group_label, guild_name FROM participation_settings").fetchall()
    # The health flag: each group's latest two meetings of the last 60 days.
    streaks = connection.execute(
        "SELECT guild_id, outcome FROM (SELECT guild_id, outcome, row_number() OVER (PARTITION BY guild_id "
        "ORDER BY local_date DESC, scheduled_start DESC) AS recent FROM participation_occurrence "
        "WHERE finalised_at IS NOT NULL AND local_date >= ?) WHERE recent <= 2",
        ((streak_from or start).isoformat(),),
    ).fetchall()
    return len(rows) + len(names) + len(streaks)


def _protected(total: str) -> str:
    """Return SQL publishing a group's count as the export does (0, hidden below the threshold, else rounded)."""
    return f"CASE WHEN {total} = 0 THEN 0 WHEN {total} < 8 THEN NULL ELSE (2 * {total} + 5) / 10 * 5 END"


def raw_group(connection: sqlite3.Connection, guild_id: int, start: date, end: date, now: datetime) -> int:
    """Return the rows of one group page's figures, computed in plain SQL: every figure the page shows.

    Its twelve months (meetings, held, missed by reason, facilitators, protected attendances, new and returning, the
    helpfulness mean from enough answers), its last 90 days of meetings (held or missed and why, phases reached,
    protected attendances), its newcomers' referral sources over the twelve months (rounded totals, "fewer than"
    when small), its rota over twelve weeks (duties per facilitator, cover requests, escalations), the duties
    nobody holds in the next two weeks, and its name (a group the bot knows, not the office's server).
    """
    where = "finalised_at IS NOT NULL AND guild_id = ? AND local_date >= ? AND local_date <= ?"
    missed = ", ".join(f"sum(CASE WHEN missed_reason = '{reason}' THEN 1 ELSE 0 END)" for reason in (*MISSED, "other"))
    answers = "(" + " + ".join(f"sum(fb_helpful_{score})" for score in range(1, 6)) + ")"
    scores = "(" + " + ".join(f"{score} * sum(fb_helpful_{score})" for score in range(1, 6)) + ")"
    people = ", ".join(_protected(f"sum({name})") for name in ("attendees", "new_attendees", "returning_attendees"))
    months = connection.execute(
        f"SELECT local_month, count(*), sum(CASE WHEN outcome = 'held' THEN 1 ELSE 0 END), {missed}, "  # noqa: S608
        f"sum(facilitators), {people}, "
        f"CASE WHEN {answers} >= 8 THEN round(1.0 * {scores} / {answers}, 2) END "
        f"FROM participation_occurrence WHERE {where} GROUP BY local_month ORDER BY local_month",
        (guild_id, start.isoformat(), end.isoformat()),
    ).fetchall()
    history = connection.execute(
        "SELECT local_date, outcome, missed_reason, phases_reached, phases_total, "  # noqa: S608
        f"{_protected('attendees')} FROM participation_occurrence WHERE {where} "
        "ORDER BY local_date DESC, scheduled_start DESC",
        (guild_id, (now.date() - timedelta(days=90)).isoformat(), end.isoformat()),
    ).fetchall()
    sources = ("treatment", "health", "web", "friend", "justice", "mutual_aid", "other")
    referrals = connection.execute(
        "SELECT "  # noqa: S608
        + ", ".join(
            f"CASE WHEN sum(fb_heard_{name}) BETWEEN 1 AND 7 THEN 'fewer than 8' "
            f"ELSE (2 * coalesce(sum(fb_heard_{name}), 0) + 5) / 10 * 5 END"
            for name in sources
        )
        + f" FROM participation_occurrence WHERE {where}",
        (guild_id, start.isoformat(), end.isoformat()),
    ).fetchall()
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    since, horizon = (now - timedelta(weeks=12)).strftime(stamp), (now + timedelta(days=14)).strftime(stamp)
    window = "a.guild_id = ? AND o.starts_at >= ? AND o.starts_at < ?"
    joined = "FROM rota_assignment a JOIN meeting_occurrence o ON o.id = a.occurrence_id"
    duties = connection.execute(
        f"SELECT count(*) {joined} WHERE {window} AND a.user_id IS NOT NULL GROUP BY a.user_id ORDER BY count(*) DESC",
        (guild_id, since, horizon),
    ).fetchall()
    rota = connection.execute(
        f"SELECT sum(a.released_by IS NOT NULL), sum(a.escalated), "  # noqa: S608
        "(SELECT count(*) FROM rota_assignment b JOIN meeting_occurrence p ON p.id = b.occurrence_id "
        "WHERE b.guild_id = ? AND p.state = 'scheduled' AND p.starts_at >= ? AND p.starts_at < ? "
        f"AND (b.status = 'open' OR b.user_id IS NULL)) {joined} WHERE {window}",
        (guild_id, now.strftime(stamp), horizon, guild_id, since, horizon),
    ).fetchall()
    name = connection.execute(
        "SELECT (EXISTS (SELECT 1 FROM guild_config WHERE guild_id = ?) OR EXISTS (SELECT 1 FROM "
        "participation_occurrence WHERE guild_id = ?) OR EXISTS (SELECT 1 FROM participation_settings WHERE "
        "guild_id = ?)) AND NOT EXISTS (SELECT 1 FROM participation_office WHERE guild_id = ?), "
        "(SELECT coalesce(group_label, guild_name) FROM participation_settings WHERE guild_id = ?)",
        (guild_id,) * 5,
    ).fetchall()
    return len(months) + len(history) + len(referrals) + len(duties) + len(rota) + len(name)


async def measure(path: Path, runs: int, now: datetime) -> dict[str, Any]:
    """Time both pages and their raw SQL, alternating, in this process; return the timings and memory."""
    import httpx

    from benchmarks.common import sqlite_url
    from bot.db.engine import Database
    from bot.services.login_links import LoginLinks
    from bot.settings import Settings
    from bot.web.app import create_app

    class Fixed:
        def now(self) -> datetime:
            return now

    database = Database(sqlite_url(path))
    settings = Settings(
        database_url=sqlite_url(path),
        web_session_key_file=path.with_name("web_session.key"),
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings, database, Fixed(), http=httpx.AsyncClient())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
    link = await LoginLinks(database, Fixed()).create()
    page = await client.get(f"/login/link/{link.token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    await client.post("/login/link", data={"token": link.token, "csrf_token": csrf})
    overview = await client.get("/")
    assert overview.status_code == 200, overview.text[:500]
    key = re.search(r'href="/groups/([0-9a-f]{16})"', overview.text)[1]  # type: ignore[index]
    guild_id = (await app.state.web.group_of_key(key))[0]
    # One request of each page before timing (the overview's is above): the first compiles the SQL and templates.
    assert (await client.get(f"/groups/{key}")).status_code == 200
    rendering = _time_rendering(app.state.web)
    today = now.date()
    month_first = today.replace(day=1)
    overview_start = (month_first - timedelta(days=85)).replace(day=1)
    month_last = (month_first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    year_start = (month_first - timedelta(days=335)).replace(day=1)
    timings: dict[str, list[float]] = {
        "overview": [],
        "overview_sql": [],
        "group": [],
        "group_sql": [],
        "group_render": [],
    }
    connection = sqlite3.connect(path)
    try:
        for _ in range(runs):
            began = time.perf_counter()
            assert (await client.get("/")).status_code == 200
            timings["overview"].append(time.perf_counter() - began)
            began = time.perf_counter()
            raw_overview(connection, overview_start, month_last, today - timedelta(days=60))
            timings["overview_sql"].append(time.perf_counter() - began)
            rendering.clear()
            began = time.perf_counter()
            assert (await client.get(f"/groups/{key}")).status_code == 200
            timings["group"].append(time.perf_counter() - began)
            timings["group_render"].append(sum(rendering))
            began = time.perf_counter()
            raw_group(connection, guild_id, year_start, month_last, now)
            timings["group_sql"].append(time.perf_counter() - began)
    finally:
        connection.close()
        await client.aclose()
        await database.dispose()
    return {"timings": timings, **memory_mb()}


def _time_rendering(web: Any) -> list[float]:
    """Time the group page's rendering from figures in memory (its two SVG charts and its HTML); return the list."""
    from bot.web import charts

    spent: list[float] = []

    def timed(function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - began)

        return wrapper

    charts.attendance_chart = timed(charts.attendance_chart)  # type: ignore[method-assign]
    charts.meetings_chart = timed(charts.meetings_chart)  # type: ignore[method-assign]
    web.render = timed(web.render)
    return spent


def measure_in_child(path: Path, runs: int, now: datetime) -> dict[str, Any]:
    """Measure in a fresh interpreter, so its peak memory is the dashboard's alone."""
    command = [sys.executable, "-m", "benchmarks.web", "--measure", str(path), str(runs), now.isoformat()]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"web benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def run(size: tuple[Size, int] = (EXPORT_FULL, FULL_RUNS)) -> Result:
    data, runs = size
    with workdir("web") as scratch:
        path = scratch / "national.sqlite3"
        await migrated(path)
        counts = seed(path, data)
        measured = measure_in_child(path, runs, _now(data))
    timings = measured["timings"]
    figures: dict[str, Any] = {"meetings, marks": f"{counts['meetings']}, {counts['marks']}", "runs": runs}
    ratios = []
    for page in ("overview", "group"):
        served, raw = percentile(timings[page], 95), percentile(timings[f"{page}_sql"], 95)
        ratios.append(served / raw)
        figures[f"{page}: server p95 ms"] = round(served * 1000, 1)
        figures[f"{page}: raw SQL p95 ms"] = round(raw * 1000, 1)
        figures[f"{page}: ratio"] = f"{served / raw:.2f}x"
    # The floor under the group page's ratio: turning its figures, already in memory, into HTML and two charts.
    rendered = percentile(timings["group_render"], 95)
    figures["group: rendering alone p95 ms"] = round(rendered * 1000, 2)
    figures["group: rendering alone / raw SQL"] = f"{rendered / percentile(timings['group_sql'], 95):.2f}x"
    figures["peak RSS MB"] = measured["peak_rss_mb"]
    met = all(ratio <= TARGET_RATIO for ratio in ratios) and measured["peak_rss_mb"] <= TARGET_MB
    notes = ["ratio shown is the overview's; the target applies to both pages"]
    return Result(NAME, TITLE, figures, ratios[0], _target(), met, notes)


def _target() -> str:
    return f"each page's p95 <= {TARGET_RATIO:g}x its raw SQL, peak RSS <= {TARGET_MB:g} MB"


FULL = (EXPORT_FULL, FULL_RUNS)
TOY = (EXPORT_TOY, TOY_RUNS)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--measure":
        quiet_logging()
        with contextlib.redirect_stdout(sys.stderr):
            result = asyncio.run(measure(Path(args[1]), int(args[2]), datetime.fromisoformat(args[3])))
        print(json.dumps(result))
        return
    toy = parse_size(args, __doc__ or "")
    quiet_logging()
    asyncio.run(run(TOY if toy else FULL)).show()


if __name__ == "__main__":
    main()
