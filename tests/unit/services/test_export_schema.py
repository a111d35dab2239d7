"""The published export schema, written out: each grouping's columns in order, and each value under its own header.

The headers here are literal, copied from docs/DATA_DICTIONARY.md, not read from the code: a column renamed, dropped,
swapped or moved fails here, as it would break every spreadsheet and script the central office built on the files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.db.engine import Database
from bot.db.models_participation import ParticipationOccurrence
from bot.domain.disclosure import DisclosurePolicy
from bot.services.participation.export import ExportRequest, GROUPINGS, ParticipationExport, PublishedRows, metadata
from bot.services.participation.export_files import write_csv, write_json

DATA_DICTIONARY = Path(__file__).resolve().parents[3] / "docs" / "DATA_DICTIONARY.md"
GENERATED = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)

PEOPLE = [
    "attendees",
    "new_attendees",
    "returning_attendees",
    "unlinked_attendees",
    "checkins",
    "voice_attendees",
    "posters",
    "feedback_answers",
    "fb_helpful_1",
    "fb_helpful_2",
    "fb_helpful_3",
    "fb_helpful_4",
    "fb_helpful_5",
    "fb_plan_yes",
    "fb_plan_no",
    "fb_heard_treatment",
    "fb_heard_health",
    "fb_heard_web",
    "fb_heard_friend",
    "fb_heard_justice",
    "fb_heard_mutual_aid",
    "fb_heard_other",
    "fb_again_yes",
    "fb_again_no",
    "fb_again_maybe",
]
SCHEMA = {
    "occurrence": [
        "scope",
        "guild_id",
        "occurrence_id",
        "schedule_id",
        "period",
        "local_date",
        "scheduled_start",
        "scheduled_end",
        "actual_start",
        "actual_end",
        "outcome",
        "missed_reason",
        "phases_reached",
        "phases_total",
        "facilitators",
        *PEOPLE,
        "helpful_mean",
        "helpful_median",
    ],
    "week": [
        "scope",
        "guild_id",
        "bucket",
        "meetings",
        "meetings_held",
        "missed_no_facilitator",
        "missed_bot_down",
        "missed_cancelled",
        "missed_other",
        "facilitators",
        *PEOPLE,
        "helpful_mean",
        "helpful_median",
    ],
}
SCHEMA["month"] = SCHEMA["week"]

GUILD = 1234567890123456789
# The held meeting: every count a different number (>= 8, so nothing would be suppressed either), every fact too.
COUNTS = {name: 100 + index for index, name in enumerate(PEOPLE)}
HELD = {"occurrence_id": 41, "schedule_id": 77, "phases_reached": 6, "phases_total": 7, "facilitators": 1}
# Missed meetings in the same week and month, so each bucket fact has a number of its own.
MISSED = {"no facilitator": 2, "bot down": 3, "cancelled": 4, "other": 6}
BUCKET = {
    "bucket": None,  # set per grouping
    "meetings": 16,
    "meetings_held": 1,
    "missed_no_facilitator": 2,
    "missed_bot_down": 3,
    "missed_cancelled": 4,
    "missed_other": 6,
    "facilitators": 5,  # the held meeting's 1 and the 4 cancelled ones' (their facilitator cancelled them)
}
helpful = [COUNTS[f"fb_helpful_{score}"] for score in range(1, 6)]
MEAN = round(sum(score * n for score, n in enumerate(helpful, start=1)) / sum(helpful), 2)


def occurrence(occurrence_id: int, starts_at: datetime, **values: Any) -> ParticipationOccurrence:
    day = starts_at.date()
    iso = day.isocalendar()
    return ParticipationOccurrence(
        occurrence_id=occurrence_id,
        guild_id=GUILD,
        period="2026",
        local_date=day.isoformat(),
        local_week=f"{iso.year}-W{iso.week:02d}",
        local_month=day.isoformat()[:7],
        scheduled_start=starts_at,
        scheduled_end=starts_at + timedelta(minutes=90),
        finalised_at=starts_at + timedelta(hours=2),
        created_at=starts_at,
        **values,
    )


@pytest.fixture
async def seeded(database: Database) -> Database:
    async with database.session() as session:
        session.add(
            occurrence(
                HELD["occurrence_id"],
                TUESDAY,
                schedule_id=HELD["schedule_id"],
                outcome="held",
                actual_start=TUESDAY + timedelta(minutes=2),
                actual_end=TUESDAY + timedelta(minutes=95),
                phases_reached=HELD["phases_reached"],
                phases_total=HELD["phases_total"],
                facilitators=HELD["facilitators"],
                **COUNTS,
            )
        )
        next_id = 100
        for reason, how_many in MISSED.items():
            for _ in range(how_many):
                next_id += 1
                session.add(
                    occurrence(
                        next_id,
                        TUESDAY + timedelta(days=1, hours=next_id - 100),
                        schedule_id=None,
                        outcome="missed",
                        missed_reason=reason,
                        facilitators=int(reason == "cancelled"),
                    )
                )
    return database


def request(by: str) -> ExportRequest:
    return ExportRequest(date(2026, 11, 1), date(2026, 12, 31), by=by, policy=DisclosurePolicy(exact=True))


def expected_group_row(by: str) -> dict[str, Any]:
    """Return the held meeting's row (by occurrence) or its group's week or month row, as JSON shows it."""
    if by == "occurrence":
        facts: dict[str, Any] = {
            **HELD,
            "period": "2026",
            "local_date": "2026-12-01",
            "scheduled_start": "2026-12-01T19:00:00+00:00",
            "scheduled_end": "2026-12-01T20:30:00+00:00",
            "actual_start": "2026-12-01T19:02:00+00:00",
            "actual_end": "2026-12-01T20:35:00+00:00",
            "outcome": "held",
            "missed_reason": None,
        }
    else:
        facts = {**BUCKET, "bucket": "2026-W49" if by == "week" else "2026-12"}
    return {"scope": "group", "guild_id": str(GUILD), **facts, **COUNTS, "helpful_mean": MEAN}


def csv_table(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    return header, rows


async def as_csv(database: Database, by: str) -> str:
    out = io.StringIO()
    await write_csv(ParticipationExport(database).rows(request(by)), out, metadata(request(by), GENERATED), by)
    return out.getvalue()


def test_the_groupings_are_the_published_ones() -> None:
    # A new grouping is a new published schema: write its header out in SCHEMA above (and in the data dictionary).
    assert sorted(GROUPINGS) == sorted(SCHEMA)


def test_every_published_column_is_in_the_data_dictionary() -> None:
    text = DATA_DICTIONARY.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_0-9]+)`", text))
    documented |= {f"fb_helpful_{score}" for score in range(1, 6)}  # written there as `fb_helpful_1` ... `fb_helpful_5`
    for by, names in SCHEMA.items():
        assert not [name for name in names if name not in documented], by


@pytest.mark.parametrize("by", ["occurrence", "week", "month"])
async def test_csv_and_json_headers_are_the_published_schema(seeded: Database, by: str) -> None:
    header, rows = csv_table(await as_csv(seeded, by))
    assert header == SCHEMA[by]
    assert all(len(row) == len(SCHEMA[by]) for row in rows)

    out = io.StringIO()
    await write_json(ParticipationExport(seeded).rows(request(by)), out, metadata(request(by), GENERATED), by)
    document = json.loads(out.getvalue())
    assert document["columns"] == SCHEMA[by]
    assert all(list(row) == SCHEMA[by] for row in document["rows"])


@pytest.mark.parametrize("by", ["occurrence", "week", "month"])
async def test_each_value_is_under_its_own_header_in_json(seeded: Database, by: str) -> None:
    out = io.StringIO()
    await write_json(ParticipationExport(seeded).rows(request(by)), out, metadata(request(by), GENERATED), by)
    rows = json.loads(out.getvalue())["rows"]
    wanted = expected_group_row(by)
    group_row = rows[0]  # the held meeting, or its group's week or month: the first row
    assert {name: group_row[name] for name in wanted} == wanted
    assert 1 <= group_row["helpful_median"] <= 5
    total = rows[-1]
    assert total["scope"] == "total"
    assert {name: total[name] for name in PEOPLE} == COUNTS
    assert total["facilitators"] == BUCKET["facilitators"]


@pytest.mark.parametrize("database_writes_lines", [True, False])
@pytest.mark.parametrize("by", ["occurrence", "week", "month"])
async def test_each_value_is_under_its_own_header_in_csv(
    seeded: Database, by: str, database_writes_lines: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two ways to the same file: the database writes each group row's line, or Python writes the cells.
    monkeypatch.setattr(PublishedRows, "database_writes_lines", property(lambda _self: database_writes_lines))
    header, rows = csv_table(await as_csv(seeded, by))
    assert header == SCHEMA[by]
    cells = dict(zip(header, rows[0], strict=True))
    wanted = {name: "" if value is None else str(value) for name, value in expected_group_row(by).items()}
    if by == "occurrence":
        # CSV writes timestamps as the database's ISO text; compare them as instants.
        for name in ("scheduled_start", "scheduled_end", "actual_start", "actual_end"):
            assert datetime.fromisoformat(cells.pop(name)) == datetime.fromisoformat(wanted.pop(name))
    assert {name: cells[name] for name in wanted} == wanted
    total = dict(zip(header, rows[-1], strict=True))
    assert total["scope"] == "total"
    assert {name: int(total[name]) for name in PEOPLE} == COUNTS
