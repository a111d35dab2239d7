"""Participation figures for the central office: aggregated and protected in SQL, streamed as CSV or JSON.

Rows come from `participation_occurrence` only (per-meeting numbers, never marks or pseudonyms), grouped in SQL and
read a partition at a time, so memory stays bounded however long the export. The database applies the disclosure
control of bot.domain.disclosure to every count of people of the group rows (`_published_count` is `protect_count`
in SQL); Python only computes the two averages from the five helpfulness counts and the "all groups" and total rows,
which are rounded true totals (`protect_total`), never the sum of the published cells. For CSV on SQLite and
PostgreSQL the database writes each group row's whole line but its averages (`csv_lines`), byte for byte what
csv.writer would write from the cells. docs/DATA_DICTIONARY.md defines every column.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, cast, func, literal_column, null, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement, Select

from bot.db.engine import Database
from bot.db.models_participation import FEEDBACK_COLUMNS, ParticipationOccurrence as P
from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION, SUPPRESSED, protect_mean, protect_total
from bot.services.participation.export_sql import CsvLine, CsvText, IsoTimestamp, LINE_DIALECTS, partitions

log = logging.getLogger(__name__)

# 2: the fb_heard_* columns count newcomers' answers only (the referral question is asked once, of new members).
SCHEMA_VERSION = 2
GROUPINGS = ("occurrence", "week", "month")
SCOPE_GROUP = "group"
SCOPE_ALL = "all groups"
SCOPE_TOTAL = "total"
HELPFUL_COLUMNS = tuple(f"fb_helpful_{score}" for score in range(1, 6))
# Rows fetched from the database at a time: bounded memory on aiosqlite (which otherwise buffers the whole result)
# and few enough round trips to the driver's thread.
PARTITION_ROWS = 1000

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
_TIMESTAMP_FACTS = ("scheduled_start", "scheduled_end", "actual_start", "actual_end")
_MISSED_KINDS = {
    "missed_no_facilitator": "no facilitator",
    "missed_bot_down": "bot down",
    "missed_cancelled": "cancelled",
    "missed_other": "other",
}

Row = dict[str, Any]
Cells = tuple[Any, ...]


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
            "are suppressed. The fb_heard_* columns are newcomers' referral sources: how members counted as new at a "
            "meeting first heard about SMART, asked once each period. See docs/DATA_DICTIONARY.md."
        ),
    }
    if request.policy.exact:
        meta = {"stamp": NOT_FOR_PUBLICATION, **meta}
        meta["notes"] = f"{NOT_FOR_PUBLICATION}: exact figures, no disclosure control. Do not share or publish."
    return meta


class ParticipationExport:
    """Read the protected participation rows of a request."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def count_rows(self, request: ExportRequest) -> int:
        """Return how many group rows the export will have (for a progress bar)."""
        query = select(func.count()).select_from(_query(request).order_by(None).subquery())
        async with self._db.session() as session:
            return int(await session.scalar(query, _params(request)) or 0)

    def rows(self, request: ExportRequest) -> PublishedRows:
        """Return the protected rows: group rows, an "all groups" row after each week or month, and a total."""
        return PublishedRows(self._db, request)


