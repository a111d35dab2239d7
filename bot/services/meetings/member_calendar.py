"""`/meeting calendar`: the group's meetings as an .ics file a member adds to their own calendar."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.clock import Clock
from bot.db.engine import Database
from bot.services.meetings.calendar import guild_calendar

FALLBACK_NAME = "smart"
# Discord shows long file names cut short; a group's name is at most 100 characters anyway.
MAX_STEM = 60


@dataclass(frozen=True, slots=True)
class CalendarFile:
    """An .ics file ready to attach: its name and its bytes."""

    filename: str
    data: bytes


def calendar_filename(group_name: str) -> str:
    """Return `<group-name>-meetings.ics` in plain lower-case ASCII (calendar apps and phones choke on the rest)."""
    ascii_name = unicodedata.normalize("NFKD", group_name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:MAX_STEM].rstrip("-")
    return f"{stem or FALLBACK_NAME}-meetings.ics"


async def group_calendar_file(database: Database, clock: Clock, guild_id: int, group_name: str) -> CalendarFile:
    """Return the group's meetings as the CLI's `ics` export builds them, named after the group.

    It is the same for every member who asks: nothing about who asked goes into it or anywhere else.
    """
    data = await guild_calendar(database, clock, guild_id, name=f"{group_name} meetings")
    return CalendarFile(filename=calendar_filename(group_name), data=data)
