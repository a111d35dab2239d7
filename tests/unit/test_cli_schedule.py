"""`schedule preview`: occurrences as the bot schedules them, and one clear line for bad input."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from bot.cli_schedule import MAX_PREVIEW_COUNT, schedule_app

LONDON_SUNDAY_0130 = ["--rrule", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30;BYSECOND=0", "--tz", "Europe/London"]


def preview(*args: str):
    return CliRunner().invoke(schedule_app, ["preview", *args])


def test_text_table_notes_gap_and_fold_nights():
    result = preview(*LONDON_SUNDAY_0130, "--start", "2026-03-22T01:30", "--count", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["UTC", "Local", "(Europe/London)", "Note"]
    assert lines[1] == "2026-03-22T01:30:00+00:00  2026-03-22T01:30:00+00:00"
    assert lines[2].startswith("2026-03-29T01:30:00+00:00  2026-03-29T02:30:00+01:00  clocks skip 01:30 that night")
    assert "held at 02:30" in lines[2]
    assert lines[3] == "2026-04-05T00:30:00+00:00  2026-04-05T01:30:00+01:00"
    # Columns line up.
    assert len({line.index("2026", 20) for line in lines[1:]}) == 1

    fold = preview(*LONDON_SUNDAY_0130, "--start", "2026-10-25T01:30", "--count", "1")
    assert fold.stdout.splitlines()[1].endswith("01:30 happens twice that night; held at the first")


def test_json_lists_utc_and_local_for_each_occurrence():
    result = preview(*LONDON_SUNDAY_0130, "--start", "2026-03-22T01:30", "--count", "2", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "utc": "2026-03-22T01:30:00+00:00",
            "local": "2026-03-22T01:30:00+00:00",
            "wall_time": "2026-03-22T01:30:00",
            "clock_change": None,
        },
        {
            "utc": "2026-03-29T01:30:00+00:00",
            "local": "2026-03-29T02:30:00+01:00",
            "wall_time": "2026-03-29T01:30:00",
            "clock_change": "gap",
        },
    ]


def test_defaults_to_ten_and_accepts_the_rrule_prefix():
    result = preview(
        "--rrule",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        "--tz",
        "Asia/Kolkata",
        "--start",
        "2026-01-06T19:00",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 10
    assert rows[0]["utc"] == "2026-01-06T13:30:00+00:00"
    assert rows[1]["wall_time"] == "2026-01-20T19:00:00"


def test_finite_rule_prints_what_there_is():
    result = preview("--rrule", "FREQ=DAILY;COUNT=2", "--tz", "UTC", "--start", "2026-01-01T09:00", "--json")
    assert [row["utc"] for row in json.loads(result.stdout)] == [
        "2026-01-01T09:00:00+00:00",
        "2026-01-02T09:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rrule", "FREQ=WEEKLY", "--tz", "Mars/Olympus", "--start", "2026-01-01T19:00"], "Unknown time zone"),
        (["--rrule", "FREQ=SOMETIMES", "--tz", "UTC", "--start", "2026-01-01T19:00"], "FREQ=DAILY, WEEKLY"),
        (["--rrule", "FREQ=WEEKLY;BYDAY=XX", "--tz", "UTC", "--start", "2026-01-01T19:00"], "isn't valid RFC 5545"),
        (["--rrule", "FREQ=WEEKLY", "--tz", "UTC", "--start", "2026-01-01T19:00+01:00"], "without an offset"),
        (["--rrule", "FREQ=WEEKLY", "--tz", "UTC", "--start", "next monday"], "YYYY-MM-DDTHH:MM"),
        (["--rrule", "FREQ=WEEKLY;BYDAY=MO", "--tz", "UTC", "--start", "2026-01-01T19:00"], "2026-01-05T19:00"),
        (["--rrule", "FREQ=WEEKLY", "--tz", "UTC", "--start", "2026-01-01T19:00", "--count", "0"], "--count"),
        (
            [
                "--rrule",
                "FREQ=WEEKLY",
                "--tz",
                "UTC",
                "--start",
                "2026-01-01T19:00",
                "--count",
                str(MAX_PREVIEW_COUNT + 1),
            ],
            "--count",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, message):
    result = preview(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_mounts_as_schedule_preview():
    app = typer.Typer()

    @app.command()
    def run() -> None:
        """Stand in for the main CLI's other commands."""

    app.add_typer(schedule_app, name="schedule")
    args = ["schedule", "preview", "--rrule", "FREQ=WEEKLY", "--tz", "UTC", "--start", "2026-01-01T19:00"]
    result = CliRunner().invoke(app, [*args, "--count", "1"])
    assert result.exit_code == 0, result.stderr
    assert "2026-01-01T19:00:00+00:00" in result.stdout
