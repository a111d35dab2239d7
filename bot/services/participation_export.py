"""Participation figures for the central office: aggregated in SQL, protected, and streamed as CSV or JSON.

Rows come from `participation_occurrence` only (per-meeting numbers, never marks or pseudonyms), grouped in SQL and
read one at a time, so memory stays bounded however long the export. Each group row is protected with the domain's
disclosure control (bot.domain.disclosure) before it is written; the "all groups" rows are rounded true totals,
never the sum of the published cells. docs/DATA_DICTIONARY.md defines every column.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Select

from bot.db.engine import Database
from bot.db.models_participation import FEEDBACK_COLUMNS, ParticipationOccurrence as P
from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION, SUPPRESSED, protect_row

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
GROUPINGS = ("occurrence", "week", "month")
SCOPE_GROUP = "group"
SCOPE_ALL = "all groups"
SCOPE_TOTAL = "total"
HELPFUL_COLUMNS = tuple(f"fb_helpful_{score}" for score in range(1, 6))

# Counts of people: protected (suppressed from 1 to threshold-1 and rounded below the all-groups totals).
PEOPLE_COLUMNS = (
    "attendees",
    "new_attendees",
    "returning_attendees",
    "unlinked_attendees",
    "checkins",
    "voice_attendees",
    "posters",
    "feedback_answers",
    *FEEDBACK_COLUMNS,
)
# Averages over the people who answered "how helpful": published only when enough people answered.
AVERAGE_COLUMNS = ("helpful_mean", "helpful_median")
# Facts about meetings, not people (how many were held or missed, phases, facilitators): published as they are.
OCCURRENCE_FACTS = (
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
)
BUCKET_FACTS = (
    "meetings",
    "meetings_held",
    "missed_no_facilitator",
    "missed_bot_down",
    "missed_cancelled",
    "missed_other",
    "facilitators",
)
_SUMMED_FACTS = ("facilitators",)
_MISSED_KINDS = {
    "missed_no_facilitator": "no facilitator",
    "missed_bot_down": "bot down",
    "missed_cancelled": "cancelled",
    "missed_other": "other",
}

Row = dict[str, Any]


@dataclass(frozen=True)
class ExportRequest:
    """What to export: a date range (inclusive, the meetings' local dates), some groups or all, and a grouping."""

    start: date
    end: date
    guild_ids: tuple[int, ...] = ()
    by: str = "occurrence"
    policy: DisclosurePolicy = field(default_factory=DisclosurePolicy)

    def __post_init__(self) -> None:
        """Refuse a range that ends before it starts or an unknown grouping."""
        if self.end < self.start:
            raise ValueError("--to must not be before --from")
        if self.by not in GROUPINGS:
            raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")


def columns(by: str) -> list[str]:
    """Return an export's columns in order."""
    facts = OCCURRENCE_FACTS if by == "occurrence" else ("bucket", *BUCKET_FACTS)
    return ["scope", "guild_id", *facts, *PEOPLE_COLUMNS, *AVERAGE_COLUMNS]


def metadata(request: ExportRequest, generated_at: datetime) -> dict[str, Any]:
    """Return what every export carries: schema version, period, grouping, policy and generation time."""
    meta: dict[str, Any] = {
        "export": "participation",
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at.isoformat(),
        "from": request.start.isoformat(),
        "to": request.end.isoformat(),
        "by": request.by,
        "groups": list(request.guild_ids) or "all",
        "disclosure_control": request.policy.as_metadata(),
        "protected_columns": list(PEOPLE_COLUMNS),
        "suppressed_cell": "null in JSON, * in CSV",
        "notes": (
            "Counts of people from 1 to threshold-1 are suppressed and the rest rounded to the nearest rounding "
            "(halves up); the 'all groups' and 'total' rows are the rounded true totals, never suppressed, and may "
            "differ from the sum of the rows above them. Averages over fewer than min_people_for_averages answers "
            "are suppressed. See docs/DATA_DICTIONARY.md."
        ),
    }
    if request.policy.exact:
        meta = {"stamp": NOT_FOR_PUBLICATION, **meta}
        meta["notes"] = f"{NOT_FOR_PUBLICATION}: exact figures, no disclosure control. Do not share or publish."
    return meta


class ParticipationExport:
    """Read protected participation rows for a request, one at a time."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def count_rows(self, request: ExportRequest) -> int:
        """Return how many group rows the export will have (for a progress bar)."""
        query = select(func.count()).select_from(_query(request).order_by(None).subquery())
        async with self._db.session() as session:
            return int(await session.scalar(query) or 0)

    async def rows(self, request: ExportRequest) -> AsyncIterator[Row]:
        """Yield the protected rows: group rows, an "all groups" row after each week or month, and a total."""
        policy = request.policy
        total = _Sums()
        bucket_sums: _Sums | None = None
        current: str | None = None
        async with self._db.session() as session:
            result = await session.stream(_query(request))
            async for record in result.mappings():
                exact = _exact_row(record, request.by)
                if request.by != "occurrence" and exact["bucket"] != current:
                    if bucket_sums is not None and current is not None:
                        yield _protected(bucket_sums.row(SCOPE_ALL, request.by, current), policy)
                    current, bucket_sums = exact["bucket"], _Sums()
                if bucket_sums is not None:
                    bucket_sums.add(exact)
                total.add(exact)
                yield _protected(exact, policy)
        if bucket_sums is not None and current is not None:
            yield _protected(bucket_sums.row(SCOPE_ALL, request.by, current), policy)
        yield _protected(total.row(SCOPE_TOTAL, request.by, None), policy)


async def write_csv(
    rows: AsyncIterator[Row], out: TextIO, meta: dict[str, Any], by: str, on_row: Callable[[], None] | None = None
) -> int:
    """Write `#` metadata lines, a header and the rows; suppressed cells as `*`. Return the number of rows."""
    if meta.get("stamp"):
        out.write(f"# {NOT_FOR_PUBLICATION}\n")
    for key, value in meta.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        out.write(f"# {key}: {shown}\n")
    names = columns(by)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    written = 0
    async for row in rows:
        writer.writerow([_csv_cell(name, row.get(name)) for name in names])
        written += 1
        if on_row is not None:
            on_row()
    return written


async def write_json(
    rows: AsyncIterator[Row], out: TextIO, meta: dict[str, Any], by: str, on_row: Callable[[], None] | None = None
) -> int:
    """Write `{"metadata": ..., "columns": [...], "rows": [...]}` one row at a time; suppressed cells as null."""
    names = columns(by)
    out.write('{"metadata": ' + json.dumps(meta) + ', "columns": ' + json.dumps(names) + ', "rows": [\n')
    written = 0
    async for row in rows:
        out.write((",\n" if written else "") + json.dumps({name: row.get(name) for name in names}))
        written += 1
        if on_row is not None:
            on_row()
    out.write("\n]")
    if meta.get("stamp"):
        out.write(', "stamp": ' + json.dumps(NOT_FOR_PUBLICATION))
    out.write("}\n")
    return written


# --- SQL -----------------------------------------------------------------------------------------


def _bucket(by: str) -> InstrumentedAttribute[str]:
    return P.local_week if by == "week" else P.local_month


def _filtered(query: Select[Any], request: ExportRequest) -> Select[Any]:
    query = query.where(
        P.finalised_at.is_not(None),
        P.local_date >= request.start.isoformat(),
        P.local_date <= request.end.isoformat(),
    )
    if request.guild_ids:
        query = query.where(P.guild_id.in_(request.guild_ids))
    return query


def _query(request: ExportRequest) -> Select[Any]:
    if request.by == "occurrence":
        chosen = [getattr(P, name) for name in (*OCCURRENCE_FACTS, *PEOPLE_COLUMNS)]
        query = select(P.guild_id, *chosen)
        return _filtered(query, request).order_by(P.local_date, P.scheduled_start, P.guild_id, P.occurrence_id)
    bucket = _bucket(request.by).label("bucket")
    missed = [
        func.sum(case((P.missed_reason == reason, 1), else_=0)).label(name) for name, reason in _MISSED_KINDS.items()
    ]
    query = select(
        bucket,
        P.guild_id,
        func.count().label("meetings"),
        func.sum(case((P.outcome == "held", 1), else_=0)).label("meetings_held"),
        *missed,
        func.sum(P.facilitators).label("facilitators"),
        *(func.sum(getattr(P, name)).label(name) for name in PEOPLE_COLUMNS),
    )
    return _filtered(query, request).group_by(bucket, P.guild_id).order_by(bucket, P.guild_id)


# --- rows ----------------------------------------------------------------------------------------


def _exact_row(record: Any, by: str) -> Row:
    row: Row = {"scope": SCOPE_GROUP, "guild_id": str(record["guild_id"])}
    facts = OCCURRENCE_FACTS if by == "occurrence" else ("bucket", *BUCKET_FACTS)
    for name in facts:
        value = record[name]
        row[name] = value.isoformat() if isinstance(value, datetime) else value
    for name in PEOPLE_COLUMNS:
        row[name] = int(record[name] or 0)
    if by != "occurrence":
        row.update({name: int(row[name] or 0) for name in BUCKET_FACTS})
    return row


def _protected(row: Row, policy: DisclosurePolicy) -> Row:
    """Add the averages and protect the row: the helpfulness answers are the people the averages are over."""
    helpful = [int(row[name]) for name in HELPFUL_COLUMNS]
    row["helpful_mean"], row["helpful_median"] = _mean(helpful), _median(helpful)
    published = protect_row(
        row, PEOPLE_COLUMNS, AVERAGE_COLUMNS, sum(helpful), policy, total=row["scope"] != SCOPE_GROUP
    )
    for name in AVERAGE_COLUMNS:
        value = published[name]
        if isinstance(value, float):
            published[name] = round(value, 2)
    return published


def _mean(counts: Sequence[int]) -> float | None:
    people = sum(counts)
    return sum(score * n for score, n in enumerate(counts, start=1)) / people if people else None


def _median(counts: Sequence[int]) -> float | None:
    """Return the median score from a distribution of answers 1..5, without expanding it."""
    people = sum(counts)
    if not people:
        return None

    def nth(position: int) -> int:
        seen = 0
        for score, n in enumerate(counts, start=1):
            seen += n
            if position < seen:
                return score
        return len(counts)

    middle = people // 2
    return float(nth(middle)) if people % 2 else (nth(middle - 1) + nth(middle)) / 2


class _Sums:
    """Exact running sums across groups, for the "all groups" and total rows (one small dict, not the rows)."""

    def __init__(self) -> None:
        self.sums: dict[str, int] = {}

    def add(self, row: Row) -> None:
        names = [*PEOPLE_COLUMNS, *(BUCKET_FACTS if "bucket" in row else _SUMMED_FACTS)]
        for name in names:
            self.sums[name] = self.sums.get(name, 0) + int(row.get(name) or 0)

    def row(self, scope: str, by: str, bucket: str | None) -> Row:
        row: Row = dict.fromkeys(columns(by))
        row.update(scope=scope, guild_id=None)
        row.update({name: self.sums.get(name, 0) for name in PEOPLE_COLUMNS})
        if by == "occurrence":
            row.update({name: self.sums.get(name, 0) for name in _SUMMED_FACTS})
        else:
            row.update({name: self.sums.get(name, 0) for name in BUCKET_FACTS})
            row["bucket"] = bucket
        return row


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return SUPPRESSED if name in PEOPLE_COLUMNS or name in AVERAGE_COLUMNS else ""
    return str(value)
