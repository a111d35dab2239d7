"""Write a participation export as CSV or JSON, a partition at a time (the rows come from `export.py`)."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any, TextIO

from bot.domain.disclosure import NOT_FOR_PUBLICATION, SUPPRESSED
from bot.services.participation.export import AVERAGE_COLUMNS, Cells, PEOPLE_COLUMNS, PublishedRows, Row, columns


async def write_csv(
    rows: AsyncIterable[Row],
    out: TextIO,
    meta: dict[str, Any],
    by: str,
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Write `#` metadata lines, a header and the rows; suppressed cells as `*`. Return the number of rows.

    `on_rows` is told how many rows were written after each partition (for a progress bar).
    """
    if meta.get("stamp"):
        out.write(f"# {NOT_FOR_PUBLICATION}\n")
    for key, value in meta.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        out.write(f"# {key}: {shown}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(by))
    written = 0
    if isinstance(rows, PublishedRows) and rows.request.by == by and rows.database_writes_lines:
        async for lines in rows.csv_lines():
            if lines:
                out.write("\n".join(lines) + "\n")
            written += len(lines)
            if on_rows is not None:
                on_rows(len(lines))
        return written
    async for partition in _partitions(rows, by, SUPPRESSED):
        # csv writes None as an empty cell: what a missing fact (no actual start, no reason) shows.
        writer.writerows(partition)
        written += len(partition)
        if on_rows is not None:
            on_rows(len(partition))
    return written


async def write_json(
    rows: AsyncIterable[Row],
    out: TextIO,
    meta: dict[str, Any],
    by: str,
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Write `{"metadata": ..., "columns": [...], "rows": [...]}` a partition at a time; suppressed cells as null."""
    names = columns(by)
    out.write('{"metadata": ' + json.dumps(meta) + ', "columns": ' + json.dumps(names) + ', "rows": [\n')
    written = 0
    async for partition in _partitions(rows, by, None):
        if not partition:
            continue
        text = ",\n".join(json.dumps(dict(zip(names, cells, strict=True))) for cells in partition)
        out.write((",\n" if written else "") + text)
        written += len(partition)
        if on_rows is not None:
            on_rows(len(partition))
    out.write("\n]")
    if meta.get("stamp"):
        out.write(', "stamp": ' + json.dumps(NOT_FOR_PUBLICATION))
    out.write("}\n")
    return written


async def _partitions(rows: AsyncIterable[Row], by: str, suppressed: str | None) -> AsyncIterator[Sequence[Cells]]:
    """Return rows as partitions of cells in column order: straight from the database when they are an export's."""
    if isinstance(rows, PublishedRows):
        if rows.request.by != by:
            raise ValueError(f"rows grouped by {rows.request.by} cannot be written as rows by {by}")
        async for partition in rows.partitions(suppressed):
            yield partition
        return
    names = columns(by)
    async for row in rows:
        yield [tuple(_cell(name, row.get(name), suppressed) for name in names)]


def _cell(name: str, value: Any, suppressed: str | None) -> Any:
    if value is None and (name in PEOPLE_COLUMNS or name in AVERAGE_COLUMNS):
        return suppressed
    return value
