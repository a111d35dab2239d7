"""Make a group's printable poster (A4) or leaflet (A5): its meetings, a QR code of a referral link, the crisis line.

Without a route, the QR code carries the public listing's join link when the group has one, and is left out
otherwise: a link to a channel only opens for people already in the server, so it would be no use on paper.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.clock import Clock
from bot.db.engine import Database
from bot.domain.meeting_times_text import public_text, series_text
from bot.errors import InvalidInputError
from bot.services.guild_config import GuildConfigService
from bot.services.referral.feed import ABOUT_SMART, next_dates_lines, public_series
from bot.services.referral.listing import ListingService, slug_of
from bot.services.referral.poster_layout import POSTER_SIZES, PosterContent, PosterSize, render_pdf
from bot.services.referral.routes import route_by_name

log = logging.getLogger(__name__)

PosterFormat = Literal["pdf", "png"]
NEXT_DATES = {"a4": 6, "a5": 4}
ONLINE_LINE = "Online and free. Cameras are optional: you can just listen."
LINK_CAPTION = "Scan the code or type the link to join our Discord server, then come to any meeting."
NO_LINK_CAPTION = "Ask whoever gave you this for the link to our Discord server."
DEFAULT_GROUP_NAME = "Online meetings"
PNG_DPI = 150
PDFTOPPM_TIMEOUT_SECONDS = 60


class PosterError(InvalidInputError):
    """A poster cannot be made as asked; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class Poster:
    """A made poster: its bytes and the file name to offer."""

    data: bytes
    filename: str
    link: str | None


async def make_poster(
    database: Database,
    clock: Clock,
    guild_id: int,
    *,
    group_name: str | None = None,
    route: str | None = None,
    size: str = "a4",
    file_format: str = "pdf",
    office_contact: str | None = None,
) -> Poster:
    """Return the group's poster or leaflet; the group name falls back to its public listing's, then a plain one."""
    checked_size = _checked_size(size)
    if file_format not in ("pdf", "png"):
        raise PosterError(f"The format must be pdf or png, not {file_format!r}.")
    settings = await GuildConfigService(database, clock).get(guild_id)
    listing = await ListingService(database, clock).get(guild_id)
    if route is not None:
        chosen = await route_by_name(database, guild_id, route)
        link: str | None = chosen.url
    else:
        link = listing.join_url if listing is not None and listing.listed else None
    name = group_name or (listing.public_name if listing is not None else None) or DEFAULT_GROUP_NAME
    series = await public_series(database, guild_id)
    content = PosterContent(
        group_name=public_text(name),
        about=ABOUT_SMART,
        meeting_times=[series_text(one.times) for one in series],
        next_dates=next_dates_lines(series, clock.now(), NEXT_DATES[checked_size]),
        online_line=ONLINE_LINE,
        link=link,
        link_caption=LINK_CAPTION if link is not None else NO_LINK_CAPTION,
        crisis_text=public_text(settings.crisis_resources),
        office_contact=public_text(office_contact) if office_contact else None,
    )
    # Laying out and subsetting the font takes the best part of a second: off the event loop, so the bot stays live.
    pdf = await asyncio.to_thread(render_pdf, content, checked_size, created_at=clock.now())
    kind = "poster" if checked_size == "a4" else "leaflet"
    stem = f"{slug_of(name)}-{slug_of(route)}-{kind}" if route else f"{slug_of(name)}-{kind}"
    if file_format == "png":
        return Poster(await asyncio.to_thread(pdf_to_png, pdf), f"{stem}.png", link)
    return Poster(pdf, f"{stem}.pdf", link)


def pdf_to_png(pdf: bytes, *, dpi: int = PNG_DPI) -> bytes:
    """Return the PDF's first page as a PNG, rendered by poppler's `pdftoppm`."""
    program = shutil.which("pdftoppm")
    if program is None:
        raise PosterError(
            "Making a PNG needs pdftoppm from poppler (Debian/Ubuntu: apt-get install poppler-utils). "
            "The PDF needs nothing extra: use --format pdf."
        )
    # pdftoppm reads a file and writes <root>.png beside it: a private temporary folder holds both.
    with tempfile.TemporaryDirectory(prefix="poster-") as folder:
        source = Path(folder) / "poster.pdf"
        source.write_bytes(pdf)
        root = Path(folder) / "poster"
        result = subprocess.run(  # noqa: S603 - a fixed program found on PATH, arguments of our own
            [program, "-png", "-r", str(dpi), "-singlefile", str(source), str(root)],
            capture_output=True,
            timeout=PDFTOPPM_TIMEOUT_SECONDS,
            check=False,
        )
        image = root.with_suffix(".png")
        if result.returncode != 0 or not image.is_file():
            log.error("pdftoppm failed (exit %d): %s", result.returncode, result.stderr.decode(errors="replace")[:500])
            raise PosterError("pdftoppm could not render the poster as a PNG; the PDF still works: use --format pdf.")
        return image.read_bytes()


def _checked_size(size: str) -> PosterSize:
    for known in POSTER_SIZES:
        if size == known:
            return known
    raise PosterError(f"The size must be a4 (poster) or a5 (leaflet), not {size!r}.")
