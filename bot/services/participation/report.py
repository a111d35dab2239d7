"""The central office's report: PNG charts and a `summary.md` that embeds them, from the protected export rows.

Every figure drawn here comes out of `ParticipationExport.rows`, so the charts are under exactly the same disclosure
control as the exports: a suppressed count is drawn as a gap (lines) or an empty bar marked "*", never as its value.
A total across groups of 1 to threshold-1 people (which the rounding would show as 0 or 5) is shown as "fewer than 8"
instead: the exact totals are read only to tell that case from a true 0, and never printed. Groups are named by the
label their coordinators set, else their server's name. A chart with nothing to draw says "no data".
Charts use matplotlib's object API with the Agg canvas (no pyplot, no display, no global state).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TYPE_CHECKING

from bot.db.engine import Database
from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION, SUPPRESSED
from bot.services.participation.common import group_display_name, group_names
from bot.services.participation.export import (
    ExportRequest,
    PEOPLE_COLUMNS,
    ParticipationExport,
    Row,
    SCOPE_ALL,
    SCOPE_TOTAL,
)
from bot.services.participation.feedback import FEEDBACK_QUESTIONS, REFERRAL_QUESTION, column_of
from bot.services.referral.counts import summary_lines as referral_summary_lines

if TYPE_CHECKING:
    # Imported where the charts are drawn: matplotlib takes a second to import and the bot rarely needs it.
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

SUMMARY = "summary.md"
CHART_FILES = {
    "attendance": "attendance_per_week.png",
    "new_returning": "new_vs_returning.png",
    "meetings": "meetings_held_missed.png",
    "feedback": "feedback.png",
}
# Beyond this many groups the weekly chart shows the all-groups line only; the table lists every group.
MAX_GROUP_LINES = 12
MISSED_PARTS = (
    ("missed_no_facilitator", "Missed: no facilitator"),
    ("missed_bot_down", "Missed: bot down"),
    ("missed_cancelled", "Missed: cancelled"),
    ("missed_other", "Missed: other"),
)
DPI = 100
PNG_OPTIONS = {"compress_level": 1}
NO_DATA = "no data"
REFERRAL_TITLE = "How newcomers first heard about SMART"


def fewer_than(policy: DisclosurePolicy) -> str:
    """Return how a small total across groups is shown: "fewer than 8"."""
    return f"fewer than {policy.threshold}"


@dataclass(frozen=True)
class Report:
    """What a report wrote, plus the headline figures a Discord message can quote."""

    directory: Path
    summary: Path
    charts: tuple[Path, ...]
    total: Row
    groups: tuple[Row, ...]
    # Total-row columns whose true value is 1 to threshold-1: shown as "fewer than 8", never as their rounding.
    small_totals: frozenset[str] = frozenset()
    policy: DisclosurePolicy = field(default_factory=DisclosurePolicy)

    def figure(self, name: str) -> str:
        """Return a total as the report shows it: "*" when suppressed, "fewer than 8" when small, else the value."""
        if name in self.small_totals:
            return fewer_than(self.policy)
        return _cell(self.total.get(name))


@dataclass
class ReportData:
    """What the charts and the summary are drawn from: protected rows, and which totals are small."""

    policy: DisclosurePolicy
    weeks: list[str]
    attendance: dict[str, dict[str, Any]]  # group -> week -> published attendees
    all_groups: dict[str, Row]  # week -> "all groups" row
    per_group: dict[str, dict[str, int]]  # group -> meeting counts summed over the weeks
    total: Row
    names: dict[str, str]  # group -> how the report names it
    small_weeks: dict[str, frozenset[str]]  # week -> "all groups" columns with 1 to threshold-1 people
    small_total: frozenset[str]  # total-row columns with 1 to threshold-1 people

    def name(self, group: str) -> str:
        """Return the group's name in the report."""
        return self.names.get(group) or f"Group {group}"


async def build_report(database: Database, request: ExportRequest, out_dir: Path, generated_at: datetime) -> Report:
    """Write the charts and `summary.md` into `out_dir` (created if needed) and return what was written."""
    data = await collect(database, request)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = await asyncio.to_thread(_draw_all, data, request, out_dir)
    summary = out_dir / SUMMARY
    # Joins through each group's referral links, under the same disclosure control (bot/services/referral/counts.py).
    referrals = await referral_summary_lines(database, request.start, request.end, request.guild_ids, request.policy)
    summary.write_text(_summary(data, request, generated_at, referrals), encoding="utf-8")
    groups = tuple(
        {"guild_id": group, "name": data.name(group), **counts} for group, counts in sorted(data.per_group.items())
    )
    log.info("Wrote a participation report with %d chart(s).", len(charts))
    return Report(out_dir, summary, tuple(charts), data.total, groups, data.small_total, request.policy)


