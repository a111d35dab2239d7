"""What a meeting writes: the panel, its buttons, posts into the meeting thread, alerts, and the claims.

Helpers of the meeting runner; every function works inside the caller's transaction.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaMember
from bot.domain.meeting_run import RunState
from bot.services.meetings.common import timestamp
from bot.services.outbox import enqueue

log = logging.getLogger(__name__)

# Buttons members use during a meeting: checking in (counted, never linked to a name) and feedback.
FEEDBACK_BUTTON = {"label": "How was today? (anonymous)", "custom_id": "fb:open:{occurrence}", "style": "primary"}
PHASE_BUTTONS: dict[str, tuple[dict[str, str], ...]] = {
    "welcome": ({"label": "I'm here", "custom_id": "att:here:{occurrence}", "style": "success"},),
    "closing": (FEEDBACK_BUTTON,),
}


def panel_custom_id(action: str, occurrence_id: int, phase_index: int) -> str:
    """Return the custom_id of a panel button; the phase index makes a stale double click harmless."""
    return f"mtg:{action}:{occurrence_id}:{phase_index}"


def panel_payload(row: MeetingOccurrence, state: RunState) -> dict[str, Any]:
    """Return the facilitator panel: where the meeting is, and its buttons."""
    phase = state.phase
    if state.paused_remaining is not None:
        timer = f"paused, {int(state.paused_remaining.total_seconds() // 60)} min left"
    elif state.deadline is not None:
        timer = f"ends {timestamp(state.deadline, 'R')}"
    else:
        timer = "no timer"
    pause_action = ("resume", "Resume") if state.paused else ("pause", "Pause")
    return {
        "venue": True,
        "content": (
            f"**Facilitator panel** · {phase.title} ({state.index + 1}/{len(state.phases)}), {timer}.\n"
            "Only facilitators can use these buttons."
        ),
        "buttons": [
            {"label": "Next phase", "custom_id": panel_custom_id("next", row.id, state.index), "style": "primary"},
            {"label": "+5 min", "custom_id": panel_custom_id("extend", row.id, state.index), "style": "secondary"},
            {
                "label": pause_action[1],
                "custom_id": panel_custom_id(pause_action[0], row.id, state.index),
                "style": "secondary",
            },
            {"label": "End meeting", "custom_id": panel_custom_id("end", row.id, state.index), "style": "danger"},
        ],
    }


async def uses_rota(session: AsyncSession, guild_id: int) -> bool:
    """Return whether the group staffs meetings from the rota (then an unstaffed meeting does not run)."""
    found = await session.scalar(
        select(RotaMember.id).where(RotaMember.guild_id == guild_id, RotaMember.active.is_(True)).limit(1)
    )
    return found is not None


def state_values(state: RunState) -> dict[str, Any]:
    """Return the occurrence columns that store a running meeting's state."""
    return {
        "phase_index": state.index,
        "phase_deadline": state.deadline,
        "phase_paused_seconds": int(state.paused_remaining.total_seconds()) if state.paused_remaining else None,
        "phase_nudged": state.nudged,
        "phase_timings": json.dumps([timing.to_json() for timing in state.timings]),
    }


async def claim(session: AsyncSession, row: MeetingOccurrence, *, values: dict[str, Any], **expected: Any) -> bool:
    """Apply `values` only if the row still has the `expected` column values; return whether we won."""
    conditions = [MeetingOccurrence.id == row.id]
    for column, value in expected.items():
        attribute = getattr(MeetingOccurrence, column)
        conditions.append(attribute.is_(None) if value is None else attribute == value)
    result = await session.execute(update(MeetingOccurrence).where(*conditions).values(**values))
    won: bool = result.rowcount == 1  # type: ignore[attr-defined]
    if won:
        await session.refresh(row)
    return won


def anchor_text(title: str, now: datetime) -> str:
    """Return the meetings-channel message the meeting's thread starts from, pointing members to it."""
    return f"**{title}** is starting now ({timestamp(now, 't')}): join in the thread below. Everyone is welcome."


def post(session: AsyncSession, row: MeetingOccurrence, now: datetime, content: str) -> None:
    """Post text into the meeting's thread (through the outbox)."""
    enqueue(session, now, row.guild_id, "message", {"venue": True, "content": content}, occurrence_id=row.id)


def post_ended(session: AsyncSession, row: MeetingOccurrence, now: datetime, content: str) -> None:
    """Post the "meeting has ended" message with the feedback button: a meeting ended early still gets feedback."""
    button = {**FEEDBACK_BUTTON, "custom_id": FEEDBACK_BUTTON["custom_id"].format(occurrence=row.id)}
    payload = {"venue": True, "content": content, "buttons": [button]}
    enqueue(session, now, row.guild_id, "message", payload, occurrence_id=row.id)


def alert_coordinators(
    session: AsyncSession, config: GuildConfig | None, row: MeetingOccurrence, now: datetime, content: str
) -> None:
    """Tell the coordinators' channel about a meeting (logged when the group has none)."""
    if config is None or not config.coordinators_channel_id:
        log.warning("Guild %s has no coordinators' channel; alert about meeting %s not sent.", row.guild_id, row.id)
        return
    enqueue(
        session,
        now,
        row.guild_id,
        "message",
        {"channel_id": config.coordinators_channel_id, "content": content},
        occurrence_id=row.id,
    )
