"""The central office's report: PNG charts and a `summary.md` that embeds them, from the protected export rows.

Every figure drawn here comes out of `ParticipationExport.rows`, so the charts are under exactly the same disclosure
control as the exports: a suppressed count is drawn as a gap (lines) or an empty bar marked "*", never as its value.
Charts use matplotlib's object API with the Agg canvas (no pyplot, no display, no global state).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TYPE_CHECKING

from bot.db.engine import Database
from bot.domain.disclosure import NOT_FOR_PUBLICATION, SUPPRESSED
from bot.services.participation_export import (
    ExportRequest,
    ParticipationExport,
    Row,
    SCOPE_ALL,
    SCOPE_TOTAL,
)
from bot.services.participation_feedback import FEEDBACK_QUESTIONS, column_of

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


@dataclass(frozen=True)
class Report:
    """What a report wrote, plus the headline figures a Discord message can quote."""

    directory: Path
    summary: Path
    charts: tuple[Path, ...]
    total: Row
    groups: tuple[Row, ...]


@dataclass
class _Data:
    weeks: list[str]
    attendance: dict[str, dict[str, Any]]  # group -> week -> published attendees
    all_groups: dict[str, Row]  # week -> "all groups" row
    per_group: dict[str, dict[str, int]]  # group -> meeting counts summed over the weeks
    total: Row


async def build_report(database: Database, request: ExportRequest, out_dir: Path, generated_at: datetime) -> Report:
    """Write the charts and `summary.md` into `out_dir` (created if needed) and return what was written."""
    data = await _collect(ParticipationExport(database), replace(request, by="week"))
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = await asyncio.to_thread(_draw_all, data, request, out_dir)
    summary = out_dir / SUMMARY
    summary.write_text(_summary(data, request, generated_at), encoding="utf-8")
    groups = tuple({"guild_id": group, **counts} for group, counts in sorted(data.per_group.items()))
    log.info("Wrote a participation report with %d chart(s).", len(charts))
    return Report(out_dir, summary, tuple(charts), data.total, groups)


async def _collect(export: ParticipationExport, request: ExportRequest) -> _Data:
    data = _Data(weeks=[], attendance={}, all_groups={}, per_group={}, total={})
    async for row in export.rows(request):
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
    return data


# --- charts ----------------------------------------------------------------------------------------


def _draw_all(data: _Data, request: ExportRequest, out_dir: Path) -> list[Path]:
    drawn = [
        _save(_attendance_chart(data), request, out_dir / CHART_FILES["attendance"], "Attendance per week"),
        _save(_new_returning_chart(data), request, out_dir / CHART_FILES["new_returning"], "New and returning"),
        _save(_meetings_chart(data), request, out_dir / CHART_FILES["meetings"], "Meetings held and missed"),
        _save(_feedback_chart(data), request, out_dir / CHART_FILES["feedback"], "Feedback"),
    ]
    return drawn


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
    figure.savefig(path, format="png", metadata={"Title": title, "Description": rule})
    return path


def _values(cells: Sequence[Any]) -> list[float]:
    """Return plottable values: a suppressed cell becomes NaN, which matplotlib leaves as a gap."""
    return [math.nan if cell is None else float(cell) for cell in cells]


def _attendance_chart(data: _Data) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    positions = list(range(len(data.weeks)))
    if len(data.attendance) <= MAX_GROUP_LINES:
        for group, weeks in sorted(data.attendance.items()):
            axes.plot(
                positions, _values([weeks.get(week, 0) for week in data.weeks]), marker="o", label=f"Group {group}"
            )
    totals = [data.all_groups[week]["attendees"] if week in data.all_groups else 0 for week in data.weeks]
    axes.plot(positions, _values(totals), color="black", linewidth=2.5, label="All groups")
    _week_axis(axes, data.weeks)
    axes.set_ylabel("Attendances")
    axes.legend(fontsize=8)
    _empty_note(axes, not data.weeks)
    return figure


def _new_returning_chart(data: _Data) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    positions = list(range(len(data.weeks)))
    bottom = [0.0] * len(data.weeks)
    for name, label in (
        ("new_attendees", "New"),
        ("returning_attendees", "Returning"),
        ("unlinked_attendees", "Unlinked (opted out)"),
    ):
        cells = [data.all_groups.get(week, {}).get(name) for week in data.weeks]
        heights = [0.0 if cell is None else float(cell) for cell in cells]
        axes.bar(positions, heights, bottom=bottom, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _week_axis(axes, data.weeks)
    axes.set_ylabel("Attendances, all groups")
    axes.legend(fontsize=8)
    _empty_note(axes, not data.weeks)
    return figure


def _meetings_chart(data: _Data) -> Figure:
    groups = sorted(data.per_group)
    figure = _figure(height=max(3.0, 0.45 * len(groups) + 1.8))
    axes = figure.add_subplot()
    positions = list(range(len(groups)))
    left = [0.0] * len(groups)
    for name, label in (("meetings_held", "Held"), *MISSED_PARTS):
        widths = [float(data.per_group[group].get(name, 0)) for group in groups]
        axes.barh(positions, widths, left=left, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(positions, [f"Group {group}" for group in groups], fontsize=8)
    axes.set_xlabel("Meetings")
    axes.legend(fontsize=8)
    _empty_note(axes, not groups)
    return figure


def _feedback_chart(data: _Data) -> Figure:
    figure = _figure(width=11.0, height=7.0)
    grid = figure.subplots(2, 2)
    for axes, question in zip(grid.flat, FEEDBACK_QUESTIONS, strict=True):
        labels = [label for _value, label in question.options]
        cells = [data.total.get(column_of(question.key, value)) for value, _label in question.options]
        heights = [0.0 if cell is None else float(cell) for cell in cells]
        positions = list(range(len(labels)))
        axes.barh(positions, heights, color="tab:blue")
        for position, cell in zip(positions, cells, strict=True):
            if cell is None:
                axes.text(0, position, f" {SUPPRESSED}", va="center")
        axes.set_yticks(positions, labels, fontsize=8)
        axes.invert_yaxis()
        axes.set_title(question.label, fontsize=9)
        axes.set_xlabel("Answers, all groups", fontsize=8)
    return figure


def _week_axis(axes: Axes, weeks: list[str]) -> None:
    step = max(1, len(weeks) // 12)
    axes.set_xticks(list(range(0, len(weeks), step)), weeks[::step], rotation=45, ha="right", fontsize=8)


def _empty_note(axes: Axes, empty: bool) -> None:
    if empty:
        axes.text(0.5, 0.5, "No meetings in this period", ha="center", va="center", transform=axes.transAxes)


# --- summary.md ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return SUPPRESSED
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _summary(data: _Data, request: ExportRequest, generated_at: datetime) -> str:
    policy = request.policy
    total = data.total
    groups = ", ".join(str(guild) for guild in request.guild_ids) or "all groups"
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
            "totals and may differ from the sum of the figures above them."
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
        "| " + " | ".join(_cell(total.get(name)) for _label, name in headline) + " |",
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
    for group, counts in sorted(data.per_group.items()):
        missed = " | ".join(str(counts.get(name, 0)) for name, _label in MISSED_PARTS)
        lines.append(f"| {group} | {counts.get('meetings', 0)} | {counts.get('meetings_held', 0)} | {missed} |")
    lines += [
        "",
        "## Feedback",
        "",
        f"![Feedback answers, all groups]({CHART_FILES['feedback']})",
        "",
        "Each answer counts once per meeting: a member who comes every week answers every week.",
        "",
        "Column definitions: docs/DATA_DICTIONARY.md. What is recorded and why: docs/PRIVACY.md.",
    ]
    if policy.exact:
        lines += ["", f"**{NOT_FOR_PUBLICATION}**"]
    return "\n".join(lines) + "\n"


__all__ = ["CHART_FILES", "SUMMARY", "Report", "build_report"]