async def collect(database: Database, request: ExportRequest) -> ReportData:
    """Read the protected weekly rows of a request, the groups' names, and which totals are small."""
    weekly = replace(request, by="week")
    export = ParticipationExport(database)
    data = ReportData(request.policy, [], {}, {}, {}, {}, {}, {}, frozenset())
    async for row in export.rows(weekly):
        if row["scope"] == SCOPE_TOTAL:
            data.total = row
            continue
        week = str(row["bucket"])
        if not data.weeks or data.weeks[-1] != week:
            data.weeks.append(week)
        if row["scope"] == SCOPE_ALL:
            data.all_groups[week] = row
            continue
        group = str(row["guild_id"])
        data.attendance.setdefault(group, {})[week] = row["attendees"]
        counts = data.per_group.setdefault(group, {})
        for name in ("meetings", "meetings_held", *(name for name, _label in MISSED_PARTS)):
            counts[name] = counts.get(name, 0) + int(row[name] or 0)
    if not request.policy.exact:
        # Rounding shows a total of 1 or 2 people as 0: only the exact totals tell that from nobody. They are read
        # here to say "fewer than 8" and go no further.
        exact = replace(weekly, policy=DisclosurePolicy(exact=True))
        async for row in export.rows(exact):
            if row["scope"] == SCOPE_TOTAL:
                data.small_total = _small(row, request.policy)
            elif row["scope"] == SCOPE_ALL:
                data.small_weeks[str(row["bucket"])] = _small(row, request.policy)
    async with database.session() as session:
        named = await group_names(session, [int(group) for group in data.per_group])
    data.names = {
        group: named.get(int(group)) or group_display_name(int(group), None, None) for group in data.per_group
    }
    return data


def _small(row: Row, policy: DisclosurePolicy) -> frozenset[str]:
    return frozenset(name for name in PEOPLE_COLUMNS if 0 < int(row.get(name) or 0) < policy.threshold)


# --- charts ----------------------------------------------------------------------------------------


def _draw_all(data: ReportData, request: ExportRequest, out_dir: Path) -> list[Path]:
    titles = {
        "attendance": "Attendance per week",
        "new_returning": "New and returning",
        "meetings": "Meetings held and missed",
        "feedback": "Feedback",
    }
    return [
        _save(figure, request, out_dir / CHART_FILES[key], titles[key]) for key, figure in draw_charts(data).items()
    ]


def draw_charts(data: ReportData) -> dict[str, Figure]:
    """Return the report's four figures, by the keys of CHART_FILES."""
    return {
        "attendance": _attendance_chart(data),
        "new_returning": _new_returning_chart(data),
        "meetings": _meetings_chart(data),
        "feedback": _feedback_chart(data),
    }


def _figure(width: float = 9.0, height: float = 4.8) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(figure: Figure, request: ExportRequest, path: Path, title: str) -> Path:
    policy = request.policy
    rule = (
        f"{NOT_FOR_PUBLICATION}: exact figures"
        if policy.exact
        else f"counts 1-{policy.threshold - 1} hidden (*), others rounded to {policy.rounding}"
    )
    figure.suptitle(f"{title} · {request.start.isoformat()} to {request.end.isoformat()} · {rule}", fontsize=10)
    if policy.exact:
        figure.text(
            0.5, 0.5, NOT_FOR_PUBLICATION, fontsize=40, color="red", alpha=0.25, ha="center", va="center", rotation=20
        )
    # The quickest zlib level: a chart's PNG comes out about a sixth larger (240 KB against 210 KB, far under Discord's
    # attachment limit) and is drawn and written about a fifth sooner (190 ms against 230 ms per chart).
    figure.savefig(path, format="png", metadata={"Title": title, "Description": rule}, pil_kwargs=PNG_OPTIONS)
    return path


def _values(cells: Sequence[Any]) -> list[float]:
    """Return plottable values: a suppressed cell becomes NaN, which matplotlib leaves as a gap."""
    return [math.nan if cell is None else float(cell) for cell in cells]


def _plain(text: str) -> str:
    """Return a name as matplotlib should print it: a "$" would otherwise start mathematical notation."""
    return text.replace("$", r"\$")


def _small_marker(data: ReportData) -> str:
    return f"<{data.policy.threshold}"


