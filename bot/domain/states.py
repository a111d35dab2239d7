"""The named states of what the bot stores; each value is the string the database has always held."""

from __future__ import annotations

from enum import StrEnum


class OccurrenceState(StrEnum):
    """Where a meeting is in its life."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    # It did not take place: the bot was down across its start, or no facilitator was on the rota.
    MISSED = "missed"
    # Its series moved and this date no longer happens; kept so that its event can still be cancelled.
    SUPERSEDED = "superseded"


class OutboxState(StrEnum):
    """Where a side effect is in its delivery."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class DutyStatus(StrEnum):
    """Where a rota duty stands."""

    PLANNED = "planned"
    CONFIRMED = "confirmed"
    # Nobody holds it (they declined, left or are away): cover is being asked for.
    OPEN = "open"


class AlertState(StrEnum):
    """Whether a member's alert has reached a person."""

    OPEN = "open"
    TAKEN = "taken"
