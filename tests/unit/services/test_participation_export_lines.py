"""CSV lines written by the database: the same bytes as csv.writer writes from the cells, awkward text included."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.db.models_participation import FEEDBACK_COLUMNS, ParticipationOccurrence
from bot.domain.disclosure import DisclosurePolicy
from bot.services.participation.export import ExportRequest, GROUPINGS, ParticipationExport, Row
from bot.services.participation.export_files import write_csv
from bot.services.participation.export_sql import CSV_QUOTED

FIRST, LAST = date(2026, 11, 20), date(2026, 12, 31)
START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
POLICIES = (
    DisclosurePolicy(),
    DisclosurePolicy(threshold=10, rounding=10, min_people_for_averages=1),
    DisclosurePolicy(exact=True),
)
# Text a cell may hold that csv.writer quotes (comma, quote, line ends) or leaves alone (spaces, tabs, a lone quote
# at the end), each within its column's length on PostgreSQL.
AWKWARD = {
    "period": ('a,"b"\nc', "x\ry", " s\tt ", 'q"'),
    "missed_reason": ("no, really", '"bot" down', None, "plain"),
    "outcome": ("held", "mis,sed", 'h"', "held"),
    "local_date": ("2026-12-0,", "2026-12-01", '2026-12-0"', "2026-12-02"),
    "local_week": ("2026-W49", '2026,"W9', "2026-W50"),
    "local_month": ('2026,"1', "2026-12", "2026-12", "2026\n12"),
}
# A quoted cell each grouping must show.
QUOTED = {"occurrence": '"a,""b""\nc"', "week": '"2026,""W9"', "month": '"2026,""1"'}


def meetings() -> list[ParticipationOccurrence]:
    """Return meetings whose text cells need quoting (or look as if they might), with counts either side of 8."""
    rows = []
    for n in range(12):
        start = START + timedelta(days=n % 4, microseconds=(0, 250_000, 1)[n % 3])
        helpful = {f"fb_helpful_{score}": (n + score) % 4 for score in range(1, 6)}
        text = {name: values[n % len(values)] for name, values in AWKWARD.items()}
        rows.append(
            ParticipationOccurrence(
                occurrence_id=n + 1,
                guild_id=1_100_000_000_000_000_000 + n % 3,
                schedule_id=None if n % 5 == 0 else 1,
                scheduled_start=start,
                scheduled_end=start + timedelta(minutes=90),
                actual_start=None if n % 4 == 3 else start,
                actual_end=None if n % 4 == 3 else start + timedelta(minutes=95),
                finalised_at=start + timedelta(hours=2),
                created_at=start,
                phases_reached=7,
                phases_total=7,
                facilitators=1,
                **dict.fromkeys(("attendees", "new_attendees", "returning_attendees", "checkins"), n * 3 % 19),
                unlinked_attendees=0,
                voice_attendees=n,
                posters=8,
                feedback_answers=sum(helpful.values()),
                **{**dict.fromkeys(FEEDBACK_COLUMNS, 1), **helpful},
                **text,
            )
        )
    return rows


async def as_dicts(rows: Any) -> AsyncIterator[Row]:
    """Yield an export's rows as plain dicts, so write_csv formats their cells itself."""
    async for row in rows:
        yield row


def test_csv_quotes_what_the_database_quotes() -> None:
    assert {",", '"', "\n"} <= set(CSV_QUOTED) <= set(',"\r\n')


@pytest.mark.parametrize("by", GROUPINGS)
async def test_database_lines_are_the_bytes_csv_writer_writes(database, by: str) -> None:
    async with database.session() as session:
        session.add_all(meetings())
    export = ParticipationExport(database)
    for policy in POLICIES:
        request = ExportRequest(FIRST, LAST, (), by, policy)
        rows = export.rows(request)
        assert rows.database_writes_lines
        fast, cells = io.StringIO(), io.StringIO()
        written = await write_csv(rows, fast, {}, by)
        assert written == await write_csv(as_dicts(export.rows(request)), cells, {}, by)
        assert fast.getvalue() == cells.getvalue(), request
        assert QUOTED[by] in fast.getvalue()
