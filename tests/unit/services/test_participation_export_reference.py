"""The export, protected in SQL, against a reference computed cell by cell with bot.domain.disclosure.

Random meetings (seeded) whose counts include 0, 1 to 7, 8 and the values either side of a rounding boundary, for
every grouping, CSV and JSON, three policies, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

import pytest

from bot.db.models_participation import ParticipationOccurrence
from bot.domain.disclosure import DisclosurePolicy, protect_count, protect_mean, protect_median, protect_total
from bot.services.participation.export import (
    AVERAGE_COLUMNS,
    BUCKET_FACTS,
    ExportRequest,
    GROUPINGS,
    HELPFUL_COLUMNS,
    OCCURRENCE_FACTS,
    PEOPLE_COLUMNS,
    ParticipationExport,
    columns,
    metadata,
)
from bot.services.participation.export_files import write_csv, write_json

GENERATED = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 20), date(2027, 1, 20)  # across a month, an ISO year and a calendar year
GUILDS = tuple(1_100_000_000_000_000_000 + n for n in range(5))
# 0, suppressed, the threshold, and both sides of the halves for rounding 5 and 10 (12/13, 17/18, 15, 25...).
BOUNDARIES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 17, 18, 22, 23, 25, 27, 28, 35)
POLICIES = (
    DisclosurePolicy(),
    DisclosurePolicy(threshold=10, rounding=10, min_people_for_averages=3),
    DisclosurePolicy(exact=True),
)
TIMESTAMPS = ("scheduled_start", "scheduled_end", "actual_start", "actual_end")
MISSED = {"no facilitator": "missed_no_facilitator", "bot down": "missed_bot_down", "cancelled": "missed_cancelled"}


def random_meetings(seed: int, count: int = 90) -> list[dict[str, Any]]:
    """Return the numbers rows of `count` random meetings, some outside the range and one not finalised."""
    rng = random.Random(seed)
    meetings = []
    for occurrence_id in range(1, count + 1):
        day = FIRST + timedelta(days=rng.randrange(-5, (LAST - FIRST).days + 6))
        # Some starts carry microseconds: the timestamps must come out as isoformat() writes them.
        start = datetime(day.year, day.month, day.day, rng.choice((8, 18, 19)), rng.choice((0, 30)), tzinfo=UTC)
        start += timedelta(microseconds=rng.choice((0, 0, 250_000, 1)))
        held = rng.random() < 0.8
        reason = None if held else rng.choice((*MISSED, "other"))
        iso = day.isocalendar()
        row: dict[str, Any] = {
            "occurrence_id": occurrence_id,
            "guild_id": rng.choice(GUILDS),
            "schedule_id": rng.choice((None, 1, 2)),
            "period": str(day.year),
            "local_date": day.isoformat(),
            "local_week": f"{iso.year:04d}-W{iso.week:02d}",
            "local_month": day.isoformat()[:7],
            "outcome": "held" if held else "missed",
            "missed_reason": reason,
            "scheduled_start": start,
            "scheduled_end": start + timedelta(minutes=90),
            "actual_start": start if held else None,
            "actual_end": start + timedelta(minutes=rng.choice((60, 90, 95))) if held else None,
            "phases_reached": rng.randrange(8),
            "phases_total": 7,
            "facilitators": rng.choice((0, 1)),
            "finalised_at": None if occurrence_id == 7 else start + timedelta(hours=2),
            "created_at": start,
        }
        for name in PEOPLE_COLUMNS:
            row[name] = rng.choice(BOUNDARIES) if rng.random() < 0.8 else rng.randrange(60)
        for name in HELPFUL_COLUMNS:  # small, so the answers sit around min_people_for_averages
            row[name] = rng.choice((0, 0, 0, 1, 2, 3, 5, 8))
        meetings.append(row)
    return meetings


# --- the reference -----------------------------------------------------------------------------------------


def exact_group_rows(meetings: list[dict[str, Any]], request: ExportRequest) -> list[dict[str, Any]]:
    """Return the exact group rows in export order, computed in Python from the meetings."""
    chosen = [
        m
        for m in meetings
        if m["finalised_at"] is not None
        and request.start.isoformat() <= m["local_date"] <= request.end.isoformat()
        and (not request.guild_ids or m["guild_id"] in request.guild_ids)
    ]
    if request.by == "occurrence":
        chosen.sort(key=lambda m: (m["local_date"], m["scheduled_start"], m["guild_id"], m["occurrence_id"]))
        rows = []
        for m in chosen:
            row = {"guild_id": m["guild_id"], **{name: m[name] for name in (*OCCURRENCE_FACTS, *PEOPLE_COLUMNS)}}
            row.update({name: None if m[name] is None else m[name].isoformat() for name in TIMESTAMPS})
            rows.append(row)
        return rows
    key = "local_week" if request.by == "week" else "local_month"
    chosen.sort(key=lambda m: (m[key], m["guild_id"]))
    rows = []
    for (bucket, guild_id), grouped in groupby(chosen, key=lambda m: (m[key], m["guild_id"])):
        group = list(grouped)
        row = {"bucket": bucket, "guild_id": guild_id, "meetings": len(group)}
        row["meetings_held"] = sum(m["outcome"] == "held" for m in group)
        for reason, name in {**MISSED, "other": "missed_other"}.items():
            row[name] = sum(m["missed_reason"] == reason for m in group)
        for name in ("facilitators", *PEOPLE_COLUMNS):
            row[name] = sum(m[name] for m in group)
        rows.append(row)
    return rows


def averages(counts: list[int], policy: DisclosurePolicy) -> tuple[float | None, float | None]:
    """Return the published mean and median, over the answers expanded one per person."""
    answers = [score for score, n in enumerate(counts, start=1) for _ in range(n)]
    mean = protect_mean(sum(answers), len(answers), policy)
    median = protect_median(answers, policy)
    return (None if mean is None else round(mean, 2)), (None if median is None else round(median, 2))


def published(row: dict[str, Any], scope: str, by: str, policy: DisclosurePolicy) -> dict[str, Any]:
    """Return a row as published: every count of people protected on its own, averages from the answers."""
    out: dict[str, Any] = dict.fromkeys(columns(by))
    out.update({name: value for name, value in row.items() if name in out})
    out["scope"] = scope
    out["guild_id"] = None if row.get("guild_id") is None else str(row["guild_id"])
    for name in PEOPLE_COLUMNS:
        if policy.exact:
            out[name] = row[name]
        elif scope == "group":
            out[name] = protect_count(row[name], policy)
        else:
            out[name] = protect_total(row[name], policy)
    out["helpful_mean"], out["helpful_median"] = averages([row[name] for name in HELPFUL_COLUMNS], policy)
    return out


def summed(rows: Iterable[dict[str, Any]], names: Iterable[str]) -> dict[str, int]:
    rows = list(rows)
    return {name: sum(row[name] for row in rows) for name in names}


def reference(meetings: list[dict[str, Any]], request: ExportRequest) -> list[dict[str, Any]]:
    """Return the export's rows as the disclosure functions publish them, cell by cell."""
    policy, by = request.policy, request.by
    groups = exact_group_rows(meetings, request)
    if by == "occurrence":
        rows = [published(row, "group", by, policy) for row in groups]
        total = summed(groups, ("facilitators", *PEOPLE_COLUMNS))
        return [*rows, published(total, "total", by, policy)]
    rows = []
    for bucket, grouped in groupby(groups, key=lambda row: row["bucket"]):
        in_bucket = list(grouped)
        rows += [published(row, "group", by, policy) for row in in_bucket]
        rows.append(
            published(
                {"bucket": bucket, **summed(in_bucket, (*BUCKET_FACTS, *PEOPLE_COLUMNS))}, "all groups", by, policy
            )
        )
    total = summed(groups, (*BUCKET_FACTS, *PEOPLE_COLUMNS))
    return [*rows, published(total, "total", by, policy)]


