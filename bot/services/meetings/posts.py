"""What a meeting writes: the panel, its buttons, posts into the meeting thread, alerts, and the claims.

Helpers of the meeting runner; every function works inside the caller's transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaMember
from bot.domain.discord_ids import PanelAction, check_in_id, feedback_id, panel_id, timestamp
from bot.domain.meeting_run import RunState
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Button, Message, Panel, PanelEdit

log = logging.getLogger(__name__)


# Buttons members use during a meeting: checking in (counted, never linked to a name) and feedback.
def feedback_button(occurrence_id: int) -> Button:
    """Return the button that opens a meeting's anonymous feedback form."""
    return Button("How was today? (anonymous)", feedback_id(occurrence_id), "primary")


def check_in_button(occurrence_id: int) -> Button:
    """Return a meeting's "I'm here" button."""
    return Button("I'm here", check_in_id(occurrence_id), "success")


PHASE_BUTTONS: dict[str, Callable[[int], Button]] = {"welcome": check_in_button, "closing": feedback_button}


def phase_buttons(phase_key: str, occurrence_id: int) -> list[Button]:
    """Return the buttons a phase's opening post carries."""
    button = PHASE_BUTTONS.get(phase_key)
    return [button(occurrence_id)] if button else []


def panel_payload(row: MeetingOccurrence, state: RunState) -> Panel:
    """Return the facilitator panel: where the meeting is, and its buttons."""
    phase = state.phase
    if state.paused_remaining is not None:
        timer = f"paused, {int(state.paused_remaining.total_seconds() // 60)} min left"
    elif state.deadline is not None:
        timer = f"ends {timestamp(state.deadline, 'R')}"
    else:
        timer = "no timer"
    pause_action: tuple[PanelAction, str] = ("resume", "Resume") if state.paused else ("pause", "Pause")
    return Panel(
        venue=True,
        content=(
            f"**Facilitator panel** · {phase.title} ({state.index + 1}/{len(state.phases)}), {timer}.\n"
            "Only facilitators can use these buttons."
        ),
        buttons=(
            Button("Next phase", panel_id("next", row.id, state.index), "primary"),
            Button("+5 min", panel_id("extend", row.id, state.index), "secondary"),
            Button(pause_action[1], panel_id(pause_action[0], row.id, state.index), "secondary"),
            Button("End meeting", panel_id("end", row.id, state.index), "danger"),
        ),
    )


def panel_edit(panel: Panel) -> PanelEdit:
    """Return the edit that shows `panel` on the panel already posted."""
    return PanelEdit(panel.content, panel.buttons)


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


def anchor_text(title: str, now: datetime) -> str:
    """Return the meetings-channel message the meeting's thread starts from, pointing members to it."""
    return f"**{title}** is starting now ({timestamp(now, 't')}): join in the thread below. Everyone is welcome."


def post(session: AsyncSession, row: MeetingOccurrence, now: datetime, content: str) -> None:
    """Post text into the meeting's thread (through the outbox)."""
    enqueue(session, now, row.guild_id, Message(content, venue=True), occurrence_id=row.id)


def post_ended(session: AsyncSession, row: MeetingOccurrence, now: datetime, content: str) -> None:
    """Post the "meeting has ended" message with the feedback button: a meeting ended early still gets feedback."""
    payload = Message(content, venue=True, buttons=(feedback_button(row.id),))
    enqueue(session, now, row.guild_id, payload, occurrence_id=row.id)


def alert_coordinators(
    session: AsyncSession, config: GuildConfig | None, row: MeetingOccurrence, now: datetime, content: str
) -> None:
    """Tell the coordinators' channel about a meeting (logged when the group has none)."""
    if config is None or not config.coordinators_channel_id:
        log.warning("Guild %s has no coordinators' channel; alert about meeting %s not sent.", row.guild_id, row.id)
        return
    enqueue(
        session, now, row.guild_id, Message(content, channel_id=config.coordinators_channel_id), occurrence_id=row.id
    )