class PublishedRows:
    """One export's protected rows: iterate for dicts, or read `partitions()` of cells in column order (faster)."""

    def __init__(self, database: Database, request: ExportRequest) -> None:
        self._db = database
        self.request = request

    async def __aiter__(self) -> AsyncIterator[Row]:
        """Yield each row as a dict of its columns; a suppressed cell is None."""
        names = columns(self.request.by)
        async for partition in self.partitions():
            for cells in partition:
                yield dict(zip(names, cells, strict=True))

    async def partitions(self, suppressed: str | None = None) -> AsyncIterator[list[Cells]]:
        """Yield the rows a partition at a time, cells in `columns()` order; a suppressed cell is `suppressed`.

        With `suppressed="*"` the database writes the protected counts as text (what CSV shows); with None they are
        whole numbers or None (JSON, dicts).
        """
        request, policy = self.request, self.request.policy
        occurrences = request.by == "occurrence"
        facts = OCCURRENCE_FACTS if occurrences else ("bucket", *BUCKET_FACTS)
        # Beside the published cells come exact counts: the helpfulness answers for the averages and, for weeks and
        # months, everything the "all groups" and total rows sum (a few hundred rows a bucket, summed in one go).
        summed = [*(_SUMMED_FACTS if occurrences else BUCKET_FACTS), *PEOPLE_COLUMNS]
        exact = list(HELPFUL_COLUMNS) if occurrences else summed
        shown = 1 + len(facts) + len(PEOPLE_COLUMNS)  # guild_id, facts, protected counts
        helpful = itemgetter(*(shown + exact.index(name) for name in HELPFUL_COLUMNS))
        totals = _Totals(request, summed, suppressed)
        query = _published_query(request, tuple(exact), suppressed)
        params = _params(request)
        async with self._db.session() as session:
            # Core rows, not the ORM's: nothing here is an entity, and the ORM's row handling costs per row.
            connection = await session.connection()
            if occurrences:
                # One aggregate for the total: cheaper than fetching every meeting's exact counts to add them up.
                totals.add(list((await connection.execute(_sums_query(request, tuple(summed)), params)).one()))
            bucket: str | None = None
            in_bucket: list[Sequence[int]] = []
            result = await connection.stream(query, params)
            async for records in result.partitions():
                partition: list[Cells] = []
                for record in records:
                    if not occurrences:
                        if record[1] != bucket:
                            if bucket is not None:
                                partition.append(totals.bucket_row(bucket, in_bucket))
                            bucket, in_bucket = record[1], []
                        in_bucket.append(record[shown:])
                    mean, median = _averages(helpful(record), policy, suppressed)
                    partition.append((SCOPE_GROUP, *record[:shown], mean, median))
                yield partition
        tail = [totals.bucket_row(bucket, in_bucket)] if bucket is not None else []
        yield [*tail, totals.total_row()]

    @property
    def database_writes_lines(self) -> bool:
        """Return whether the database can write the CSV lines (`csv_lines`): SQLite and PostgreSQL can."""
        return self._db.engine.dialect.name in LINE_DIALECTS

    async def csv_lines(self) -> AsyncIterator[list[str]]:
        """Yield the rows as CSV lines (without line ends) a partition at a time, as `partitions("*")` would write.

        The database writes each group row's line but its two averages, which Python adds from the five helpfulness
        counts beside the line; the first count is NULL when the averages are suppressed (most meetings), so those
        rows cost one concatenation.
        """
        request = self.request
        occurrences = request.by == "occurrence"
        summed = [*(_SUMMED_FACTS if occurrences else BUCKET_FACTS), *PEOPLE_COLUMNS]
        totals = _Totals(request, summed, SUPPRESSED)
        averages = _AverageCells(request.policy)
        suppressed = averages.suppressed
        query = _csv_query(request, summed)
        bucket: str | None = None
        in_bucket: list[Sequence[int]] = []
        async with self._db.session() as session:
            connection = await session.connection()
            if occurrences:
                sums = await connection.execute(_sums_query(request, tuple(summed)), _params(request))
                totals.add(list(sums.one()))
            # The lines' statement carries its range and groups: the driver-level reader compiles it as it is.
            async for records in partitions(connection, query, PARTITION_ROWS):
                if occurrences:
                    yield [
                        line + (suppressed if one is None else averages(one, two, three, four, five))
                        for line, one, two, three, four, five in records
                    ]
                    continue
                lines: list[str] = []
                for record in records:
                    if record[6] != bucket:
                        if bucket is not None:
                            lines.append(_csv_line(totals.bucket_row(bucket, in_bucket)))
                        bucket, in_bucket = record[6], []
                    in_bucket.append(record[7:])
                    lines.append(record[0] + (suppressed if record[1] is None else averages(*record[1:6])))
                yield lines
        tail = [totals.bucket_row(bucket, in_bucket)] if bucket is not None else []
        yield [_csv_line(cells) for cells in (*tail, totals.total_row())]


# --- SQL -----------------------------------------------------------------------------------------


