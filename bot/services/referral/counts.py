"""Joins through referral routes per group, route and month: protected like every count, for exports and reports.

A row is a group's route (by name: a route retired and made again under the same name continues its row) in one
month it existed in. Its `joins` is a count of people, so it is published under the same disclosure control as the
participation export (bot/domain/disclosure.py): 1 to threshold-1 suppressed, the rest rounded; the "all groups" row
of each month and the final "total" row are the rounded true totals, never suppressed and never the sum of the
published cells. docs/DATA_DICTIONARY.md defines the columns.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, TextIO

from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models_referral import ReferralCount, ReferralRoute
from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION, SUPPRESSED, protect_count, protect_total
from bot.domain.referral import month_of, months_between
from bot.services.participation.common import group_display_name, group_names

SCHEMA_VERSION = 1
SCOPE_GROUP = "group"
SCOPE_ALL = "all groups"
SCOPE_TOTAL = "total"
COLUMNS = ("scope", "guild_id", "route", "month", "joins")


@dataclass(frozen=True)
class ReferralRow:
    """One published row: a group's route in a month, all groups in a month, or the period's total."""

    scope: str
    guild_id: int | None
    route: str | None
    month: str | None
    # None: suppressed (1 to threshold-1 people).
    joins: int | None

    def cells(self, suppressed: str | None) -> list[Any]:
        """Return the row's cells in column order, a suppressed count as `suppressed`."""
        joins: Any = suppressed if self.joins is None else self.joins
        return [self.scope, self.guild_id, self.route, self.month, joins]


async def referral_counts(
    database: Database,
    start: date,
    end: date,
    guild_ids: Iterable[int] = (),
    *,
    exact: bool = False,
    policy: DisclosurePolicy | None = None,
) -> list[ReferralRow]:
    """Return joins per group, route and month from `start`'s month to `end`'s, protected unless `exact`.

    Group rows come first, by group, route and month; then an "all groups" row per month and a "total" row. This is
    the one function exports, reports and the office's dashboard read referral counts through.
    """
    policy = policy or DisclosurePolicy(exact=exact)
    if exact and not policy.exact:
        policy = DisclosurePolicy(policy.threshold, policy.rounding, policy.min_people_for_averages, exact=True)
    true = await _true_counts(database, start, end, tuple(guild_ids))
    months = months_between(start, end)
    rows: list[ReferralRow] = []
    per_month: dict[str, int] = defaultdict(int)
    for (guild_id, route, month), joins in sorted(
        true.items(), key=lambda item: (item[0][0], item[0][1].casefold(), item[0][2])
    ):
        rows.append(ReferralRow(SCOPE_GROUP, guild_id, route, month, protect_count(joins, policy)))
        per_month[month] += joins
    for month in months:
        rows.append(ReferralRow(SCOPE_ALL, None, None, month, protect_total(per_month.get(month, 0), policy)))
    rows.append(ReferralRow(SCOPE_TOTAL, None, None, None, protect_total(sum(per_month.values()), policy)))
    return rows


async def _true_counts(
    database: Database, start: date, end: date, guild_ids: Sequence[int]
) -> dict[tuple[int, str, str], int]:
    """Return the exact joins per (group, route name, month) for every month each route existed in the range."""
    months = months_between(start, end)
    first, last = months[0], months[-1]
    async with database.session() as session:
        query = select(ReferralRoute)
        if guild_ids:
            query = query.where(ReferralRoute.guild_id.in_(list(guild_ids)))
        routes = (await session.scalars(query)).all()
        counts = (
            await session.execute(
                select(ReferralCount.route_id, ReferralCount.month, ReferralCount.joins).where(
                    ReferralCount.route_id.in_([route.id for route in routes]),
                    ReferralCount.month >= first,
                    ReferralCount.month <= last,
                )
            )
        ).all()
    by_id = {route.id: route for route in routes}
    true: dict[tuple[int, str, str], int] = {}
    for route in routes:
        # A month the route existed in shows, even with no joins: "this route brought nobody" is worth knowing.
        born = month_of(route.created_at)
        gone = month_of(route.retired_at) if route.retired_at else last
        for month in months:
            if born <= month <= gone:
                true.setdefault((route.guild_id, route.name, month), 0)
    for route_id, month, joins in counts:
        route = by_id[route_id]
        key = (route.guild_id, route.name, month)
        true[key] = true.get(key, 0) + int(joins)
    return true


