"""Pick lists: meetings, series and duties named by title and local time, filtered by what someone types.

Slash-command options that take a meeting, a series or a duty offer these as autocomplete choices, so nobody has to
copy an id by hand. Each pick carries the words it can be found by (title, weekday, date, time, id); every word the
person typed must start one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.recurrence import WEEKDAY_NAMES
from bot.domain.when import MONTH_NAMES

# Discord's limits for autocomplete: at most 25 choices, each name 1-100 characters.
MAX_PICKS = 25
MAX_NAME = 100
SEPARATOR = " · "
ELLIPSIS = "…"

# A clock time (`19:00`, `7:30pm`, `7pm`) is one word, so that `20:00` does not find a meeting in 2026.
_WORD = re.compile(r"\d{1,2}:\d{2}(?:am|pm)?|\d+(?:am|pm)|\w+")


@dataclass(frozen=True, slots=True)
class Pick:
    """One choice: the value the command receives, the name shown, and the words it is found by."""

    value: int | str
    name: str
    words: frozenset[str]


def words_of(text: str) -> list[str]:
    """Return the lower-case words, numbers and clock times of `text`."""
    return _WORD.findall(text.casefold())


def when_text(starts_at: datetime, zone: ZoneInfo, today: date) -> str:
    """Return a start as the group's wall time, e.g. `Tue 8 Dec, 19:00` (with the year when it is not this one)."""
    local = starts_at.astimezone(zone)
    year = f" {local.year}" if local.year != today.year else ""
    return f"{WEEKDAY_NAMES[local.weekday()][:3]} {local.day} {MONTH_NAMES[local.month - 1][:3]}{year}, {local:%H:%M}"


def when_words(starts_at: datetime, zone: ZoneInfo, today: date) -> set[str]:
    """Return the words a start can be found by: weekday, date in several forms, 24- and 12-hour time."""
    local = starts_at.astimezone(zone)
    hour12 = local.hour % 12 or 12
    half = "am" if local.hour < 12 else "pm"
    forms = [
        WEEKDAY_NAMES[local.weekday()],
        MONTH_NAMES[local.month - 1],
        local.date().isoformat(),
        f"{local.day:02d}/{local.month:02d}",
        f"{local:%H:%M}",
        f"{hour12}{half}",
        f"{hour12}:{local:%M}{half}",
        half,
    ]
    if local.date() == today:
        forms.append("today")
    elif local.date() == today + timedelta(days=1):
        forms.append("tomorrow")
    return {word for form in forms for word in words_of(form)}


def make_pick(value: int | str, title: str, details: Iterable[str], words: Iterable[str] = ()) -> Pick:
    """Return a pick named `title · detail · ...`, shortening the title (never the details) to fit Discord's limit."""
    tail = "".join(SEPARATOR + detail for detail in details)
    room = MAX_NAME - len(tail)
    shown = " ".join(title.split())
    if len(shown) > room:
        shown = shown[: max(room - len(ELLIPSIS), 1)].rstrip() + ELLIPSIS
    name = (shown + tail)[:MAX_NAME]
    found_by = set(words_of(title)) | set(words_of(tail)) | set(words)
    if isinstance(value, int):
        found_by.add(str(value))
    return Pick(value=value, name=name, words=frozenset(found_by))


def matches(pick: Pick, typed: str) -> bool:
    """Return whether every word typed starts one of the pick's words (nothing typed matches everything)."""
    return all(any(word.startswith(part) for word in pick.words) for part in words_of(typed))


def choose(picks: Iterable[Pick], typed: str, limit: int = MAX_PICKS) -> list[Pick]:
    """Return the picks matching what was typed, in their order, a pasted id first; at most `limit`."""
    typed = typed.strip()
    found = [pick for pick in picks if matches(pick, typed)]
    # Someone who pasted an id from an older message should see that meeting first, however many others match.
    found.sort(key=lambda pick: str(pick.value) != typed)
    return found[: min(limit, MAX_PICKS)]