def _attendance_chart(data: ReportData) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    positions = list(range(len(data.weeks)))
    values: list[float] = []
    if len(data.attendance) <= MAX_GROUP_LINES:
        for group, weeks in sorted(data.attendance.items(), key=lambda item: data.name(item[0]).casefold()):
            line = _values([weeks.get(week, 0) for week in data.weeks])
            values += line
            axes.plot(positions, line, marker="o", label=_plain(data.name(group)))
    small = [week for week in data.weeks if "attendees" in data.small_weeks.get(week, ())]
    # A week whose total is small is a gap in the line, marked "<8", never drawn as its rounding (0 or 5).
    totals = _values(
        [
            None if week in small else data.all_groups[week]["attendees"] if week in data.all_groups else 0
            for week in data.weeks
        ]
    )
    values += totals
    axes.plot(positions, totals, color="black", linewidth=2.5, label="All groups")
    for position, week in enumerate(data.weeks):
        if week in small:
            axes.annotate(_small_marker(data), (position, 0), ha="center", va="bottom", fontsize=8)
    _week_axis(axes, data.weeks)
    axes.set_ylabel("Attendances")
    axes.legend(fontsize=8)
    _no_data(axes, not _drawn(values) and not small)
    return figure


def _new_returning_chart(data: ReportData) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    positions = list(range(len(data.weeks)))
    bottom = [0.0] * len(data.weeks)
    marked = False
    for name, label in (
        ("new_attendees", "New"),
        ("returning_attendees", "Returning"),
        ("unlinked_attendees", "Unlinked (opted out)"),
    ):
        cells = [
            None if name in data.small_weeks.get(week, ()) else data.all_groups.get(week, {}).get(name)
            for week in data.weeks
        ]
        heights = [0.0 if cell is None else float(cell) for cell in cells]
        axes.bar(positions, heights, bottom=bottom, label=label)
        for position, week in enumerate(data.weeks):
            if name in data.small_weeks.get(week, ()):
                axes.annotate(f"{label}: {_small_marker(data)}", (position, bottom[position]), ha="center", fontsize=7)
                marked = True
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _week_axis(axes, data.weeks)
    axes.set_ylabel("Attendances, all groups")
    axes.legend(fontsize=8)
    _no_data(axes, not _drawn(bottom) and not marked)
    return figure


