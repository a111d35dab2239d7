"""Keyed pseudonyms that link a member's attendance within one evaluation period and never across periods."""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import date
from typing import NoReturn

# Domain-separation labels: the inputs of a period key, a pseudonym and a meeting token can never coincide, so a value
# of one kind can never be passed off as, or compared with, a value of another.
_PERIOD_LABEL = b"smart-meetings-bot/v1/period:"
_PSEUDONYM_LABEL = b"smart-meetings-bot/v1/member"
_MEETING_LABEL = b"smart-meetings-bot/v1/meeting"

# Discord snowflakes are unsigned 64-bit integers; packing them at a fixed width makes the encoding canonical.
_MAX_ID = 2**64 - 1
_IDS = struct.Struct(">QQ")
_MEETING_IDS = struct.Struct(">QQQ")

# bot/keyfile.py refuses shorter keys; the domain repeats the check so a test or a caller cannot slip one in.
MIN_KEY_BYTES = 16

# Meeting tokens carry this prefix so the attendance split can tell an opted-out member from a linked pseudonym
# without any extra state; a pseudonym is bare lower-case hex and never starts with it.
UNLINKED_PREFIX = "u-"

# Period lengths that tile a year exactly, so every period starts on the same months every year.
ALLOWED_PERIOD_MONTHS = (1, 2, 3, 4, 6, 12)
_NAMED_PARTS = {6: "H", 3: "Q"}


def pseudonym(key: bytes, guild_id: int, user_id: int, period: str) -> str:
    """Return the member's pseudonym for the period: hex HMAC-SHA256 of (guild, user) under the period's key."""
    message = _PSEUDONYM_LABEL + _IDS.pack(_checked_id(guild_id, "guild_id"), _checked_id(user_id, "user_id"))
    return hmac.new(period_key(key, period), message, hashlib.sha256).hexdigest()


def meeting_token(key: bytes, guild_id: int, user_id: int, occurrence_id: int) -> str:
    """Return an opted-out member's token for one meeting: stable across a restart, unlinkable to any other meeting."""
    ids = _MEETING_IDS.pack(
        _checked_id(guild_id, "guild_id"), _checked_id(user_id, "user_id"), _checked_id(occurrence_id, "occurrence_id")
    )
    digest = hmac.new(_checked_key(key), _MEETING_LABEL + ids, hashlib.sha256).hexdigest()
    return UNLINKED_PREFIX + digest


def is_meeting_token(member_key: str) -> bool:
    """Tell whether an attendance key is an opted-out member's meeting token rather than a pseudonym."""
    return member_key.startswith(UNLINKED_PREFIX)


def period_key(key: bytes, period: str) -> bytes:
    """Derive the period's key from the master key, so pseudonyms of two periods share nothing a reader can match."""
    if not period or not period.isascii() or not period.isprintable():
        raise ValueError("the evaluation period must be a non-empty printable ASCII label such as '2026'")
    return hmac.new(_checked_key(key), _PERIOD_LABEL + period.encode("ascii"), hashlib.sha256).digest()


def evaluation_period(local_date: date, months: int = 12, anchor_month: int = 1) -> str:
    """Return the label of the evaluation period holding a meeting's local date, e.g. '2026', '2026-H2', '2026-Q3'.

    Periods are `months` long and one of them starts in `anchor_month` every year. Periods aligned to January get
    short names ('2026' for a calendar year, '2026-H1', '2026-Q1', '2026-01'); any other shape is labelled by its
    first and last month, e.g. '2026-04..2027-03' for a year from April. Two settings that describe the same periods
    (quarters anchored in January or in April) give the same labels. The label feeds the key derivation, so a change
    of length or anchor that moves the periods starts new pseudonyms for everyone.
    """
    start, last_month = _period_months(local_date, months, anchor_month)
    # Name the period itself, not the configuration: quarters anchored in April are the calendar quarters.
    if (start.month - 1) % months == 0:
        if months == 12:
            return f"{start.year:04d}"
        if months == 1:
            return f"{start.year:04d}-{start.month:02d}"
        if months in _NAMED_PARTS:
            return f"{start.year:04d}-{_NAMED_PARTS[months]}{(start.month - 1) // months + 1}"
    return f"{start.year:04d}-{start.month:02d}..{last_month.year:04d}-{last_month.month:02d}"


def evaluation_period_bounds(local_date: date, months: int = 12, anchor_month: int = 1) -> tuple[date, date]:
    """Return the first day of the period holding `local_date` and the first day after it."""
    start, last_month = _period_months(local_date, months, anchor_month)
    return start, _add_months(last_month, 1)


def _period_months(local_date: date, months: int, anchor_month: int) -> tuple[date, date]:
    """Return the first days of the first and the last month of the period holding `local_date`."""
    if months not in ALLOWED_PERIOD_MONTHS:
        allowed = ", ".join(str(value) for value in ALLOWED_PERIOD_MONTHS)
        raise ValueError(f"an evaluation period must be {allowed} months long (got {months})")
    if not 1 <= anchor_month <= 12:
        raise ValueError(f"the anchor month must be 1 to 12 (got {anchor_month})")
    # Months since the anchor month of year 0, floored to a whole number of periods; floor division keeps dates
    # before the anchor in the previous period.
    offset = (local_date.year * 12 + local_date.month - anchor_month) // months * months
    year, month_index = divmod(offset + anchor_month - 1, 12)
    start = date(year, month_index + 1, 1)
    return start, _add_months(start, months - 1)


def _add_months(first_of_month: date, months: int) -> date:
    year, month = divmod(first_of_month.year * 12 + first_of_month.month - 1 + months, 12)
    return date(year, month + 1, 1)


def _checked_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        # The message names the rule only: never the key, nor anything derived from it.
        raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    return key


def _checked_id(value: int, name: str) -> int:
    # bool is an int subclass; True as a user id is a caller bug, not user 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
        raise ValueError(f"{name} must be an unsigned 64-bit integer")
    return value


class PseudonymKey:
    """The master key as a service holds it: repr and str never show the bytes, and it refuses to be pickled."""

    __slots__ = ("_key", "_period_keys")

    def __init__(self, key: bytes) -> None:
        self._key = _checked_key(key)
        # Deriving a period key is one HMAC; caching it halves the work per pseudonym over a long meeting.
        self._period_keys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "PseudonymKey(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        # A pickled key would be a copy of the secret in whatever store received it (a cache, a task queue).
        raise TypeError("a PseudonymKey cannot be pickled")

    def pseudonym(self, guild_id: int, user_id: int, period: str) -> str:
        """Return the member's pseudonym for the period; same value as the module function."""
        derived = self._period_keys.get(period)
        if derived is None:
            derived = self._period_keys[period] = period_key(self._key, period)
        message = _PSEUDONYM_LABEL + _IDS.pack(_checked_id(guild_id, "guild_id"), _checked_id(user_id, "user_id"))
        return hmac.new(derived, message, hashlib.sha256).hexdigest()

    def meeting_token(self, guild_id: int, user_id: int, occurrence_id: int) -> str:
        """Return an opted-out member's token for one meeting; same value as the module function."""
        return meeting_token(self._key, guild_id, user_id, occurrence_id)