def _bucket(by: str) -> InstrumentedAttribute[str]:
    return P.local_week if by == "week" else P.local_month


def _filtered(query: Select[Any], request: ExportRequest, *, bound: bool = True) -> Select[Any]:
    """Return `query` over the request's finalised meetings.

    Bound (the default), the range and groups are given at execution (`_params`), so one statement serves every
    request of its shape; else they are written into the statement (the CSV lines' driver-level reader).
    """
    if not bound:
        query = query.where(
            P.finalised_at.is_not(None),
            P.local_date >= request.start.isoformat(),
            P.local_date <= request.end.isoformat(),
        )
        return query.where(P.guild_id.in_(request.guild_ids)) if request.guild_ids else query
    query = query.where(
        P.finalised_at.is_not(None),
        P.local_date >= bindparam("export_start", type_=String),
        P.local_date <= bindparam("export_end", type_=String),
    )
    if request.guild_ids:
        query = query.where(P.guild_id.in_(bindparam("export_guild_ids", expanding=True)))
    return query


def _params(request: ExportRequest) -> dict[str, Any]:
    """Return the values `_filtered` binds: the range's first and last days and the chosen groups."""
    params: dict[str, Any] = {"export_start": request.start.isoformat(), "export_end": request.end.isoformat()}
    if request.guild_ids:
        params["export_guild_ids"] = list(request.guild_ids)
    return params


def _shape(request: ExportRequest) -> tuple[str, bool, DisclosurePolicy]:
    """Return what a request's statements depend on: its grouping, whether it names groups, and its policy."""
    return request.by, bool(request.guild_ids), request.policy


def _of_shape(by: str, some_groups: bool, policy: DisclosurePolicy) -> ExportRequest:
    """Return a request of this shape; its range and groups are placeholders, bound at execution."""
    return ExportRequest(date.min, date.min, (0,) if some_groups else (), by, policy)


def _exact_columns(request: ExportRequest) -> dict[str, Any]:
    """Return the exact value of each column of a group row: a meeting's own, or sums over a group's week or month."""
    if request.by == "occurrence":
        return {name: getattr(P, name) for name in ("guild_id", *OCCURRENCE_FACTS, *PEOPLE_COLUMNS)}
    missed = {name: func.sum(case((P.missed_reason == reason, 1), else_=0)) for name, reason in _MISSED_KINDS.items()}
    return {
        "bucket": _bucket(request.by),
        "guild_id": P.guild_id,
        "meetings": func.count(),
        "meetings_held": func.sum(case((P.outcome == "held", 1), else_=0)),
        **missed,
        "facilitators": func.sum(P.facilitators),
        **{name: func.sum(getattr(P, name)) for name in PEOPLE_COLUMNS},
    }


def _group_rows(query: Select[Any], request: ExportRequest, *, bound: bool = True) -> Select[Any]:
    """Return `query` over the request's meetings, one row per meeting or per group and bucket, in export order."""
    query = _filtered(query, request, bound=bound)
    if request.by == "occurrence":
        return query.order_by(P.local_date, P.scheduled_start, P.guild_id, P.occurrence_id)
    bucket = _bucket(request.by)
    return query.group_by(bucket, P.guild_id).order_by(bucket, P.guild_id)


def _query(request: ExportRequest) -> Select[Any]:
    """Return the exact group rows: one per meeting, or per group and week or month."""
    return _group_rows(select(*(value.label(name) for name, value in _exact_columns(request).items())), request)


def _published_query(request: ExportRequest, exact: tuple[str, ...], suppressed: str | None) -> Select[Any]:
    """Return the group rows as published: guild id as text, facts, protected counts, then the `exact` counts."""
    return _published_statement(*_shape(request), exact, suppressed)


