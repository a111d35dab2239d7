"""Times and dates as people type them (7pm, 19:00, 1 Dec, next Tuesday), read as local wall times."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from dateutil import parser as dateutil_parser

from bot.domain.recurrence import RecurrenceError, WEEKDAY_NAMES, parse_zone

# dateutil.parser supplies the English vocabulary (month and weekday names, am/pm) but not the grammar: its parse()
# silently reads `01/12` as 12 January, reads `1930` as a year, accepts `13pm` and `0am`, and ignores a weekday that
# disagrees with the date (`Mon 1 Dec` when 1 Dec is a Tuesday). Each of those must be refused here with a message
# saying what was meant, so the grammar below is small, explicit and table-tested instead. (dateparser would read
# more languages but takes seconds to import and guesses even more.)

TIME_FORMS = "7pm, 7:30pm, 19:00 or 1930"
DATE_FORMS = "1 Dec, Tue 1 Dec, tomorrow, next Tuesday or 2026-12-01"
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# How many years away a date without a year may land: 29 Feb is at most eight years away (1896 -> 1904).
_YEARS_AHEAD = 8
_MAX_ECHO = 40
_HOUR_MINUTE_RE = re.compile(r"(?P<hour>[0-9]{1,2})(?:[:.](?P<minute>[0-9]{2}))?")
_FOUR_DIGITS_RE = re.compile(r"(?P<hour>[0-9]{2})(?P<minute>[0-9]{2})")
_AMPM_RE = re.compile(r"(?P<clock>.*?)\s*(?P<half>a\.?m\.?|p\.?m\.?)", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})")
_NUMERIC_DATE_RE = re.compile(
    r"(?P<first>[0-9]{1,2})(?P<sep>[/.])(?P<second>[0-9]{1,2})(?:(?P=sep)(?P<year>[0-9]{4}))?"
)
_WORD_RE = re.compile(r"[a-z]+|[0-9]+(?:st|nd|rd|th)?")
_ORDINAL_RE = re.compile(r"(?P<number>[0-9]{1,2})(?:st|nd|rd|th)?")


# Weekday abbreviations people type that dateutil's English vocabulary lacks.
_MORE_WEEKDAYS = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
_VOCABULARY = dateutil_parser.parserinfo()


def today_in(now: datetime, zone_name: str | None) -> date:
    """Return the date it is at the instant `now` in the IANA zone `zone_name` (UTC when the group has none)."""
    return now.astimezone(parse_zone(zone_name or "UTC")).date()


def parse_time(text: str) -> time:
    """Return the local time of day in `text`: 7pm, 7 pm, 7:30pm, 7.30 p.m., 19:00, 19.00, 1930, noon or midnight.

    With am/pm the hour is 1 to 12 (12am is midnight, 12pm is noon); without it the clock has 24 hours, 00:00 to
    23:59. Seconds are not taken: meetings start on a minute.
    """
    cleaned = " ".join(text.split()).lower()
    if cleaned in ("noon", "midday"):
        return time(12)
    if cleaned == "midnight":
        return time(0)
    ampm = _AMPM_RE.fullmatch(cleaned)
    if ampm is not None:
        return _twelve_hour(text, ampm["clock"], _VOCABULARY.ampm(ampm["half"].replace(".", "")[0]) == 1)
    four = _FOUR_DIGITS_RE.fullmatch(cleaned)
    clock = four or _HOUR_MINUTE_RE.fullmatch(cleaned)
    # A bare number ("7") could be a time or a date: asking beats guessing which hour of the day was meant.
    if clock is None or (four is None and clock["minute"] is None):
        raise RecurrenceError(f"Time {_echo(text)} isn't understood. Write it like {TIME_FORMS}.")
    hour, minute = int(clock["hour"]), int(clock["minute"])
    if hour == 24 and minute == 0:
        raise RecurrenceError("24:00 isn't a time of day: for midnight write 00:00 or midnight.")
    if hour > 23 or minute > 59:
        raise RecurrenceError(
            f"Time {_echo(text)} isn't a time of day: the 24-hour clock runs from 00:00 to 23:59. "
            f"Write it like {TIME_FORMS}."
        )
    return time(hour, minute)


def _twelve_hour(text: str, clock_text: str, afternoon: bool) -> time:
    """Return the time for a 12-hour clock reading such as 7 or 7:30 followed by am (or pm when `afternoon`)."""
    clock = _HOUR_MINUTE_RE.fullmatch(clock_text)
    if clock is None:
        raise RecurrenceError(f"Time {_echo(text)} isn't understood. Write it like {TIME_FORMS}.")
    hour, minute = int(clock["hour"]), int(clock["minute"] or 0)
    half = "pm" if afternoon else "am"
    if hour > 12:
        raise RecurrenceError(
            f"Time {_echo(text)} mixes the 24-hour clock with {half}: write {hour:02d}:{minute:02d} without {half}, "
            "or an hour from 1 to 12 with it."
        )
    if hour == 0:
        raise RecurrenceError(
            f"Time {_echo(text)} has no hour 0 with {half}: write 12{half} or {'12:00' if afternoon else '00:00'}."
        )
    if minute > 59:
        raise RecurrenceError(f"Time {_echo(text)} has more than 59 minutes. Write it like {TIME_FORMS}.")
    return time(hour % 12 + (12 if afternoon else 0), minute)


def parse_date(text: str, *, today: date, past: bool = False) -> date:
    """Return the date in `text`, with `today` the current date in the group's time zone.

    Accepted: 2026-12-01; today, tomorrow and yesterday; a weekday (Tuesday or Tue, also "this Tuesday": the next
    one on or after today; "next Tuesday": the first one after today); a day and month in words (1 Dec, Dec 1, 1st
    December, Tue 1 Dec), with an optional year (1 Dec 2026); and numbers with slashes or dots, day first (25/12,
    25/12/2026), refused when the day and month could be swapped (01/12). A weekday or a date without a year is the
    next such date on or after today, or with `past` (a date something happened) the last one on or before today.
    """
    cleaned = " ".join(text.replace(",", " ").split()).lower()
    if not cleaned:
        raise RecurrenceError(f"Give a date, e.g. {DATE_FORMS}.")
    iso = _ISO_DATE_RE.fullmatch(cleaned)
    if iso is not None:
        return _calendar_date(text, int(iso["year"]), int(iso["month"]), int(iso["day"]))
    numeric = _NUMERIC_DATE_RE.fullmatch(cleaned)
    if numeric is not None:
        return _numeric_date(text, numeric, today, past)
    relative = _relative_date(cleaned, today, past)
    if relative is not None:
        return relative
    return _worded_date(text, cleaned, today, past)


def _relative_date(cleaned: str, today: date, past: bool) -> date | None:
    """Return the date for today, tomorrow, yesterday, "Tuesday" or "next Tuesday"; None for anything else."""
    if cleaned == "today":
        return today
    if cleaned == "tomorrow":
        return today + timedelta(days=1)
    if cleaned == "yesterday":
        return today - timedelta(days=1)
    words = cleaned.split()
    strictly_after = False
    if len(words) == 2 and words[0] in ("next", "this"):
        strictly_after = words[0] == "next"
        words = words[1:]
    if len(words) != 1:
        return None
    weekday = _weekday(words[0])
    if weekday is None:
        return None
    if past and not strictly_after:
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    days_ahead = (weekday - today.weekday()) % 7
    if strictly_after and days_ahead == 0:
        days_ahead = 7
    return today + timedelta(days=days_ahead)


def _numeric_date(text: str, match: re.Match[str], today: date, past: bool) -> date:
    """Return a day-first numeric date (25/12, 25.12.2026), refusing one whose day and month could be swapped."""
    first, second = int(match["first"]), int(match["second"])
    year = int(match["year"]) if match["year"] else None
    if first <= 12 and second <= 12 and first != second:
        day_first = _resolve_year(text, first, second, year, today, past)
        raise RecurrenceError(
            f"`{match.group(0)}` could be {first} {MONTH_NAMES[second - 1]} or {second} {MONTH_NAMES[first - 1]}: "
            f"write it as `{first} {MONTH_NAMES[second - 1][:3]}` or `{day_first.isoformat()}`."
        )
    # Whichever number is above 12 can only be the day, so 12/25 and 25/12 both mean 25 December.
    day, month = (first, second) if first > 12 or first == second else (second, first)
    return _resolve_year(text, day, month, year, today, past)


def _worded_date(text: str, cleaned: str, today: date, past: bool) -> date:
    """Return a date written with a month name: 1 Dec, Dec 1st, Tue 1 December 2026."""
    weekday: int | None = None
    month: int | None = None
    day: int | None = None
    year: int | None = None
    for word in _WORD_RE.findall(cleaned):
        ordinal = _ORDINAL_RE.fullmatch(word)
        if weekday is None and month is None and day is None and _weekday(word) is not None:
            weekday = _weekday(word)
        elif word.isalpha() and month is None and _VOCABULARY.month(word) is not None:
            month = _VOCABULARY.month(word)
        elif ordinal is not None and day is None:
            day = int(ordinal["number"])
        elif word.isdigit() and len(word) == 4 and year is None and month is not None and day is not None:
            year = int(word)
        else:
            month = None
            break
    # Anything left over (letters the pattern skipped, a second month) means the text was something else.
    if month is None or day is None or "".join(_WORD_RE.findall(cleaned)) != cleaned.replace(" ", ""):
        raise RecurrenceError(f"Date {_echo(text)} isn't understood. Write it like {DATE_FORMS}.")
    found = _resolve_year(text, day, month, year, today, past)
    if weekday is not None and found.weekday() != weekday:
        raise RecurrenceError(
            f"{found.day} {MONTH_NAMES[found.month - 1]} {found.year} is a {WEEKDAY_NAMES[found.weekday()]}, "
            f"not a {WEEKDAY_NAMES[weekday]}. Check the date."
        )
    return found


def _resolve_year(text: str, day: int, month: int, year: int | None, today: date, past: bool) -> date:
    """Return day/month in `year`, or without one the next such date on or after `today` (`past`: on or before)."""
    if not 1 <= month <= 12:
        raise RecurrenceError(f"Date {_echo(text)} has no month {month}. Write it like {DATE_FORMS}.")
    if year is not None:
        return _calendar_date(text, year, month, day)
    step = -1 if past else 1
    for candidate_year in range(today.year, today.year + step * (_YEARS_AHEAD + 1), step):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if (candidate <= today) if past else (candidate >= today):
            return candidate
    raise RecurrenceError(f"{MONTH_NAMES[month - 1]} has no day {day}. Write it like {DATE_FORMS}.")


def _calendar_date(text: str, year: int, month: int, day: int) -> date:
    """Return the date, or say which part of it does not exist."""
    if year < 1:
        raise RecurrenceError(f"Date {_echo(text)} has no year {year}. Write it like {DATE_FORMS}.")
    if not 1 <= month <= 12:
        raise RecurrenceError(f"Date {_echo(text)} has no month {month}. Write it like {DATE_FORMS}.")
    try:
        return date(year, month, day)
    except ValueError:
        raise RecurrenceError(
            f"Date {_echo(text)} doesn't exist: {MONTH_NAMES[month - 1]} {year} has no day {day}."
        ) from None


def _weekday(word: str) -> int | None:
    """Return the weekday (0 = Monday) a word names, e.g. tue, Tues or Tuesday; None if it names none."""
    return _MORE_WEEKDAYS.get(word.lower(), _VOCABULARY.weekday(word))


def _echo(value: str) -> str:
    """Return user input quoted for an error message, shortened so the message stays small."""
    shown = value.strip()
    shown = shown if len(shown) <= _MAX_ECHO else shown[: _MAX_ECHO - 1] + "…"
    return repr(shown)
