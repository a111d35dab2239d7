"""Lay out a poster (A4) or leaflet (A5) as a one-page PDF: fpdf2 for the page, segno for a vector QR code.

The font is DejaVu Sans, shipped in `bot/assets/fonts` (never read from a machine path), so Welsh (ŵ, ŷ, â) and
other accented names print as written and stay searchable in the PDF's text layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from bot.assets import FONTS_DIR

PosterSize = Literal["a4", "a5"]
POSTER_SIZES: tuple[PosterSize, ...] = ("a4", "a5")
FONT = "DejaVu"
# A4 is the reference: the A5 leaflet is the same page scaled by 1/sqrt(2), as the paper is.
_PAGE_MM: dict[PosterSize, tuple[float, float]] = {"a4": (210.0, 297.0), "a5": (148.0, 210.0)}
_ACCENT = (29, 94, 140)
_INK = (33, 33, 33)
_MIN_SCALE = 0.5
_MAX_SCALE = 1.3
# The QR code's quiet zone (in modules) is part of the standard: readers need it to find the code.
_QR_BORDER = 4


@dataclass(frozen=True, slots=True)
class PosterContent:
    """Everything a poster says, already worded."""

    group_name: str
    about: str
    meeting_times: list[str]
    next_dates: list[str]
    online_line: str
    link: str | None
    link_caption: str
    crisis_text: str
    office_contact: str | None = None


def render_pdf(content: PosterContent, size: PosterSize, *, created_at: datetime) -> bytes:
    """Return the poster as a one-page PDF, shrinking the type until everything fits on the page."""
    if size not in _PAGE_MM:
        raise ValueError(f"size must be one of {', '.join(POSTER_SIZES)}")
    # Start large and shrink: a group with one meeting and a short crisis text gets big, readable type.
    scale = _MAX_SCALE
    while True:
        pdf, fits = _draw(content, size, scale, created_at)
        if fits or scale <= _MIN_SCALE:
            return bytes(pdf.output())
        scale = max(_MIN_SCALE, scale * 0.9)


def _new_pdf(size: PosterSize, created_at: datetime) -> FPDF:
    width, height = _PAGE_MM[size]
    pdf = FPDF(orientation="portrait", unit="mm", format=(width, height))
    pdf.set_auto_page_break(auto=False)
    pdf.add_font(FONT, "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_creation_date(created_at.astimezone(UTC))
    pdf.set_creator("SMART Recovery meetings bot")
    pdf.set_lang("en-GB")
    pdf.add_page()
    return pdf


def _draw(content: PosterContent, size: PosterSize, scale: float, created_at: datetime) -> tuple[FPDF, bool]:
    """Draw the page at `scale` (type and QR size); return it and whether it fitted."""
    pdf = _new_pdf(size, created_at)
    width, height = _PAGE_MM[size]
    paper = width / _PAGE_MM["a4"][0]
    margin = 14 * paper
    pdf.set_margins(margin, margin, margin)
    text_width = width - 2 * margin

    def points(a4_points: float) -> float:
        return a4_points * paper * scale

    def block(text: str, a4_points: float, *, bold: bool = False, colour: tuple[int, int, int] = _INK) -> None:
        pdf.set_font(FONT, "B" if bold else "", points(a4_points))
        pdf.set_text_color(*colour)
        line_height = points(a4_points) * 0.3528 * 1.3  # points to mm, with leading
        pdf.multi_cell(text_width, line_height, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(a4_mm: float) -> None:
        pdf.ln(a4_mm * paper * scale)

    pdf.set_fill_color(*_ACCENT)
    pdf.rect(0, 0, width, 6 * paper, style="F")
    pdf.set_y(margin)
    block("SMART Recovery", 16, bold=True, colour=_ACCENT)
    block(content.group_name, 30, bold=True)
    gap(4)
    block(content.about, 13)
    gap(5)
    block("When we meet", 17, bold=True, colour=_ACCENT)
    for line in content.meeting_times or ["Ask us for the next meeting"]:
        block(line, 17, bold=True)
    if content.next_dates:
        gap(3)
        block("The next dates", 12, bold=True)
        pairs = [content.next_dates[index : index + 2] for index in range(0, len(content.next_dates), 2)]
        block("\n".join("      ".join(pair) for pair in pairs), 12)
    gap(4)
    block(content.online_line, 14, bold=True)
    gap(4)
    if content.link is not None:
        _qr(pdf, content.link, side=56 * paper * scale, page_width=width)
        gap(2)
        block(content.link, 14, bold=True, colour=_ACCENT)
    block(content.link_caption, 11)
    gap(5)
    block(content.crisis_text, 10)
    if content.office_contact:
        gap(3)
        block(content.office_contact, 10)
    return pdf, pdf.get_y() <= height - margin / 2


def _qr(pdf: FPDF, link: str, *, side: float, page_width: float) -> None:
    """Draw the link's QR code as vector squares, centred, `side` millimetres wide with its quiet zone."""
    qr = segno.make(link, error="m", micro=False)
    modules = [list(row) for row in qr.matrix]
    count = len(modules) + 2 * _QR_BORDER
    module = side / count
    left = (page_width - side) / 2
    top = pdf.get_y()
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(modules):
        column = 0
        # One rectangle per run of dark modules keeps the page small and the edges crisp.
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            run_start = column
            while column < len(row) and row[column]:
                column += 1
            pdf.rect(
                left + (_QR_BORDER + run_start) * module,
                top + (_QR_BORDER + row_index) * module,
                (column - run_start) * module,
                module,
                style="F",
            )
    pdf.set_y(top + side)