def reference_csv(rows: list[dict[str, Any]], by: str) -> str:
    protected = {*PEOPLE_COLUMNS, *AVERAGE_COLUMNS}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(by))
    for row in rows:
        writer.writerow(
            ("*" if name in protected else "") if row[name] is None else str(row[name]) for name in columns(by)
        )
    return out.getvalue()


# --- the test ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_export_matches_the_disclosure_functions_cell_by_cell(database, seed) -> None:
    meetings = random_meetings(seed)
    async with database.session() as session:
        session.add_all(ParticipationOccurrence(**meeting) for meeting in meetings)
    export = ParticipationExport(database)
    requests = [ExportRequest(FIRST, LAST, (), by, policy) for by in GROUPINGS for policy in POLICIES]
    requests += [ExportRequest(FIRST, LAST, GUILDS[:2], by) for by in GROUPINGS]
    for request in requests:
        expected = reference(meetings, request)
        assert len(expected) > 5
        out = io.StringIO()
        written = await write_csv(export.rows(request), out, metadata(request, GENERATED), request.by)
        table = "".join(line + "\n" for line in out.getvalue().splitlines() if not line.startswith("#"))
        assert table == reference_csv(expected, request.by), request
        assert written == len(expected)
        out = io.StringIO()
        await write_json(export.rows(request), out, metadata(request, GENERATED), request.by)
        # Compared as JSON text, so 4 and 4.0 or "1" and 1 are different.
        assert json.dumps(json.loads(out.getvalue())["rows"]) == json.dumps(expected), request


def test_the_reference_sees_every_boundary() -> None:
    meetings = random_meetings(1)
    seen = {meeting[name] for meeting in meetings for name in PEOPLE_COLUMNS}
    assert {0, 1, 7, 8, 12, 13, 17, 18, 15, 25} <= seen
    answered = [sum(meeting[name] for name in HELPFUL_COLUMNS) for meeting in meetings]
    assert min(answered) == 0 and any(3 <= n < 8 for n in answered) and any(n >= 8 for n in answered)
    assert statistics.median(answered) < 20
