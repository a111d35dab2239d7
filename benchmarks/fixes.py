"""Fixes proposed in docs/BENCHMARKS.md, applied as monkeypatches inside a benchmarked bot process only.

They exist to measure "after" figures before the production code changes: `BENCH_FIXES=read-pool,gc-freeze make bench`
(any comma-separated subset of `FIXES`) patches the SmartBot child processes and the export's measuring process;
nothing else is touched. Several replace a whole method with a copy of it as it was when measured: once a fix
has landed in `bot/` or `cogs/`, delete its entry rather than let the copy drift.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

ENV = "BENCH_FIXES"


def requested(where: str | None = None) -> list[str]:
    """Return the fixes named in BENCH_FIXES (empty: the code as it is), for the bot's or the export's process."""
    names = [name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip()]
    if where is None:
        return names
    return [name for name in names if name.startswith("export-") == (where == "export")]


def stream_in_partitions() -> None:
    """Stream the export's rows from the database a thousand at a time instead of all at once.

    `ParticipationExport.rows` reads `session.stream(query)` row by row; on aiosqlite without `yield_per` the whole
    result is buffered first (the process passes 300 MB for one year by occurrence). Proposed fix in
    bot/services/participation_export.py: `session.stream(_query(request).execution_options(yield_per=1000))`.
    """
    from bot.services import participation_export as export

    original = export._query

    def query(request: export.ExportRequest) -> object:
        return original(request).execution_options(yield_per=1000)

    export._query = query  # type: ignore[assignment]


def sql_side_disclosure() -> None:
    """Protect the cells in SQL and write whole partitions of ready-made CSV rows (the issue's hint).

    Most of the export's time is Python per cell: `_exact_row`, `protect_row` with its checks, `_Sums.add` and
    `_csv_cell` for 30 people columns of every row. Proposed fix in bot/services/participation_export.py, as
    prototyped below for CSV with the default (non-exact) policy: select the export's own query as a subquery with
    each people column rewritten `CASE WHEN n = 0 THEN '0' WHEN n < threshold THEN '*' ELSE ((2n + r) // 2r) * r`
    (the same integer rounding as `round_half_up_to`), stream it in partitions of 1,000 (`yield_per`), compute only
    the two averages in Python from the five helpfulness counts, and take the "all groups" and total rows from two
    small GROUP BY queries (exact sums, rounded with `protect_total`). The benchmark checks that its CSV is
    byte-for-byte the current export's.
    """
    from sqlalchemy import String, case, cast, func, select, type_coerce

    from bot.domain.disclosure import protect_total
    from bot.services import participation_export as export

    original_rows = export.ParticipationExport.rows

    def people(column: Any, policy: Any) -> Any:
        value = func.coalesce(column, 0)
        rounded = (2 * value + policy.rounding) // (2 * policy.rounding) * policy.rounding
        return case((value == 0, "0"), (value < policy.threshold, "*"), else_=cast(rounded, String))

    def averages(helpful: list[int], policy: Any) -> tuple[str, str]:
        answered = sum(helpful)
        if answered < policy.min_people_for_averages or not answered:
            return "*", "*"
        mean, median = export._mean(helpful), export._median(helpful)
        return str(round(mean, 2)), str(round(median, 2))  # type: ignore[arg-type]

    def iso(value: Any) -> Any:
        if value is None or isinstance(value, datetime):
            return value.isoformat() if value is not None else None
        day, _, clock = str(value).partition(" ")  # SQLite's text form, 'YYYY-MM-DD HH:MM:SS.ffffff'
        return f"{day}T{clock.removesuffix('.000000')}+00:00"

    async def rows(self: export.ParticipationExport, request: export.ExportRequest) -> Any:
        policy = request.policy
        if policy.exact:
            async for row in original_rows(self, request):
                yield [row]
            return
        by = request.by
        sub = export._query(request).order_by(None).subquery()
        facts = export.OCCURRENCE_FACTS if by == "occurrence" else ("bucket", *export.BUCKET_FACTS)
        dated = {"scheduled_start", "scheduled_end", "actual_start", "actual_end"}
        chosen = [
            type_coerce(sub.c[name], String)
            if name in dated
            else func.coalesce(sub.c[name], 0)
            if by != "occurrence" and name in export.BUCKET_FACTS
            else sub.c[name]
            for name in facts
        ]
        summed = [*export.PEOPLE_COLUMNS, *(export.BUCKET_FACTS if by != "occurrence" else export._SUMMED_FACTS)]
        # Weeks and months: the exact values come along (few rows) and the "all groups" and total rows are summed
        # here, one scan in all. Occurrences: only the helpfulness counts come along; the total is one more query.
        exact_names = summed if by != "occurrence" else list(export.HELPFUL_COLUMNS)
        helpful_at = [exact_names.index(name) for name in export.HELPFUL_COLUMNS]
        exact = [func.coalesce(sub.c[name], 0) for name in exact_names]
        protected = [people(sub.c[name], policy) for name in export.PEOPLE_COLUMNS]
        query = select(sub.c.guild_id, *chosen, *protected, *exact)
        if by == "occurrence":
            query = query.order_by(sub.c.local_date, sub.c.scheduled_start, sub.c.guild_id, sub.c.occurrence_id)
        else:
            query = query.order_by(sub.c.bucket, sub.c.guild_id)
        n_facts, n_people = len(facts), len(export.PEOPLE_COLUMNS)
        names = export.columns(by)

        def total_row(scope: str, bucket: str | None, values: Any) -> tuple[Any, ...]:
            sums = dict(zip(summed, (int(v) for v in values), strict=True))
            cells: dict[str, Any] = {name: str(protect_total(sums[name], policy)) for name in export.PEOPLE_COLUMNS}
            cells.update({name: sums[name] for name in summed if name not in export.PEOPLE_COLUMNS})
            cells.update(scope=scope, guild_id=None, bucket=bucket)
            helpful_sums = [sums[name] for name in export.HELPFUL_COLUMNS]
            cells["helpful_mean"], cells["helpful_median"] = averages(helpful_sums, policy)
            return tuple(cells.get(name) for name in names)

        async with self._db.session() as session:
            total: list[int] = [0] * len(summed)
            if by == "occurrence":
                sql_sums = [func.coalesce(func.sum(sub.c[name]), 0) for name in summed]
                total = list((await session.execute(select(*sql_sums))).one())
            result = await session.stream(query.execution_options(yield_per=1000))
            current: str | None = None
            bucket_sums: list[int] = [0] * len(summed)
            async for partition in result.partitions(1000):
                out: list[tuple[Any, ...]] = []
                for record in partition:
                    fact_values = record[1 : 1 + n_facts]
                    values = record[1 + n_facts + n_people :]
                    if by != "occurrence":
                        if fact_values[0] != current:
                            if current is not None:
                                out.append(total_row(export.SCOPE_ALL, current, bucket_sums))
                                total = [a + b for a, b in zip(total, bucket_sums, strict=True)]
                            current, bucket_sums = fact_values[0], [0] * len(summed)
                        bucket_sums = [a + b for a, b in zip(bucket_sums, values, strict=True)]
                    mean, median = averages([values[i] for i in helpful_at], policy)
                    shown = [iso(v) if name in dated else v for name, v in zip(facts, fact_values, strict=True)]
                    cells = record[1 + n_facts : 1 + n_facts + n_people]
                    out.append(("group", str(record[0]), *shown, *cells, mean, median))
                yield out
            tail = []
            if current is not None:
                tail.append(total_row(export.SCOPE_ALL, current, bucket_sums))
                total = [a + b for a, b in zip(total, bucket_sums, strict=True)]
            tail.append(total_row(export.SCOPE_TOTAL, None, total))
            yield tail

    async def write_csv(
        rows: Any, out: Any, meta: dict[str, Any], by: str, on_row: Callable[[], None] | None = None
    ) -> int:
        import csv
        import json

        if meta.get("stamp"):
            out.write(f"# {export.NOT_FOR_PUBLICATION}\n")
        for key, value in meta.items():
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            out.write(f"# {key}: {shown}\n")
        names = export.columns(by)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        written = 0
        async for partition in rows:
            if partition and isinstance(partition[0], dict):  # exact figures: rows from the unchanged code
                partition = [[export._csv_cell(name, row.get(name)) for name in names] for row in partition]
            writer.writerows(partition)
            written += len(partition)
            if on_row is not None:
                for _ in partition:
                    on_row()
        return written

    export.ParticipationExport.rows = rows  # type: ignore[method-assign]
    export.write_csv = write_csv  # type: ignore[assignment]


def count_only_for_progress() -> None:
    """Count the export's rows only when a progress bar will show them.

    `bot.cli_export._export` runs `count_rows` (the whole aggregate once more, for the progress bar) before every
    export, though the bar is only drawn on a terminal. Proposed fix in bot/cli_export.py: decide on the bar first
    (`Console(stderr=True).is_terminal`) and count only then. Measured here as a `count_rows` that returns 0 when
    stderr is not a terminal (then no bar is drawn, exactly as before).
    """
    import sys

    from bot.services import participation_export as export

    original = export.ParticipationExport.count_rows

    async def count_rows(self: export.ParticipationExport, request: export.ExportRequest) -> int:
        return await original(self, request) if sys.stderr.isatty() else 0

    export.ParticipationExport.count_rows = count_rows  # type: ignore[method-assign]


def read_pool() -> None:
    """Give SQLite sessions a pool of four connections instead of one (upper bound of a read-only pool's effect).

    Not a proposal as it stands: the single connection is there so that writers queue instead of failing to
    upgrade a read transaction ("database is locked"). Measured to size the gain of a separate read-only engine
    (WAL lets readers run beside the writer) for the commands that only read.
    """
    from bot.db import engine

    original_init = engine.Database.__init__

    def init(self: engine.Database, url: str, *, echo: bool = False) -> None:
        original_create = engine.create_async_engine

        def create(url: str, **kwargs: Any) -> Any:
            if kwargs.get("pool_size") == 1:
                kwargs["pool_size"] = 4
            return original_create(url, **kwargs)

        engine.create_async_engine = create  # type: ignore[assignment]
        try:
            original_init(self, url, echo=echo)
        finally:
            engine.create_async_engine = original_create  # type: ignore[assignment]

    engine.Database.__init__ = init  # type: ignore[method-assign]


def freeze_heap_after_start() -> None:
    """Move everything built at start-up out of the garbage collector's sight once the bot is ready.

    SmartBot's heap after start-up (SQLAlchemy's mappers and compiled caches, the tools library, templates, discord.py's
    caches) is several times a bare bot's, and every full collection walks it, pausing the event loop in the middle
    of answering. Proposed fix in bot/client.py: `gc.collect(); gc.freeze()` at the end of `setup_hook` (objects
    created later are collected as usual).
    """
    import gc

    from bot.client import SmartBot

    original = SmartBot.setup_hook

    async def setup_hook(self: SmartBot) -> None:
        await original(self)
        gc.collect()
        gc.freeze()

    SmartBot.setup_hook = setup_hook  # type: ignore[method-assign]


FIXES: dict[str, Callable[[], None]] = {
    "export-stream": stream_in_partitions,
    "export-sql": sql_side_disclosure,
    "export-count": count_only_for_progress,
    "read-pool": read_pool,
    "gc-freeze": freeze_heap_after_start,
}


def apply(names: list[str]) -> list[str]:
    """Apply the named fixes; return the names applied."""
    unknown = set(names) - set(FIXES)
    if unknown:
        raise SystemExit(f"unknown fix(es) in {ENV}: {', '.join(sorted(unknown))}; known: {', '.join(FIXES)}")
    for name in names:
        FIXES[name]()
    return names
