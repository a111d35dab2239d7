"""Exports and the report: SQL aggregation, disclosure control on every cell, metadata, stamps and charts."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.db.engine import Database
from bot.db.models import Base
from bot.db.models_participation import FEEDBACK_COLUMNS, ParticipationOccurrence
from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION, protect_total
from bot.services.participation.export import (
    ExportRequest,
    PEOPLE_COLUMNS,
    ParticipationExport,
    SCOPE_ALL,
    SCOPE_GROUP,
    SCOPE_TOTAL,
    columns,
    metadata,
)
from bot.services.participation.export_files import write_csv, write_json
from bot.services.participation.report import CHART_FILES, SUMMARY, build_report

GENERATED = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 1), date(2026, 12, 31)


def meeting(occurrence_id: int, guild_id: int, starts_at: datetime, **counts: object) -> ParticipationOccurrence:
    day = starts_at.date()
    iso = day.isocalendar()
    values: dict[str, object] = {
        "phases_reached": 7,
        "phases_total": 7,
        "attendees": 0,
        "new_attendees": 0,
        "returning_attendees": 0,
        "unlinked_attendees": 0,
        "checkins": 0,
        "voice_attendees": 0,
        "posters": 0,
        "facilitators": 1,
        "feedback_answers": 0,
        "outcome": "held",
        **dict.fromkeys(FEEDBACK_COLUMNS, 0),
    }
    values.update(counts)
    return ParticipationOccurrence(
        occurrence_id=occurrence_id,
        guild_id=guild_id,
        schedule_id=1,
        period="2026",
        local_date=day.isoformat(),
        local_week=f"{iso.year}-W{iso.week:02d}",
        local_month=day.isoformat()[:7],
        scheduled_start=starts_at,
        scheduled_end=starts_at + timedelta(minutes=90),
        actual_start=starts_at,
        actual_end=starts_at + timedelta(minutes=90),
        finalised_at=starts_at + timedelta(minutes=90),
        created_at=starts_at,
        **values,
    )


@pytest.fixture
async def filled(database):
    async with database.session() as session:
        session.add_all(
            [
                meeting(1, 11, TUESDAY, attendees=12, new_attendees=4, returning_attendees=7, unlinked_attendees=1,
                        checkins=9, feedback_answers=9, fb_helpful_4=5, fb_helpful_5=4, fb_plan_yes=9),
                meeting(2, 11, TUESDAY + timedelta(days=7), attendees=3, returning_attendees=3),
                meeting(3, 22, TUESDAY + timedelta(days=1), attendees=40, new_attendees=40, fb_helpful_2=3),
                meeting(4, 22, TUESDAY + timedelta(days=8), outcome="missed", missed_reason="bot down", facilitators=0),
                meeting(5, 22, TUESDAY + timedelta(days=15), outcome="missed", missed_reason="cancelled"),
                meeting(6, 33, datetime(2027, 1, 5, 19, tzinfo=UTC), attendees=50),  # outside the range
            ]
        )  # fmt: skip
    return database


async def collect(database, request):
    return [row async for row in ParticipationExport(database).rows(request)]


async def test_per_occurrence_rows_are_protected_and_totalled(filled) -> None:
    rows = await collect(filled, ExportRequest(FIRST, LAST))
    assert [row["scope"] for row in rows] == [SCOPE_GROUP] * 5 + [SCOPE_TOTAL]
    first = rows[0]
    assert (first["guild_id"], first["occurrence_id"], first["outcome"], first["local_date"]) == (
        "11",
        1,
        "held",
        "2026-12-01",
    )
    assert (first["attendees"], first["new_attendees"], first["returning_attendees"]) == (10, None, None)
    assert first["unlinked_attendees"] is None and first["checkins"] == 10
    assert (first["helpful_mean"], first["helpful_median"]) == (4.44, 4.0)  # nine answers: enough to publish
    assert rows[2]["attendees"] is None  # 3 people: suppressed
    assert rows[1]["attendees"] == 40 and rows[1]["helpful_mean"] is None  # 3 answers: too few for an average
    assert rows[3]["missed_reason"] == "bot down" and rows[3]["facilitators"] == 0
    total = rows[-1]
    assert total["attendees"] == protect_total(55, DisclosurePolicy()) == 55
    assert total["new_attendees"] == 45 and total["returning_attendees"] == 10  # true 44 and 10, rounded
    assert total["facilitators"] == 4


async def test_weekly_rows_have_an_all_groups_row_per_week(filled) -> None:
    rows = await collect(filled, ExportRequest(FIRST, LAST, by="week"))
    shape = [(row["scope"], row["bucket"], row["guild_id"]) for row in rows]
    assert shape == [
        (SCOPE_GROUP, "2026-W49", "11"),
        (SCOPE_GROUP, "2026-W49", "22"),
        (SCOPE_ALL, "2026-W49", None),
        (SCOPE_GROUP, "2026-W50", "11"),
        (SCOPE_GROUP, "2026-W50", "22"),
        (SCOPE_ALL, "2026-W50", None),
        (SCOPE_GROUP, "2026-W51", "22"),
        (SCOPE_ALL, "2026-W51", None),
        (SCOPE_TOTAL, None, None),
    ]
    assert rows[2]["attendees"] == 50 and rows[2]["meetings"] == 2
    assert rows[4]["meetings"] == 1 and rows[4]["missed_bot_down"] == 1 and rows[4]["meetings_held"] == 0
    assert rows[5]["attendees"] == 5  # 3, rounded but not hidden: an all-groups total
    total = rows[-1]
    assert (total["meetings"], total["meetings_held"], total["missed_cancelled"]) == (5, 3, 1)


async def test_monthly_rows_filter_by_group(filled) -> None:
    rows = await collect(filled, ExportRequest(FIRST, date(2027, 1, 31), guild_ids=(22, 33), by="month"))
    assert [(row["scope"], row["bucket"], row["guild_id"]) for row in rows] == [
        (SCOPE_GROUP, "2026-12", "22"),
        (SCOPE_ALL, "2026-12", None),
        (SCOPE_GROUP, "2027-01", "33"),
        (SCOPE_ALL, "2027-01", None),
        (SCOPE_TOTAL, None, None),
    ]
    assert await ParticipationExport(filled).count_rows(ExportRequest(FIRST, LAST, by="month")) == 2


async def test_exact_export_is_stamped_and_unprotected(filled) -> None:
    request = ExportRequest(FIRST, LAST, policy=DisclosurePolicy(exact=True))
    rows = await collect(filled, request)
    assert rows[0]["new_attendees"] == 4 and rows[-1]["attendees"] == 55
    out = io.StringIO()
    await write_csv(collect_iter(rows), out, metadata(request, GENERATED), request.by)
    text = out.getvalue()
    assert text.startswith(f"# {NOT_FOR_PUBLICATION}\n")
    assert f"# stamp: {NOT_FOR_PUBLICATION}" in text
    out = io.StringIO()
    await write_json(collect_iter(rows), out, metadata(request, GENERATED), request.by)
    document = json.loads(out.getvalue())
    assert document["metadata"]["stamp"] == NOT_FOR_PUBLICATION and document["stamp"] == NOT_FOR_PUBLICATION
    assert document["metadata"]["disclosure_control"]["exact"] is True


async def collect_iter(rows):
    for row in rows:
        yield row


async def test_csv_carries_metadata_and_shows_suppressed_cells_as_stars(filled) -> None:
    request = ExportRequest(FIRST, LAST, by="week")
    out = io.StringIO()
    written = await write_csv(ParticipationExport(filled).rows(request), out, metadata(request, GENERATED), "week")
    lines = out.getvalue().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert "# schema_version: 2" in comments
    assert "# from: 2026-11-01" in comments and "# to: 2026-12-31" in comments and "# by: week" in comments
    assert f"# generated_at: {GENERATED.isoformat()}" in comments
    assert any(line.startswith('# disclosure_control: {"threshold": 8, "rounding": 5') for line in comments)
    assert not any(NOT_FOR_PUBLICATION in line for line in lines)
    table = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert len(table) == written == 9
    assert list(table[0]) == columns("week")
    assert table[0]["new_attendees"] == "*" and table[0]["attendees"] == "10"


async def test_json_is_one_document_with_nulls_for_suppressed_cells(filled) -> None:
    request = ExportRequest(FIRST, LAST)
    out = io.StringIO()
    await write_json(ParticipationExport(filled).rows(request), out, metadata(request, GENERATED), "occurrence")
    document = json.loads(out.getvalue())
    assert document["metadata"]["schema_version"] == 2 and document["metadata"]["groups"] == "all"
    assert document["columns"] == columns("occurrence")
    assert document["rows"][0]["new_attendees"] is None and "stamp" not in document


async def test_an_empty_range_still_has_a_total(database) -> None:
    rows = await collect(database, ExportRequest(FIRST, LAST, by="week"))
    assert [row["scope"] for row in rows] == [SCOPE_TOTAL]
    assert rows[0]["attendees"] == 0


def test_requests_are_checked() -> None:
    with pytest.raises(ValueError, match="before"):
        ExportRequest(LAST, FIRST)
    with pytest.raises(ValueError, match="--by"):
        ExportRequest(FIRST, LAST, by="year")


counts = st.integers(min_value=0, max_value=60)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.lists(st.lists(counts, min_size=3, max_size=3), min_size=1, max_size=5),
    rule=st.sampled_from([(8, 5), (10, 5), (10, 10), (13, 5)]),
)
def test_no_published_cell_is_small_and_totals_follow_the_rounding_rule(groups, rule) -> None:
    """Property: group cells are 0, suppressed or rounded counts >= threshold; totals are rounded true totals."""
    threshold, rounding = rule
    policy = DisclosurePolicy(threshold=threshold, rounding=rounding)

    async def run() -> list[dict]:
        database = Database("sqlite+aiosqlite://")
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with database.session() as session:
            for index, (attendees, new, answers) in enumerate(groups):
                session.add(
                    meeting(index + 1, index + 1, TUESDAY, attendees=attendees, new_attendees=new,
                            fb_helpful_3=answers, feedback_answers=answers)
                )  # fmt: skip
        try:
            return await collect(database, ExportRequest(FIRST, LAST, by="month", policy=policy))
        finally:
            await database.dispose()

    rows = asyncio.run(run())
    for row in rows:
        for name in PEOPLE_COLUMNS:
            value = row[name]
            if row["scope"] == SCOPE_GROUP:
                assert value is None or value == 0 or (value >= threshold and value % rounding == 0), (name, value)
            else:
                assert value is not None and value % rounding == 0
    exact = {name: sum(g[i] for g in groups) for i, name in enumerate(("attendees", "new_attendees", "fb_helpful_3"))}
    for name, true_total in exact.items():
        assert rows[-1][name] == protect_total(true_total, policy)
        assert abs(rows[-1][name] - true_total) <= rounding / 2
    for (attendees, _new, answers), row in zip(groups, rows, strict=False):
        if row["scope"] == SCOPE_GROUP and row["attendees"] is not None:
            assert abs(row["attendees"] - attendees) <= rounding / 2
        if row["scope"] == SCOPE_GROUP and answers < policy.min_people_for_averages:
            assert row["helpful_mean"] is None


async def test_report_writes_charts_and_a_summary(filled, tmp_path) -> None:
    report = await build_report(filled, ExportRequest(FIRST, LAST), tmp_path / "report", GENERATED)
    assert {path.name for path in report.charts} == set(CHART_FILES.values())
    for path in report.charts:
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    summary = (tmp_path / "report" / SUMMARY).read_text()
    for name in CHART_FILES.values():
        assert f"]({name})" in summary
    assert NOT_FOR_PUBLICATION not in summary
    assert "| Group 11 | 2 | 2 | 0 | 0 | 0 | 0 |" in summary and "| Group 22 | 3 | 1 | 0 | 1 | 1 | 0 |" in summary
    assert report.total["attendees"] == 55


async def test_exact_report_is_stamped_everywhere(filled, tmp_path) -> None:
    request = ExportRequest(FIRST, LAST, policy=DisclosurePolicy(exact=True))
    report = await build_report(filled, request, tmp_path, GENERATED)
    assert report.summary.read_text().startswith(f"# {NOT_FOR_PUBLICATION}")
    for path in report.charts:
        assert NOT_FOR_PUBLICATION.encode() in path.read_bytes()  # in the PNG's text metadata


async def test_report_of_an_empty_period(database, tmp_path) -> None:
    report = await build_report(database, ExportRequest(FIRST, LAST), tmp_path, GENERATED)
    assert len(report.charts) == 4 and report.summary.exists()
