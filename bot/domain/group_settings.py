"""A group's timings (late-start grace, reminders, the rota's confirmation and escalation), validated and described."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.text import plural
from bot.errors import InvalidInputError

GRACE_MIN, GRACE_MAX = 5, 120
MAX_REMINDERS = 3
REMINDER_MIN, REMINDER_MAX = 5, 7 * 24 * 60
CONFIRM_MIN, CONFIRM_MAX = 2, 14 * 24
ESCALATE_MIN = 1
# Defaults as the tables have them (guild_config, rota_settings).
DEFAULT_GRACE = 15
DEFAULT_REMINDERS = (1440, 15)
DEFAULT_CONFIRM_HOURS = 72
DEFAULT_ESCALATE_HOURS = 24

NO_REMINDERS = frozenset({"off", "none", "no", "0"})
_UNIT_MINUTES = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60}
_UNIT_MINUTES |= {"hour": 60, "hours": 60, "d": 1440, "day": 1440, "days": 1440}
_OFFSET = re.compile(r"(\d{1,5})\s*([a-z]*)")
REMINDER_FORMS = "minutes before the meeting, e.g. `1440,15` or `24h,15m` (units m, h, d), or `off`"


@dataclass(frozen=True)
class GroupTimings:
    """When things happen for one group: every value in minutes or hours, as stored."""

    late_start_grace_minutes: int = DEFAULT_GRACE
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDERS
    rota_confirm_hours: int = DEFAULT_CONFIRM_HOURS
    rota_escalate_hours: int = DEFAULT_ESCALATE_HOURS


def parse_reminder_offsets(text: str) -> tuple[int, ...]:
    """Return reminder offsets in minutes, largest first, from "1440,15", "24h, 15m", "1d" or "off"."""
    cleaned = text.strip().lower()
    if cleaned in NO_REMINDERS:
        return ()
    offsets: set[int] = set()
    for part in (piece.strip() for piece in cleaned.split(",")):
        match = _OFFSET.fullmatch(part)
        if match is None or match.group(2) not in ("", *_UNIT_MINUTES):
            raise InvalidInputError(f"`{part[:20] or ','}` isn't a reminder time I understand. Give {REMINDER_FORMS}.")
        minutes = int(match.group(1)) * _UNIT_MINUTES.get(match.group(2), 1)
        if not REMINDER_MIN <= minutes <= REMINDER_MAX:
            raise InvalidInputError(
                f"`{part}` is {describe_minutes(minutes)} before the meeting; a reminder can be from "
                f"{describe_minutes(REMINDER_MIN)} to {describe_minutes(REMINDER_MAX)} before it."
            )
        offsets.add(minutes)
    if len(offsets) > MAX_REMINDERS:
        raise InvalidInputError(
            f"That's {len(offsets)} reminders; a group can have at most {MAX_REMINDERS}, so members aren't pinged "
            "too often."
        )
    return tuple(sorted(offsets, reverse=True))


def stored_offsets(offsets: tuple[int, ...]) -> str:
    """Return offsets as the `guild_config.reminder_offsets` column holds them ("1440,15"; "" for none)."""
    return ",".join(str(offset) for offset in sorted(offsets, reverse=True))


def validate_grace(minutes: int) -> int:
    """Return the late-start grace, or raise when it is out of range."""
    if not GRACE_MIN <= minutes <= GRACE_MAX:
        raise InvalidInputError(
            f"The late-start grace can be {GRACE_MIN} to {GRACE_MAX} minutes: how long after its start a meeting "
            "the bot couldn't open (say, it was offline) may still be opened."
        )
    return minutes


def validate_rota_hours(confirm_hours: int, escalate_hours: int) -> tuple[int, int]:
    """Return the rota's (confirm, escalate) hours, or raise unless 1 <= escalate < confirm <= 14 days."""
    if not CONFIRM_MIN <= confirm_hours <= CONFIRM_MAX:
        raise InvalidInputError(
            f"Facilitators can be asked to confirm {CONFIRM_MIN} to {CONFIRM_MAX} hours (14 days) before a meeting."
        )
    if not ESCALATE_MIN <= escalate_hours < confirm_hours:
        raise InvalidInputError(
            f"Coordinators are told about an unconfirmed duty after facilitators were asked: the escalation "
            f"({plural(escalate_hours, 'hour')} before) must be at least {ESCALATE_MIN} hour and less than the "
            f"confirmation ({plural(confirm_hours, 'hour')} before)."
        )
    return confirm_hours, escalate_hours


def describe_minutes(minutes: int) -> str:
    """Return a duration in words: "15 minutes", "1 hour 30 minutes", "1 day"."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [plural(value, unit) for value, unit in ((days, "day"), (hours, "hour"), (mins, "minute")) if value]
    return " ".join(parts) or "0 minutes"


def describe_reminders(offsets: tuple[int, ...]) -> str:
    """Return the reminders in words: "1 day and 15 minutes before", or "Off"."""
    if not offsets:
        return "Off"
    words = [describe_minutes(offset) for offset in offsets]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return f"{listed} before"
