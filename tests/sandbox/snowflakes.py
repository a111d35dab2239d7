"""Snowflake ids and the timestamp formats Discord uses."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import secrets
import threading
import time

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000

_snowflake_lock = threading.Lock()
_snowflake_last = 0
_snowflake_counter = itertools.count()


def snowflake() -> int:
    """Return a new, strictly increasing snowflake whose timestamp is now."""
    global _snowflake_last
    with _snowflake_lock:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (1 << 17) | (1 << 12) | (next(_snowflake_counter) & 0xFFF)
        # Several ids in the same millisecond (or a clock step backwards) must still sort in creation order.
        if candidate <= _snowflake_last:
            candidate = _snowflake_last + 1
        _snowflake_last = candidate
        return candidate


def snowflake_time(value: int) -> dt.datetime:
    """Return the creation time encoded in a snowflake."""
    return dt.datetime.fromtimestamp(((value >> 22) + DISCORD_EPOCH_MS) / 1000, tz=dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    """Format a datetime as Discord does (ISO 8601 with microseconds and +00:00)."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_iso(value: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp sent by a client; naive values are taken as UTC."""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


def new_token() -> str:
    """Return an opaque random token."""
    return secrets.token_urlsafe(48)