def _meetings_chart(data: ReportData) -> Figure:
    groups = sorted(data.per_group, key=lambda group: data.name(group).casefold())
    figure = _figure(height=max(3.0, 0.45 * len(groups) + 1.8))
    axes = figure.add_subplot()
    positions = list(range(len(groups)))
    left = [0.0] * len(groups)
    for name, label in (("meetings_held", "Held"), *MISSED_PARTS):
        widths = [float(data.per_group[group].get(name, 0)) for group in groups]
        axes.barh(positions, widths, left=left, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(positions, [_plain(data.name(group)) for group in groups], fontsize=8)
    axes.set_xlabel("Meetings")
    axes.legend(fontsize=8)
    _no_data(axes, not _drawn(left), "x")
    return figure


def _feedback_chart(data: ReportData) -> Figure:
    figure = _figure(width=11.0, height=7.0)
    grid = figure.subplots(2, 2)
    for axes, question in zip(grid.flat, FEEDBACK_QUESTIONS, strict=True):
        labels = [label for _value, label in question.options]
        names = [column_of(question.key, value) for value, _label in question.options]
        cells = [None if name in data.small_total else data.total.get(name) for name in names]
        heights = [0.0 if cell is None else float(cell) for cell in cells]
        positions = list(range(len(labels)))
        axes.barh(positions, heights, color="tab:blue")
        marked = False
        for position, name, cell in zip(positions, names, cells, strict=True):
            if name in data.small_total:
                axes.text(0, position, f" {_small_marker(data)}", va="center")
                marked = True
            elif cell is None:
                axes.text(0, position, f" {SUPPRESSED}", va="center")
                marked = True
        axes.set_yticks(positions, labels, fontsize=8)
        axes.invert_yaxis()
        referral = question.key == REFERRAL_QUESTION
        axes.set_title(f"{REFERRAL_TITLE} (asked once)" if referral else question.label, fontsize=9)
        axes.set_xlabel("Newcomers' answers, all groups" if referral else "Answers, all groups", fontsize=8)
        _no_data(axes, not _drawn(heights) and not marked, "x")
    return figure


def _drawn(values: Sequence[float]) -> bool:
    """Return whether any value would show on a chart (a positive number; NaN and 0 draw nothing)."""
    return any(value > 0 for value in values if not math.isnan(value))


def _week_axis(axes: Axes, weeks: list[str]) -> None:
    step = max(1, len(weeks) // 12)
    axes.set_xticks(list(range(0, len(weeks), step)), weeks[::step], rotation=45, ha="right", fontsize=8)


def _no_data(axes: Axes, empty: bool, value_axis: str = "y") -> None:
    """Say "no data" on an axes with nothing to draw, instead of an empty scale around 0 (-0.04 to 0.04)."""
    if not empty:
        return
    axes.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=14, color="grey", transform=axes.transAxes)
    # A scale with nothing on it means nothing: pin it to 0..1 and leave its numbers out.
    if value_axis == "x":
        axes.set_xlim(0, 1)
        axes.set_xticks([])
    else:
        axes.set_ylim(0, 1)
        axes.set_yticks([])


# --- summary.md ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return SUPPRESSED
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _total_cell(data: ReportData, name: str) -> str:
    """Return a total-row figure for the summary: "fewer than 8" when it is small but not 0."""
    return fewer_than(data.policy) if name in data.small_total else _cell(data.total.get(name))


def _md(text: str) -> str:
    """Return a name safe in a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _summary(data: ReportData, request: ExportRequest, generated_at: datetime, referrals: Sequence[str] = ()) -> str:
    policy = request.policy
    groups = ", ".join(_md(data.name(str(guild))) for guild in request.guild_ids) or "all groups"
    lines = [f"# {NOT_FOR_PUBLICATION}", ""] if policy.exact else []
    lines += [
        "# Participation report",
        "",
        f"- Period: {request.start.isoformat()} to {request.end.isoformat()} (meetings' local dates)",
        f"- Groups: {groups}",
        f"- Generated: {generated_at.isoformat()}",
    ]
    if policy.exact:
        lines.append(f"- Disclosure control: **off** (`--exact`). **{NOT_FOR_PUBLICATION}.**")
    else:
        lines.append(
            f"- Disclosure control: counts of people from 1 to {policy.threshold - 1} are shown as `{SUPPRESSED}`, "
            f"others are rounded to the nearest {policy.rounding}; averages over fewer than "
            f"{policy.min_people_for_averages} answers are shown as `{SUPPRESSED}`. Totals are the rounded true "
            "totals and may differ from the sum of the figures above them; a total of 1 to "
            f'{policy.threshold - 1} people is shown as "{fewer_than(policy)}".'
        )
    headline = (
        ("Meetings", "meetings"),
        ("Held", "meetings_held"),
        ("Attendances", "attendees"),
        ("New", "new_attendees"),
        ("Returning", "returning_attendees"),
        ("Unlinked", "unlinked_attendees"),
        ("Check-ins", "checkins"),
        ("Feedback answers", "feedback_answers"),
        ("Mean helpfulness (1-5)", "helpful_mean"),
    )
    lines += [
        "",
        "## All groups",
        "",
        "| " + " | ".join(label for label, _name in headline) + " |",
        "|" + "---|" * len(headline),
        "| " + " | ".join(_total_cell(data, name) for _label, name in headline) + " |",
        "",
        "## Attendance per week",
        "",
        f"![Attendance per week, per group and for all groups]({CHART_FILES['attendance']})",
        "",
        "## New and returning members",
        "",
        f"![New, returning and unlinked attendances per week, all groups]({CHART_FILES['new_returning']})",
        "",
        "## Meetings held and missed",
        "",
        f"![Meetings held and missed per group]({CHART_FILES['meetings']})",
        "",
        "| Group | Meetings | Held | " + " | ".join(label for _name, label in MISSED_PARTS) + " |",
        "|" + "---|" * (3 + len(MISSED_PARTS)),
    ]
    for group, counts in sorted(data.per_group.items(), key=lambda item: data.name(item[0]).casefold()):
        missed = " | ".join(str(counts.get(name, 0)) for name, _label in MISSED_PARTS)
        name = _md(data.name(group))
        lines.append(f"| {name} | {counts.get('meetings', 0)} | {counts.get('meetings_held', 0)} | {missed} |")
    referral = next(question for question in FEEDBACK_QUESTIONS if question.key == REFERRAL_QUESTION)
    lines += [
        "",
        "## Feedback",
        "",
        f"![Feedback answers, all groups]({CHART_FILES['feedback']})",
        "",
        "Each answer counts once per meeting: a member who comes every week may answer every week.",
        "",
        f"## {REFERRAL_TITLE}",
        "",
        (
            "Asked only of members counted as new at a meeting (their first in the group in the evaluation period), "
            "so each newcomer answers at most once a period and regulars are not counted again."
        ),
        "",
        "| Source | Newcomers |",
        "|---|---|",
        *(f"| {label} | {_total_cell(data, column_of(referral.key, value))} |" for value, label in referral.options),
        *referrals,
        "",
        "Column definitions: docs/DATA_DICTIONARY.md. What is recorded and why: docs/PRIVACY.md.",
    ]
    if policy.exact:
        lines += ["", f"**{NOT_FOR_PUBLICATION}**"]
    return "\n".join(lines) + "\n"


__all__ = [
    "CHART_FILES",
    "NO_DATA",
    "SUMMARY",
    "Report",
    "ReportData",
    "build_report",
    "collect",
    "draw_charts",
    "fewer_than",
]