def metadata(
    start: date, end: date, guild_ids: Sequence[int], policy: DisclosurePolicy, now: datetime
) -> dict[str, Any]:
    """Return what a referral export carries: schema, period, groups, the disclosure policy and notes."""
    meta: dict[str, Any] = {
        "export": "referrals",
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.astimezone(UTC).isoformat(),
        "from": month_of(start),
        "to": month_of(end),
        "groups": list(guild_ids) or "all",
        "disclosure_control": policy.as_metadata(),
        "protected_columns": ["joins"],
        "suppressed_cell": "null in JSON, * in CSV",
        "notes": (
            "People who joined a group's Discord server through each referral route's invite, per month (UTC) of the "
            "read that saw them. Joins from 1 to threshold-1 are suppressed and the rest rounded; the 'all groups' "
            "and 'total' rows are the rounded true totals and may differ from the sum of the rows above them. "
            "Nothing identifies who joined. See docs/DATA_DICTIONARY.md."
        ),
    }
    if policy.exact:
        meta = {"stamp": NOT_FOR_PUBLICATION, **meta}
        meta["notes"] = f"{NOT_FOR_PUBLICATION}: exact figures, no disclosure control. Do not share or publish."
    return meta


def write_csv(rows: Sequence[ReferralRow], out: TextIO, meta: dict[str, Any]) -> int:
    """Write `#` metadata lines, a header and the rows (suppressed as `*`); return the number of rows."""
    if meta.get("stamp"):
        out.write(f"# {NOT_FOR_PUBLICATION}\n")
    for key, value in meta.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        out.write(f"# {key}: {shown}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.cells(SUPPRESSED) for row in rows)
    return len(rows)


def write_json(rows: Sequence[ReferralRow], out: TextIO, meta: dict[str, Any]) -> int:
    """Write `{"metadata", "columns", "rows"}` (suppressed as null); return the number of rows."""
    document: dict[str, Any] = {"metadata": meta, "columns": list(COLUMNS), "rows": [asdict(row) for row in rows]}
    if meta.get("stamp"):
        document["stamp"] = NOT_FOR_PUBLICATION
    json.dump(document, out, indent=1)
    out.write("\n")
    return len(rows)


async def summary_lines(
    database: Database, start: date, end: date, guild_ids: Sequence[int], policy: DisclosurePolicy
) -> list[str]:
    """Return the report's "Referral routes" section: joins per group, route and month, as published."""
    rows = await referral_counts(database, start, end, guild_ids, policy=policy)
    groups = sorted({row.guild_id for row in rows if row.guild_id is not None})
    async with database.session() as session:
        named = await group_names(session, groups)
    lines = [
        "",
        "## Referral routes",
        "",
        (
            "People who joined a group's server through each of its referral links (agencies, leaflets), per month. "
            "Counted from the invites' use counts: nobody who joined is recorded."
        ),
        "",
    ]
    group_rows = [row for row in rows if row.scope == SCOPE_GROUP]
    if not group_rows:
        return [*lines, "No referral routes in this period."]
    lines += ["| Group | Route | Month | Joins |", "|---|---|---|---|"]
    for row in group_rows:
        assert row.guild_id is not None  # noqa: S101 - group rows name their group
        name = named.get(row.guild_id) or group_display_name(row.guild_id, None, None)
        lines.append(f"| {_md(name)} | {_md(row.route or '')} | {row.month} | {_cell(row.joins)} |")
    # Rounding shows a total of 1 or 2 people as 0: only the exact totals tell that from nobody. They are read here to
    # say "fewer than 8" and go no further (as the participation report does).
    exact = {
        (row.scope, row.month): row.joins
        for row in await referral_counts(database, start, end, guild_ids, exact=True)
        if row.scope != SCOPE_GROUP
    }
    for row in rows:
        if row.scope == SCOPE_GROUP:
            continue
        true = exact.get((row.scope, row.month)) or 0
        shown = (
            f"fewer than {policy.threshold}" if not policy.exact and 0 < true < policy.threshold else _cell(row.joins)
        )
        label = "| **All groups** | |" if row.scope == SCOPE_ALL else "| **Total** | |"
        lines.append(f"{label} {row.month or ''} | {shown} |")
    return lines


def _cell(value: int | None) -> str:
    return SUPPRESSED if value is None else str(value)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
