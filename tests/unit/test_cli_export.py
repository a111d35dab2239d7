"""`export participation` and `report` on the command line: formats, stamps, filters and clear errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from bot import cli_export
from bot.cli_export import mount_export_commands
from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.domain.disclosure import NOT_FOR_PUBLICATION
from bot.services.participation.export import ParticipationExport
from bot.services.participation.service import ParticipationService
from bot.settings import load_settings
from tests.unit.services.test_participation_export import meeting

ROOT = Path(__file__).resolve().parents[2]
OCTOBER = datetime(2026, 10, 6, 18, 0, tzinfo=UTC)
RANGE = ["--from", "2026-10-01", "--to", "2026-10-31"]


@pytest.fixture
def database_url(tmp_path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"

    async def fill() -> None:
        database = Database(url)
        await upgrade(database)
        async with database.session() as session:
            session.add_all(
                [
                    meeting(1, 11, OCTOBER, attendees=12, new_attendees=3, feedback_answers=2, fb_helpful_5=2),
                    meeting(2, 11, OCTOBER + timedelta(days=7), attendees=9),
                    meeting(
                        3, 22, OCTOBER + timedelta(days=1), attendees=2, outcome="missed", missed_reason="bot down"
                    ),
                ]
            )
        await database.dispose()

    asyncio.run(fill())
    return url


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """The bot's command line, as bot/cli.py mounts it."""

    mount_export_commands(app)
    return app


def run(database_url: str, *args: str):
    return CliRunner().invoke(cli(), list(args), obj=load_settings(database_url=database_url, _env_file=None))


def data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_csv_to_standard_output_is_protected(database_url) -> None:
    result = run(database_url, "export", "participation", *RANGE)
    assert result.exit_code == 0, result.output
    assert "# schema_version: 2" in result.stdout and "# by: occurrence" in result.stdout
    rows = list(csv.DictReader(data_lines(result.stdout)))
    assert [row["scope"] for row in rows] == ["group", "group", "group", "total"]
    assert [row["attendees"] for row in rows] == ["10", "*", "10", "25"]  # 12, 2 and 9 people; 23 in all
    assert rows[0]["new_attendees"] == "*" and rows[0]["helpful_mean"] == "*"
    assert NOT_FOR_PUBLICATION not in result.stdout
    assert "Wrote 4 rows to standard output." in result.stderr


