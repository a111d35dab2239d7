"""Posters and leaflets: rendered to an image, the QR code is read back; the text layer is read back too."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import unicodedata
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from bot.assets import FONTS_DIR
from bot.cli import app
from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.domain.meeting_times_text import SeriesTimes, clock_text, next_dates_text, public_text, series_text, zone_text
from bot.domain.recurrence import ScheduleRule, first_occurrences
from bot.errors import NotFoundError
from bot.services.referral.listing import ListingService
from bot.services.referral.poster import NO_LINK_CAPTION, PosterError, make_poster, pdf_to_png
from bot.settings import load_settings
from tests.fixtures.db import FakeClock
from tests.fixtures.publicity import COORDINATORS_CHANNEL, GUILD, WELSH_NAME, add_route, seed_group

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "images" / "poster-sample.png"
# Wednesday 17 March 2027: UK clocks go forward on Sunday 28 March, between the next two Tuesday meetings.
BEFORE_DST = datetime(2027, 3, 17, 12, 0, tzinfo=UTC)
ROUTE_NAME = "Anytown Alcohol Service"
ROUTE_CODE = "AnyTown42"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="needs pdftoppm and pdftotext from poppler (Debian: apt-get install poppler-utils; .ci/run installs it)",
)


def qr_texts(png: bytes) -> list[str]:
    """Return the text of every QR code found in the image."""
    import zxingcpp

    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def text_layer(pdf: bytes, tmp_path: Path) -> str:
    """Return the PDF's text as poppler extracts it, NFC-normalised, whitespace collapsed."""
    source = tmp_path / "poster.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(["pdftotext", str(source), "-"], capture_output=True, check=True)
    return " ".join(unicodedata.normalize("NFC", result.stdout.decode("utf-8")).split())


async def seeded(database, clock) -> str:
    clock.set(BEFORE_DST)
    await seed_group(database, clock, first=date(2027, 3, 1))
    return await add_route(database, clock, GUILD, ROUTE_NAME, ROUTE_CODE)


@needs_poppler
@pytest.mark.parametrize("size", ["a4", "a5"])
async def test_the_qr_code_reads_back_as_exactly_the_routes_link(database, clock, size):
    link = await seeded(database, clock)
    poster = await make_poster(database, clock, GUILD, group_name=WELSH_NAME, route=ROUTE_NAME.upper(), size=size)
    assert poster.data.startswith(b"%PDF")
    assert poster.link == link
    assert qr_texts(pdf_to_png(poster.data)) == [link]


@needs_poppler
async def test_the_text_layer_has_local_times_across_the_clock_change_and_welsh_accents(database, clock, tmp_path):
    await seeded(database, clock)
    poster = await make_poster(database, clock, GUILD, group_name=WELSH_NAME, route=ROUTE_NAME)
    text = text_layer(poster.data, tmp_path)
    assert "SMART Ynys Môn · Tŷ Ddewi" in text
    assert "Tuesdays, 7pm UK time" in text
    assert "Every other Thursday, 6:30pm UK time" in text
    assert "First Monday of the month, 12 noon UK time" in text
    # The Tuesday before the clocks change and the one after are both at 7pm local time (18:00 UTC after it).
    assert "Tue 23 Mar, 7pm" in text
    assert "Tue 30 Mar, 7pm" in text
    assert "6pm" not in text and "8pm" not in text
    assert "Online and free. Cameras are optional" in text
    assert f"https://discord.gg/{ROUTE_CODE}" in text
    assert "Samaritans free on 116 123" in text and "Llinell Gymorth" in text
    # The crisis text's channel mention is left out: it would print a channel id and means nothing on paper.
    assert str(COORDINATORS_CHANNEL) not in text


@needs_poppler
async def test_the_office_contact_is_printed_when_set(database, clock, tmp_path):
    await seeded(database, clock)
    contact = "SMART Recovery Cymru: 029 2000 0000, cymru@example.org"
    poster = await make_poster(database, clock, GUILD, route=ROUTE_NAME, office_contact=contact, size="a5")
    assert contact in text_layer(poster.data, tmp_path)


@needs_poppler
async def test_without_a_route_the_listing_link_or_no_qr_code(database, clock, tmp_path):
    await seeded(database, clock)
    bare = await make_poster(database, clock, GUILD)
    assert bare.link is None
    assert qr_texts(pdf_to_png(bare.data)) == []
    assert NO_LINK_CAPTION in text_layer(bare.data, tmp_path)
    await ListingService(database, clock).list_group(
        GUILD, public_name=WELSH_NAME, join_url="https://discord.gg/Join99"
    )
    listed = await make_poster(database, clock, GUILD)
    assert qr_texts(pdf_to_png(listed.data)) == ["https://discord.gg/Join99"]
    assert WELSH_NAME in text_layer(listed.data, tmp_path)
    assert listed.filename == "smart-ynys-mon-ty-ddewi-poster.pdf"