@lru_cache(maxsize=64)
def _published_statement(
    by: str, some_groups: bool, policy: DisclosurePolicy, exact: tuple[str, ...], suppressed: str | None
) -> Select[Any]:
    # Built once per shape and kept: building this select took longer (5 ms) than running it for one group's year,
    # and a kept statement also keeps its cache key, so SQLAlchemy finds its compiled form without walking it.
    request = _of_shape(by, some_groups, policy)
    # Straight over the table, not over `_query` as a subquery: SQLite would sort the weeks' rows a second time.
    values = _exact_columns(request)
    policy = request.policy
    if request.by == "occurrence":
        facts = [IsoTimestamp(values[name]) if name in _TIMESTAMP_FACTS else values[name] for name in OCCURRENCE_FACTS]
    else:
        facts = [values["bucket"], *(values[name] for name in BUCKET_FACTS)]
    # No coalesce: the counts are NOT NULL, and so are their sums over a group row's meetings (at least one).
    query = select(
        cast(values["guild_id"], String),  # text, so spreadsheets keep every digit of the id
        *facts,
        *(_published_count(values[name], policy, suppressed) for name in PEOPLE_COLUMNS),
        *(values[name] for name in exact),
    )
    return _group_rows(query, request).execution_options(yield_per=PARTITION_ROWS)


def _csv_query(request: ExportRequest, summed: Sequence[str]) -> Select[Any]:
    """Return each group row's CSV line but its averages, then the counts Python needs beside it.

    Beside the line: the five helpfulness counts (the first NULL when the averages are suppressed) and, for weeks
    and months, the bucket and the `summed` exact counts.
    """
    values = _exact_columns(request)
    policy = request.policy
    if request.by == "occurrence":
        facts = [_csv_fact(name, values[name]) for name in OCCURRENCE_FACTS]
    else:
        facts = [CsvText(values["bucket"]), *(values[name] for name in BUCKET_FACTS)]
    line = CsvLine(
        _text(SCOPE_GROUP),
        values["guild_id"],  # written whole by the database, as the text the other paths select
        *facts,
        *(_published_count(values[name], policy, SUPPRESSED) for name in PEOPLE_COLUMNS),
    )
    one, *others = (values[name] for name in HELPFUL_COLUMNS)
    # `_averages` publishes from min_people_for_averages answers, or with --exact from one (none has no average).
    enough = 1 if policy.exact else policy.min_people_for_averages
    marked = case((sum(others, one) >= _number(enough), one), else_=null())
    extra = [] if request.by == "occurrence" else [values["bucket"], *(values[name] for name in summed)]
    return _group_rows(select(line, marked, *others, *extra), request, bound=False)


def _csv_fact(name: str, value: Any) -> Any:
    """Return a meeting's fact as its CSV cell: timestamps formatted, text quoted when it needs to be."""
    if name in _TIMESTAMP_FACTS:
        return IsoTimestamp(value)
    return CsvText(value) if isinstance(P.__table__.c[name].type, String) else value


def _published_count(count: ColumnElement[int], policy: DisclosurePolicy, suppressed: str | None) -> Any:
    """Return SQL publishing a group's count as `protect_count` does: 0, suppressed (1 to threshold-1) or rounded.

    The rounding is `round_half_up_to`'s integer arithmetic. Counts are never negative, so the truncating integer
    division of SQLite and PostgreSQL agrees with Python's floor division.
    """
    if policy.exact:
        return count
    zero, threshold = _number(0), _number(policy.threshold)
    rounded = (_number(2) * count + _number(policy.rounding)) // _number(2 * policy.rounding) * _number(policy.rounding)
    if suppressed is None:
        return case((count == zero, zero), (count < threshold, null()), else_=rounded)
    # For CSV every branch is text (PostgreSQL wants one type for a CASE).
    return case((count == zero, _text("0")), (count < threshold, _text(suppressed)), else_=cast(rounded, String))


def _number(value: int) -> ColumnElement[int]:
    """Return a whole number written into the SQL."""
    # Not a bound parameter: SQLite copies a parameter on every use, 25 columns x 5 uses a row (a third slower).
    return literal_column(str(int(value)), Integer)


def _text(value: str) -> ColumnElement[str]:
    """Return text written into the SQL, for the same reason as `_number`."""
    return literal_column("'" + value.replace("'", "''") + "'", String)


def _sums_query(request: ExportRequest, names: tuple[str, ...]) -> Select[Any]:
    return _sums_statement(bool(request.guild_ids), names)


