"""Times and dates as people type them: every accepted form and its value, every refused form and its message."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.domain.recurrence import RecurrenceError
from bot.domain.when import parse_date, parse_time, today_in
from bot.errors import InvalidInputError

# Monday 30 November 2026, the day the end-to-end tests start on.
TODAY = date(2026, 11, 30)
TIME_HINT = "Write it like 7pm, 7:30pm, 19:00 or 1930."
DATE_HINT = "Write it like 1 Dec, Tue 1 Dec, tomorrow, next Tuesday or 2026-12-01."

ACCEPTED_TIMES = [
    ("7pm", time(19)),
    ("7 pm", time(19)),
    ("7PM", time(19)),
    ("7p.m.", time(19)),
    ("7 p.m.", time(19)),
    ("7:30pm", time(19, 30)),
    ("7:30 pm", time(19, 30)),
    ("7.30pm", time(19, 30)),
    ("07:30 PM", time(19, 30)),
    ("9am", time(9)),
    ("9:15 a.m.", time(9, 15)),
    ("12am", time(0)),
    ("12:30am", time(0, 30)),
    ("12pm", time(12)),
    ("12:45pm", time(12, 45)),
    ("11:59pm", time(23, 59)),
    ("19:00", time(19)),
    ("7:05", time(7, 5)),
    ("07:05", time(7, 5)),
    ("19.00", time(19)),
    ("00:00", time(0)),
    ("23:59", time(23, 59)),
    ("1930", time(19, 30)),
    ("0730", time(7, 30)),
    ("0000", time(0)),
    ("noon", time(12)),
    ("Midday", time(12)),
    ("midnight", time(0)),
    ("  19:00  ", time(19)),
]

REFUSED_TIMES = [
    ("", f"Time '' isn't understood. {TIME_HINT}"),
    ("7", f"Time '7' isn't understood. {TIME_HINT}"),
    ("19", f"Time '19' isn't understood. {TIME_HINT}"),
    ("730", f"Time '730' isn't understood. {TIME_HINT}"),
    ("19:00:00", f"Time '19:00:00' isn't understood. {TIME_HINT}"),
    ("7:5pm", f"Time '7:5pm' isn't understood. {TIME_HINT}"),
    ("pm", f"Time 'pm' isn't understood. {TIME_HINT}"),
    ("seven pm", f"Time 'seven pm' isn't understood. {TIME_HINT}"),
    ("-1:00", f"Time '-1:00' isn't understood. {TIME_HINT}"),
    ("\uff11\uff19:\uff10\uff10", f"Time '\uff11\uff19:\uff10\uff10' isn't understood. {TIME_HINT}"),
    ("١٩:٣٠", f"Time '١٩:٣٠' isn't understood. {TIME_HINT}"),
    ("24:00", "24:00 isn't a time of day: for midnight write 00:00 or midnight."),
    ("2400", "24:00 isn't a time of day: for midnight write 00:00 or midnight."),
    ("25:00", f"Time '25:00' isn't a time of day: the 24-hour clock runs from 00:00 to 23:59. {TIME_HINT}"),
    ("19:60", f"Time '19:60' isn't a time of day: the 24-hour clock runs from 00:00 to 23:59. {TIME_HINT}"),
    ("13pm", "Time '13pm' mixes the 24-hour clock with pm: write 13:00 without pm, or an hour from 1 to 12 with it."),
    (
        "19:30 pm",
        "Time '19:30 pm' mixes the 24-hour clock with pm: write 19:30 without pm, or an hour from 1 to 12 with it.",
    ),
    ("0am", "Time '0am' has no hour 0 with am: write 12am or 00:00."),
    ("0pm", "Time '0pm' has no hour 0 with pm: write 12pm or 12:00."),
    ("7:60pm", f"Time '7:60pm' has more than 59 minutes. {TIME_HINT}"),
]

ACCEPTED_DATES = [
    ("2026-12-01", date(2026, 12, 1)),
    ("2026-3-9", date(2026, 3, 9)),  # a past date with its year is taken as written: callers judge it
    ("today", TODAY),
    ("Tomorrow", date(2026, 12, 1)),
    ("yesterday", date(2026, 11, 29)),
    ("Tuesday", date(2026, 12, 1)),
    ("tue", date(2026, 12, 1)),
    ("Tues", date(2026, 12, 1)),
    ("this Tuesday", date(2026, 12, 1)),
    ("next Tuesday", date(2026, 12, 1)),
    ("Monday", TODAY),  # today is a Monday: the next one on or after today
    ("next Monday", date(2026, 12, 7)),  # "next" is never today
    ("thurs", date(2026, 12, 3)),
    ("1 Dec", date(2026, 12, 1)),
    ("1 December", date(2026, 12, 1)),
    ("1st Dec", date(2026, 12, 1)),
    ("Dec 1", date(2026, 12, 1)),
    ("December 1st", date(2026, 12, 1)),
    ("Tue 1 Dec", date(2026, 12, 1)),
    ("Tuesday, 1 December", date(2026, 12, 1)),
    ("Tue, Dec 1", date(2026, 12, 1)),
    ("1 Dec 2027", date(2027, 12, 1)),
    ("Dec 1, 2027", date(2027, 12, 1)),
    ("Wed 1 Dec 2027", date(2027, 12, 1)),
    ("30 Nov", TODAY),  # today itself
    ("29 Nov", date(2027, 11, 29)),  # passed this year: the next one
    ("3 Jan", date(2027, 1, 3)),
    ("1 sept", date(2027, 9, 1)),
    ("29 Feb", date(2028, 2, 29)),  # the next leap day
    ("25/12", date(2026, 12, 25)),
    ("12/25", date(2026, 12, 25)),  # only 25 can be the day
    ("25.12.2027", date(2027, 12, 25)),
    ("5/5", date(2027, 5, 5)),  # the same either way round
    ("12/12/2026", date(2026, 12, 12)),
]

REFUSED_DATES = [
    ("", "Give a date, e.g. 1 Dec, Tue 1 Dec, tomorrow, next Tuesday or 2026-12-01."),
    ("01/12", "`01/12` could be 1 December or 12 January: write it as `1 Dec` or `2026-12-01`."),
    ("1/12", "`1/12` could be 1 December or 12 January: write it as `1 Dec` or `2026-12-01`."),
    ("3/4", "`3/4` could be 3 April or 4 March: write it as `3 Apr` or `2027-04-03`."),
    ("01/12/2027", "`01/12/2027` could be 1 December or 12 January: write it as `1 Dec` or `2027-12-01`."),
    ("12.01", "`12.01` could be 12 January or 1 December: write it as `12 Jan` or `2027-01-12`."),
    ("Mon 1 Dec", "1 December 2026 is a Tuesday, not a Monday. Check the date."),
    ("Friday 1 December 2027", "1 December 2027 is a Wednesday, not a Friday. Check the date."),
    ("31 Feb", f"February has no day 31. {DATE_HINT}"),
    ("0 Dec", f"December has no day 0. {DATE_HINT}"),
    ("2026-02-30", "Date '2026-02-30' doesn't exist: February 2026 has no day 30."),
    ("2026-13-01", f"Date '2026-13-01' has no month 13. {DATE_HINT}"),
    ("0000-01-01", f"Date '0000-01-01' has no year 0. {DATE_HINT}"),
    ("13/13", f"Date '13/13' has no month 13. {DATE_HINT}"),
    ("25/13/2026", f"Date '25/13/2026' has no month 13. {DATE_HINT}"),
    ("1/12/26", f"Date '1/12/26' isn't understood. {DATE_HINT}"),
    ("2026/12/01", f"Date '2026/12/01' isn't understood. {DATE_HINT}"),
    ("01-12", f"Date '01-12' isn't understood. {DATE_HINT}"),
    ("1", f"Date '1' isn't understood. {DATE_HINT}"),
    ("Dec", f"Date 'Dec' isn't understood. {DATE_HINT}"),
    ("next week", f"Date 'next week' isn't understood. {DATE_HINT}"),
    ("last Tuesday", f"Date 'last Tuesday' isn't understood. {DATE_HINT}"),
    ("1 Dec Dec", f"Date '1 Dec Dec' isn't understood. {DATE_HINT}"),
    ("1 déc", f"Date '1 déc' isn't understood. {DATE_HINT}"),
    ("2026-12-01T19:00", f"Date '2026-12-01T19:00' isn't understood. {DATE_HINT}"),
    ("x" * 200, f"Date '{'x' * 39}…' isn't understood. {DATE_HINT}"),
]

# A date something happened (`past=True`): without a year it is the last such date on or before today.
ACCEPTED_PAST_DATES = [
    ("15 Jan", date(2026, 1, 15)),
    ("30 Nov", TODAY),
    ("1 Dec", date(2025, 12, 1)),
    ("29 Feb", date(2024, 2, 29)),
    ("Tuesday", date(2026, 11, 24)),
    ("15 Jan 2024", date(2024, 1, 15)),
    ("2024-01-15", date(2024, 1, 15)),
    ("25/12", date(2025, 12, 25)),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED_TIMES)
def test_accepted_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(("text", "message"), REFUSED_TIMES)
def test_refused_times_say_why_and_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        parse_time(text)
    assert caught.value.message == message


@pytest.mark.parametrize(("text", "expected"), ACCEPTED_DATES)
def test_accepted_dates(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(("text", "message"), REFUSED_DATES)
def test_refused_dates_say_why_and_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        parse_date(text, today=TODAY)
    assert caught.value.message == message


@pytest.mark.parametrize(("text", "expected"), ACCEPTED_PAST_DATES)
def test_past_dates_without_a_year_look_back(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY, past=True) == expected


def test_refusals_are_shown_to_the_person_who_typed_them() -> None:
    # The cogs' error handler answers InvalidInputError ephemerally with its message.
    with pytest.raises(InvalidInputError):
        parse_date("01/12", today=TODAY)
    with pytest.raises(InvalidInputError):
        parse_time("13pm")


def test_a_year_end_today_reads_dates_into_the_next_year() -> None:
    new_years_eve = date(2026, 12, 31)
    assert parse_date("1 Jan", today=new_years_eve) == date(2027, 1, 1)
    assert parse_date("31 Dec", today=new_years_eve) == new_years_eve
    assert parse_date("tomorrow", today=new_years_eve) == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        (datetime(2026, 11, 30, 12, tzinfo=UTC), "Europe/London", date(2026, 11, 30)),
        # Already tomorrow east of the date line, still yesterday far west: "tomorrow" depends on the group's zone.
        (datetime(2026, 11, 30, 12, tzinfo=UTC), "Pacific/Kiritimati", date(2026, 12, 1)),
        (datetime(2026, 11, 30, 3, tzinfo=UTC), "America/Los_Angeles", date(2026, 11, 29)),
        (datetime(2026, 11, 30, 23, tzinfo=UTC), None, date(2026, 11, 30)),  # no zone set yet: UTC
    ],
)
def test_today_in_the_groups_zone(now: datetime, zone: str | None, expected: date) -> None:
    assert today_in(now, zone) == expected


def test_today_in_an_unknown_zone_is_refused() -> None:
    with pytest.raises(RecurrenceError, match="Unknown time zone 'Mars/Olympus'"):
        today_in(datetime(2026, 11, 30, tzinfo=UTC), "Mars/Olympus")