async def test_an_unknown_or_retired_route_and_a_bad_size_are_refused(database, clock):
    await seeded(database, clock)
    await add_route(database, clock, GUILD, "Old Clinic", "OldOne1", retired=True)
    with pytest.raises(NotFoundError, match="no referral route called “Old Clinic”"):
        await make_poster(database, clock, GUILD, route="Old Clinic")
    with pytest.raises(PosterError, match=r"a4 \(poster\) or a5"):
        await make_poster(database, clock, GUILD, size="a3")
    with pytest.raises(PosterError, match="pdf or png"):
        await make_poster(database, clock, GUILD, file_format="svg")


async def test_png_without_pdftoppm_says_what_to_install(database, clock, monkeypatch):
    await seeded(database, clock)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(PosterError, match="poppler-utils"):
        await make_poster(database, clock, GUILD, file_format="png")


@needs_poppler
def test_python_m_bot_poster_writes_a_png_leaflet(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"

    async def fill() -> None:
        database = Database(url)
        await upgrade(database)
        await seeded(database, FakeClock())
        await database.dispose()

    asyncio.run(fill())
    out = tmp_path / "leaflet.png"
    args = ["poster", "--guild", str(GUILD), "--route", ROUTE_NAME, "--format", "png", "--size", "a5"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)], obj=load_settings(database_url=url, _env_file=None))
    assert result.exit_code == 0, result.output
    assert qr_texts(out.read_bytes()) == [f"https://discord.gg/{ROUTE_CODE}"]
    width, height = Image.open(out).size
    assert height > width  # portrait
    bad = CliRunner().invoke(
        app,
        ["poster", "--guild", str(GUILD), "--route", "Nowhere", "--out", str(tmp_path / "x.pdf")],
        obj=load_settings(database_url=url, _env_file=None),
    )
    assert bad.exit_code == 2
    assert "no referral route called" in bad.output
    assert not (tmp_path / "x.pdf").exists()


@needs_poppler
async def test_the_sample_poster_in_docs_is_a_readable_poster(database, clock):
    """Check docs/images/poster-sample.png; `UPDATE_POSTER_SAMPLE=1` remakes it from this test's group."""
    link = await seeded(database, clock)
    if os.environ.get("UPDATE_POSTER_SAMPLE") == "1":
        contact = "SMART Recovery central office: office@example.org"
        poster = await make_poster(
            database, clock, GUILD, group_name=WELSH_NAME, route=ROUTE_NAME, office_contact=contact
        )
        SAMPLE.write_bytes(pdf_to_png(poster.data, dpi=100))
    assert qr_texts(SAMPLE.read_bytes()) == [link]


def test_the_fonts_ship_with_the_package_and_cover_welsh():
    from fontTools.ttLib import TTFont

    assert (FONTS_DIR / "LICENSE").read_text().count("Bitstream") >= 2
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        cmap = TTFont(FONTS_DIR / name).getBestCmap()
        assert all(ord(letter) in cmap for letter in "ŵŷâêîôûŴŶÂáéïëàè")
    assert '"bot.assets" = ["fonts/*.ttf", "fonts/LICENSE"]' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("rrule", "start", "expected"),
    [
        (
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;BYHOUR=19;BYMINUTE=0;BYSECOND=0",
            "2027-03-02T19:00",
            "Tuesdays, 7pm UK time",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=18;BYMINUTE=30;BYSECOND=0",
            "2027-03-04T18:30",
            "Every other Thursday, 6:30pm UK time",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
            "2027-03-06T10:00",
            "Every 3 weeks on Saturday, 10am UK time",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=1TU;BYHOUR=19;BYMINUTE=0;BYSECOND=0",
            "2027-03-02T19:00",
            "First Tuesday of the month, 7pm UK time",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=-1FR;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
            "2027-03-26T00:00",
            "Last Friday of the month, 12 midnight UK time",
        ),
        (None, "2027-03-02T12:00", "Tuesday 2 Mar, 12 noon UK time"),
    ],
)
def test_series_are_worded_as_people_say_them(rrule, start, expected):
    assert series_text(SeriesTimes(rrule, datetime.fromisoformat(start), "Europe/London")) == expected


def test_next_dates_are_read_in_the_groups_zone_across_a_clock_change():
    rule = ScheduleRule(
        "FREQ=WEEKLY;INTERVAL=1;BYDAY=SU;BYHOUR=1;BYMINUTE=30;BYSECOND=0", "Europe/London", datetime(2027, 3, 21, 1, 30)
    )
    # 01:30 does not exist on 28 March (clocks jump from 01:00 to 02:00): the meeting is held at 02:30 that night.
    assert next_dates_text(first_occurrences(rule, 3), "Europe/London") == [
        "Sun 21 Mar, 1:30am",
        "Sun 28 Mar, 2:30am",
        "Sun 4 Apr, 1:30am",
    ]
    assert zone_text("America/New_York") == "New York time"
    assert zone_text("Europe/Dublin") == "Irish time"
    assert clock_text(time(9, 5)) == "9:05am"


def test_public_text_drops_mentions_and_markdown():
    assert public_text("**Call** <@123> or <@&456> in <#789>  now") == "Call or in now"
