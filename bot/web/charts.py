"""The group page's charts: small SVG drawn on the server (no script, no matplotlib in the page's path).

Each chart is an <img> with alt text and the same figures in a table beside it. A suppressed count (None) is a gap
in a line and no bar, never its value. The report's PNGs (matplotlib, like `python -m bot report`) are shown as they
are written.

Written here rather than with matplotlib (the project's chart library), because matplotlib does not fit a page drawn
on every request. Measured 2026-12-07 on this machine (2 CPUs, loaded), for the same two twelve-month charts as SVG:
matplotlib took 230-250 ms a request (Figure, constrained layout, savefig as SVG) plus 0.5 s to import, and raised
the process's peak memory by about 70 MB; these two functions take 0.2 ms. On the national benchmark (docs/
BENCHMARKS.md section 6) the group page went from 414 ms to 86 ms and the web process's peak from 171 to 124 MB when
they replaced matplotlib. A chart is a dozen points and five bars a month, so a line, circles and rectangles suffice.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bot.services.participation.report import MISSED_PARTS

# Colours with at least 3:1 contrast against white, told apart by the legend's words too.
COLOURS = ("#1f5fa8", "#b35900", "#2e7d32", "#8e24aa", "#c62828")
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 40, 64


def _scale(values: Sequence[float]) -> float:
    """Return a round top for the value axis."""
    top = max([value for value in values if not math.isnan(value)] + [1.0])
    step = 10 ** math.floor(math.log10(top))
    return float(math.ceil(top / step) * step)


def _frame(labels: Sequence[str], top: float, legend: Sequence[tuple[str, str]], unit: str) -> list[str]:
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
        ),
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + inner_h - inner_h * tick / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    slot = inner_w / max(len(labels), 1)
    for index, label in enumerate(labels):
        x = LEFT + slot * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="end" '
            f'transform="rotate(-40 {x:.1f} {HEIGHT - BOTTOM + 14})">{escape(label)}</text>'
        )
    parts.append(f'<text x="12" y="{TOP - 12}">{escape(unit)}</text>')
    x = LEFT + 80
    for name, colour in legend:
        parts.append(f'<rect x="{x}" y="{TOP - 22}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{TOP - 12}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return parts


def _uri(parts: list[str]) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(("".join(parts) + "</svg>").encode()).decode()


def _values(cells: Sequence[Any]) -> list[float]:
    return [math.nan if cell is None else float(cell) for cell in cells]


def attendance_chart(months: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Return attendances, new and returning members per month as a line chart (data URI)."""
    labels = [label for label, _row in months]
    series = [
        (name, colour, _values([row.get(key) for _label, row in months]))
        for (key, name), colour in zip(
            (("attendees", "Attendances"), ("new_attendees", "New"), ("returning_attendees", "Returning")),
            COLOURS,
            strict=False,
        )
    ]
    top = _scale([value for _name, _colour, values in series for value in values])
    parts = _frame(labels, top, [(name, colour) for name, colour, _values in series], "People (published)")
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / max(len(labels), 1)
    for _name, colour, values in series:
        points: list[str] = []
        for index, value in enumerate(values):
            if math.isnan(value):
                # A suppressed month breaks the line rather than drawing its value.
                if len(points) > 1:
                    parts.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
                    )
                points = []
                continue
            x, y = LEFT + slot * (index + 0.5), TOP + inner_h - inner_h * value / top
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        if len(points) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
    return _uri(parts)


def meetings_chart(months: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Return meetings held and missed (by reason) per month as stacked bars (data URI)."""
    labels = [label for label, _row in months]
    kinds = [("meetings_held", "Held"), *MISSED_PARTS]
    totals = [sum(float(row.get(key) or 0) for key, _name in kinds) for _label, row in months]
    top = _scale(totals)
    legend = [(name, colour) for (_key, name), colour in zip(kinds, COLOURS, strict=True)]
    parts = _frame(labels, top, legend, "Meetings")
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / max(len(labels), 1)
    for index, (_label, row) in enumerate(months):
        base = 0.0
        for (key, _name), colour in zip(kinds, COLOURS, strict=True):
            value = float(row.get(key) or 0)
            if value:
                height = inner_h * value / top
                y = TOP + inner_h - inner_h * (base + value) / top
                x = LEFT + slot * index + slot * 0.15
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" fill="{colour}"/>'
                )
            base += value
    return _uri(parts)


def png_uri(path: Path) -> str:
    """Return a PNG file (a report chart) as a data URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
