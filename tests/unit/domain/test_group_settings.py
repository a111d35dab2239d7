"""Reminder times as people write them, the rota's hours and the grace: accepted forms, refused ones, words."""

from __future__ import annotations

import pytest

from bot.domain.group_settings import (
    describe_minutes,
    describe_reminders,
    parse_reminder_offsets,
    stored_offsets,
    validate_grace,
    validate_rota_hours,
)
from bot.errors import InvalidInputError


@pytest.mark.parametrize(
    ("text", "offsets"),
    [
        ("1440,15", (1440, 15)),
        ("15, 1440", (1440, 15)),
        ("24h,15m", (1440, 15)),
        ("1d, 2 hours, 30 min", (1440, 120, 30)),
        ("90", (90,)),
        ("1 day, 24h", (1440,)),  # the same time twice is one reminder
        ("Off", ()),
        ("none", ()),
    ],
)
def test_accepted_reminder_forms(text: str, offsets: tuple[int, ...]) -> None:
    assert parse_reminder_offsets(text) == offsets


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 weeks", "`2 weeks` isn't a reminder time I understand. Give minutes before the meeting"),
        ("1h30m", "`1h30m` isn't a reminder time"),
        ("15,,5", "`,` isn't a reminder time"),
        ("3", "`3` is 3 minutes before the meeting; a reminder can be from 5 minutes to 7 days before it."),
        ("8d", "`8d` is 8 days before the meeting"),
        ("1d,2h,1h,15m", "That's 4 reminders; a group can have at most 3"),
    ],
)
def test_refused_reminder_forms(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_reminder_offsets(text)
    assert caught.value.message.startswith(message)


def test_offsets_round_trip_through_the_column_and_read_in_words() -> None:
    assert stored_offsets((15, 1440)) == "1440,15" and stored_offsets(()) == ""
    assert describe_reminders((1440, 90, 15)) == "1 day, 1 hour 30 minutes and 15 minutes before"
    assert describe_reminders(()) == "Off"
    assert describe_minutes(60) == "1 hour" and describe_minutes(2 * 1440 + 5) == "2 days 5 minutes"


def test_rota_hours_escalate_before_the_meeting_but_after_the_request() -> None:
    assert validate_rota_hours(72, 24) == (72, 24)
    assert validate_rota_hours(2, 1) == (2, 1)
    for confirm, escalate in ((24, 24), (24, 30), (24, 0)):
        with pytest.raises(InvalidInputError, match="must be at least 1 hour and less than the confirmation"):
            validate_rota_hours(confirm, escalate)
    with pytest.raises(InvalidInputError, match="2 to 336 hours"):
        validate_rota_hours(337, 24)


def test_grace_is_bounded() -> None:
    assert validate_grace(5) == 5 and validate_grace(120) == 120
    for minutes in (4, 121):
        with pytest.raises(InvalidInputError, match="5 to 120 minutes"):
            validate_grace(minutes)