@lru_cache(maxsize=16)
def _sums_statement(some_groups: bool, names: tuple[str, ...]) -> Select[Any]:
    request = _of_shape("occurrence", some_groups, DisclosurePolicy())
    return _filtered(select(*(func.coalesce(func.sum(getattr(P, name)), 0) for name in names)), request)


# --- rows ----------------------------------------------------------------------------------------


class _Totals:
    """Exact sums across groups, published as the "all groups" rows (weeks, months) and the total row."""

    def __init__(self, request: ExportRequest, summed: Sequence[str], suppressed: str | None) -> None:
        self._request = request
        self._summed = list(summed)
        self._suppressed = suppressed
        self._names = columns(request.by)
        self._total = [0] * len(summed)

    def add(self, sums: Sequence[int]) -> None:
        """Add exact sums (in the order of `summed`) to the total."""
        self._total = [a + int(b) for a, b in zip(self._total, sums, strict=True)]

    def bucket_row(self, bucket: str, rows: Sequence[Sequence[int]]) -> Cells:
        """Return a week's or month's "all groups" row from its group rows' exact counts, and add them to the total."""
        sums = [sum(values) for values in zip(*rows, strict=True)] if rows else [0] * len(self._summed)
        self.add(sums)
        return self._row(SCOPE_ALL, bucket, sums)

    def total_row(self) -> Cells:
        """Return the total row."""
        return self._row(SCOPE_TOTAL, None, self._total)

    def _row(self, scope: str, bucket: str | None, sums: Sequence[int]) -> Cells:
        policy = self._request.policy
        exact = dict(zip(self._summed, sums, strict=True))
        row: Row = dict.fromkeys(self._names)
        row.update(scope=scope, guild_id=None)
        if self._request.by != "occurrence":
            row["bucket"] = bucket
        row.update({name: value for name, value in exact.items() if name not in PEOPLE_COLUMNS})
        row.update({name: protect_total(exact[name], policy) for name in PEOPLE_COLUMNS})
        row["helpful_mean"], row["helpful_median"] = _averages(
            [exact[name] for name in HELPFUL_COLUMNS], policy, self._suppressed
        )
        return tuple(row.values())


class _AverageCells:
    """The CSV cells after a line written by the database: its two averages, remembered per helpfulness counts."""

    def __init__(self, policy: DisclosurePolicy) -> None:
        self._policy = policy
        self._known: dict[tuple[int, ...], str] = {}
        self.suppressed = f",{SUPPRESSED},{SUPPRESSED}"

    def __call__(self, *helpful: int) -> str:
        """Return ",mean,median" for the counts of answers 1 to 5 (the same counts recur across meetings)."""
        cells = self._known.get(helpful)
        if cells is None:
            cells = self._known[helpful] = _csv_line(("", *_averages(helpful, self._policy, SUPPRESSED)))
        return cells


def _csv_line(cells: Sequence[Any]) -> str:
    """Return cells as csv.writer writes a line, without its line end."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()[:-1]


def _averages(helpful: Sequence[int], policy: DisclosurePolicy, suppressed: str | None) -> tuple[Any, Any]:
    """Return the mean and median of the helpfulness answers, both `suppressed` when too few people answered."""
    answered = sum(helpful)
    if answered < policy.min_people_for_averages and not policy.exact:
        return suppressed, suppressed  # the common case for a meeting, decided without building anything
    one, two, three, four, five = helpful
    mean = protect_mean(one + 2 * two + 3 * three + 4 * four + 5 * five, answered, policy)
    if mean is None:
        return suppressed, suppressed
    return round(mean, 2), round(_median(helpful, answered), 2)


def _median(counts: Sequence[int], people: int) -> float:
    """Return the median score from how many of `people` (at least one) answered 1..5, without expanding them."""
    lower, upper = (people - 1) // 2, people // 2  # the middle answer's position, or the two middle ones'
    seen, low = 0, 0
    for score, n in enumerate(counts, start=1):
        seen += n
        if not low and lower < seen:
            low = score
        if upper < seen:
            return (low + score) / 2
    raise ValueError("the counts add up to fewer than `people`")
