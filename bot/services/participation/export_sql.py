"""SQL the participation export compiles and runs per dialect (SQLite, PostgreSQL): text the database writes.

The database writes each CSV line of an export's group rows, so Python handles one string per row instead of some
forty cells: on a year of meetings, building and formatting the cells in Python took longer than the query itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# The dialects that compile every function below; others get the export's cell-by-cell path.
LINE_DIALECTS = ("sqlite", "postgresql")


def _quoted_by_csv() -> str:
    """Return the characters that make csv.writer quote a cell, asked of csv itself (a lone \\r is not always)."""
    chosen = ""
    for char in ',"\r\n':
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([f"a{char}b", "c"])
        if out.getvalue().startswith('"'):
            chosen += char
    return chosen


# A text cell holding any of these is quoted, its quotes doubled, as csv.writer does (QUOTE_MINIMAL).
CSV_QUOTED = _quoted_by_csv()


async def partitions(connection: AsyncConnection, query: Select[Any], size: int) -> AsyncIterator[Sequence[Any]]:
    """Yield a query's rows `size` at a time, as the driver's own tuples on aiosqlite (SQLAlchemy's Rows elsewhere)."""
    if connection.dialect.driver == "aiosqlite":
        # Straight from the driver's cursor: a SQLAlchemy Row for each of a year's 156,000 lines cost 0.1 s of a 1.3 s
        # export. The export's parameters are dates as text and ids, which need no bind processing.
        compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        params = [compiled.params[name] for name in compiled.positiontup or ()]
        driver: Any = (await connection.get_raw_connection()).driver_connection  # aiosqlite.Connection
        cursor = await driver.execute(str(compiled), params)
        try:
            while rows := await cursor.fetchmany(size):
                yield rows
        finally:
            await cursor.close()
        return
    result = await connection.stream(query.execution_options(yield_per=size))
    async for rows in result.partitions():
        yield rows


class CsvLine(FunctionElement[str]):
    """Cells joined by commas, each as its text; NULL as an empty cell (what csv.writer writes for None).

    The cells are not quoted: text that may hold a comma or a quote goes through `CsvText` first.
    """

    type = String()
    name = "csv_line"
    inherit_cache = True


class CsvText(FunctionElement[str]):
    """A text cell as csv.writer writes it: quoted, its quotes doubled, when it holds a comma, quote or line end."""

    type = String()
    name = "csv_text"
    inherit_cache = True


class IsoTimestamp(FunctionElement[str]):
    """A UTC timestamp as text, as `datetime.isoformat()` writes it: 2026-12-01T19:00:00+00:00 (NULL stays NULL).

    Formatted by the database: parsing every timestamp into a datetime only to format it again cost more than the
    query that read it.
    """

    type = String()
    name = "iso_timestamp"
    inherit_cache = True


def _format_string(element: CsvLine, compiler: SQLCompiler) -> str:
    template = ",".join(["%s"] * len(element.clauses))
    if compiler.dialect.paramstyle in ("format", "pyformat"):
        template = template.replace("%", "%%")  # a driver that formats parameters with % would read %s as one
    return f"'{template}'"


@compiles(CsvLine, "sqlite")
def _csv_line_sqlite(element: CsvLine, compiler: SQLCompiler, **kw: Any) -> str:
    # printf, not its alias format(): SQLite has had printf since 3.8.3, format only since 3.38.
    return f"printf({_format_string(element, compiler)}, {compiler.process(element.clauses, **kw)})"


@compiles(CsvLine, "postgresql")
def _csv_line_postgresql(element: CsvLine, compiler: SQLCompiler, **kw: Any) -> str:
    return f"format({_format_string(element, compiler)}, {compiler.process(element.clauses, **kw)})"


def _csv_text(value: str, found: str, char: str) -> str:
    tests = " OR ".join(f"{found}({value}, {char}({ord(c)})) > 0" for c in CSV_QUOTED)
    quote = f"{char}(34)"
    return (
        f"(CASE WHEN {tests} THEN {quote} || replace({value}, {quote}, {quote} || {quote}) || {quote} ELSE {value} END)"
    )


@compiles(CsvText, "sqlite")
def _csv_text_sqlite(element: CsvText, compiler: SQLCompiler, **kw: Any) -> str:
    return _csv_text(compiler.process(element.clauses, **kw), "instr", "char")


@compiles(CsvText, "postgresql")
def _csv_text_postgresql(element: CsvText, compiler: SQLCompiler, **kw: Any) -> str:
    return _csv_text(compiler.process(element.clauses, **kw), "strpos", "chr")


@compiles(IsoTimestamp, "sqlite")
def _iso_timestamp_sqlite(element: IsoTimestamp, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'; isoformat() leaves out a zero fraction.
    value = compiler.process(element.clauses, **kw)
    return f"(replace(replace({value}, ' ', 'T'), '.000000', '') || '+00:00')"


@compiles(IsoTimestamp, "postgresql")
def _iso_timestamp_postgresql(element: IsoTimestamp, compiler: SQLCompiler, **kw: Any) -> str:
    utc = f"({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC')"
    seconds = f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
    return f"({seconds} || replace(to_char({utc}, '.US'), '.000000', '') || '+00:00')"
