"""Plain views of meetings that the cogs read, and helpers shared by the meeting services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.models import GuildConfig, MeetingOccurrence
from bot.domain.discord_ids import EntityType, ScheduledEventStatus
from bot.domain.meeting_format import MeetingTemplate
from bot.domain.states import OccurrenceState
from bot.services.outbox_payloads import EventCreate, EventStatus

LOCATION_KINDS = ("voice", "stage", "text")
# Where each kind of meeting's scheduled event happens.
ENTITY_TYPES = {"stage": EntityType.STAGE_INSTANCE, "voice": EntityType.VOICE, "text": EntityType.EXTERNAL}
# What a meeting's scheduled event is moved to as the meeting starts, ends, or is called off.
EVENT_ACTIVE = EventStatus(ScheduledEventStatus.ACTIVE)
EVENT_COMPLETED = EventStatus(ScheduledEventStatus.COMPLETED)
EVENT_CANCELLED = EventStatus(ScheduledEventStatus.CANCELLED)
MATERIALISE_HORIZON = timedelta(weeks=8)
# A meeting no one ended closes by itself this long after its scheduled end.
OVERRUN_LIMIT = timedelta(minutes=60)
NO_FACILITATOR_ALERT = timedelta(hours=24)


@dataclass(frozen=True)
class OccurrenceView:
    """What a cog needs to show one meeting."""

    id: int
    guild_id: int
    schedule_id: int | None
    title: str
    starts_at: datetime
    ends_at: datetime
    state: OccurrenceState
    reason: str | None
    location_kind: str
    channel_id: int
    venue_id: int | None
    panel_message_id: int | None
    event_id: int | None
    facilitator_id: int | None
    phase_index: int | None
    phase_deadline: datetime | None
    paused: bool
    actual_start: datetime | None
    actual_end: datetime | None
    phase_timings: list[dict[str, Any]]
    tool_slug: str | None

    @classmethod
    def of(cls, row: MeetingOccurrence) -> OccurrenceView:
        """Copy the row so it can be used after the session closes."""
        return cls(
            id=row.id,
            guild_id=row.guild_id,
            schedule_id=row.schedule_id,
            title=row.title,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            state=OccurrenceState(row.state),
            reason=row.reason,
            location_kind=row.location_kind,
            channel_id=row.channel_id,
            venue_id=row.venue_id,
            panel_message_id=row.panel_message_id,
            event_id=row.event_id,
            facilitator_id=row.facilitator_id,
            phase_index=row.phase_index,
            phase_deadline=row.phase_deadline,
            paused=row.phase_paused_seconds is not None,
            actual_start=row.actual_start,
            actual_end=row.actual_end,
            phase_timings=json.loads(row.phase_timings or "[]"),
            tool_slug=row.tool_slug,
        )


def event_payload(
    row: MeetingOccurrence, template: MeetingTemplate | None, payload_type: type[EventCreate] = EventCreate
) -> EventCreate:
    """Return the scheduled event that mirrors an occurrence (to create, or with EventEdit to bring in line)."""
    entity_type = ENTITY_TYPES[row.location_kind]
    in_channel = entity_type is not EntityType.EXTERNAL
    return payload_type(
        name=row.title[:100],
        description=(
            f"SMART Recovery meeting{f' ({template.name})' if template else ''}. Everyone is welcome; taking part "
            "is optional. Use /meeting remind-me to get a reminder."
        )[:1000],
        start=row.starts_at,
        end=row.ends_at,
        entity_type=entity_type,
        channel_id=row.channel_id if in_channel else None,
        location=None if in_channel else f"https://discord.com/channels/{row.guild_id}/{row.channel_id}",
    )


def reminder_offsets(config: GuildConfig | None) -> list[int]:
    """Return the guild's reminder offsets in minutes, largest first."""
    text = config.reminder_offsets if config else "1440,15"
    return sorted({int(part) for part in text.split(",") if part.strip().isdigit()}, reverse=True)