def test_json_by_week_to_a_file_for_chosen_groups(database_url, tmp_path) -> None:
    out = tmp_path / "export.json"
    result = run(
        database_url, "export", "participation", *RANGE, "--by", "week", "--format", "json", "--out", str(out),
        "--guild", "22", "--guild", "33",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["metadata"]["groups"] == [22, 33] and document["metadata"]["by"] == "week"
    assert [(row["scope"], row["guild_id"]) for row in document["rows"]] == [
        ("group", "22"),
        ("all groups", None),
        ("total", None),
    ]
    assert document["rows"][0]["missed_bot_down"] == 1 and document["rows"][0]["attendees"] is None


def test_rows_are_counted_only_when_a_progress_bar_shows(database_url, monkeypatch) -> None:
    counted = []
    count_rows = ParticipationExport.count_rows

    async def counting(self, request):
        counted.append(request.by)
        return await count_rows(self, request)

    monkeypatch.setattr(ParticipationExport, "count_rows", counting)
    result = run(database_url, "export", "participation", *RANGE)  # stderr is not a terminal here
    assert result.exit_code == 0, result.output
    assert counted == []
    terminal = io.StringIO()
    monkeypatch.setattr(cli_export, "_terminal", lambda: Console(file=terminal, force_terminal=True))
    monkeypatch.setattr(cli_export, "PROGRESS_MIN_ROWS", 1)
    result = run(database_url, "export", "participation", *RANGE, "--by", "week")
    assert result.exit_code == 0, result.output
    assert counted == ["week"]
    assert "Exporting" in terminal.getvalue()
    assert [row["scope"] for row in csv.DictReader(data_lines(result.stdout))][-1] == "total"


@pytest.mark.parametrize("command", ["export", "report"])
def test_the_catch_up_is_limited_to_the_range(database_url, tmp_path, monkeypatch, command) -> None:
    ranges = []

    async def reconcile(self, start=None, end=None):
        ranges.append((start, end))
        return 0

    monkeypatch.setattr(ParticipationService, "reconcile", reconcile)
    args = ["export", "participation", *RANGE] if command == "export" else ["report", *RANGE, "--out", str(tmp_path)]
    result = run(database_url, *args)
    assert result.exit_code == 0, result.output
    assert [(start.isoformat(), end.isoformat()) for start, end in ranges] == [("2026-10-01", "2026-10-31")]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exact_output_is_stamped(database_url, tmp_path, fmt) -> None:
    out = tmp_path / f"exact.{fmt}"
    result = run(database_url, "export", "participation", *RANGE, "--exact", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert NOT_FOR_PUBLICATION in text and NOT_FOR_PUBLICATION in result.stderr
    if fmt == "csv":
        assert text.startswith(f"# {NOT_FOR_PUBLICATION}")
        assert [row["attendees"] for row in csv.DictReader(data_lines(text))] == ["12", "2", "9", "23"]
    else:
        assert json.loads(text)["metadata"]["stamp"] == NOT_FOR_PUBLICATION


def test_threshold_and_rounding_are_configurable_and_stated(database_url) -> None:
    result = run(database_url, "export", "participation", *RANGE, "--threshold", "10", "--rounding", "10")
    assert result.exit_code == 0, result.output
    assert '"threshold": 10, "rounding": 10' in result.stdout
    assert [row["attendees"] for row in csv.DictReader(data_lines(result.stdout))] == ["10", "*", "*", "20"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "01/10/2026", "--to", "2026-10-31"], "--from must be a date as YYYY-MM-DD"),
        (["--from", "2026-10-31", "--to", "2026-10-01"], "--to must not be before --from"),
        ([*RANGE, "--by", "year"], "--by must be one of occurrence, week, month"),
        ([*RANGE, "--format", "xml"], "--format must be csv or json"),
        ([*RANGE, "--threshold", "7"], "Disclosure control: threshold 7 rounds down to 5"),
    ],
)
def test_bad_options_get_one_clear_line(database_url, args, message) -> None:
    result = run(database_url, "export", "participation", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_an_unmigrated_database_is_reported_clearly(tmp_path) -> None:
    result = run(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}", "export", "participation", *RANGE)
    assert result.exit_code == 2
    assert "python -m bot migrate" in result.stderr


def test_report_writes_charts_and_summary(database_url, tmp_path) -> None:
    out = tmp_path / "report"
    result = run(database_url, "report", *RANGE, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == [
        "attendance_per_week.png",
        "feedback.png",
        "meetings_held_missed.png",
        "new_vs_returning.png",
        "summary.md",
    ]
    assert "![Attendance per week" in (out / "summary.md").read_text()
    exact = run(database_url, "report", *RANGE, "--out", str(tmp_path / "exact"), "--exact")
    assert exact.exit_code == 0, exact.output
    assert NOT_FOR_PUBLICATION in (tmp_path / "exact" / "summary.md").read_text()


def test_python_m_bot_export_participation(database_url, tmp_path) -> None:
    """The real entry point: `python -m bot export participation` and `python -m bot report` are mounted."""
    env = {**os.environ, "DATABASE_URL": database_url, "PSEUDONYM_KEY_FILE": str(tmp_path / "k.key")}
    command = [sys.executable, "-m", "bot", "export", "participation", *RANGE, "--format", "json"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"][-1]["attendees"] == 25
    helped = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--help"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert helped.returncode == 0 and "--out" in helped.stdout
