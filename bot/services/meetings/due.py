"""When the meeting runner next has something to do: the instant its wake-up is set for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.helpers import earliest
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingReminder
from bot.domain.meeting_format import MeetingTemplate
from bot.domain.meeting_run import RunState
from bot.domain.shards import ShardScope
from bot.domain.states import OccurrenceState
from bot.services.meetings.common import NO_FACILITATOR_ALERT, OVERRUN_LIMIT
from bot.services.scope import in_scope

# Running meetings read at a time while looking for the next phase timer.
PHASE_TIMER_BATCH = 64

StateOf = Callable[[MeetingOccurrence, GuildConfig | None], RunState]


def longest_lead(templates: dict[str, MeetingTemplate]) -> timedelta:
    """Return the longest nudge lead of any phase: no phase timer is earlier than the deadline minus this."""
    minutes = max((phase.nudge_minutes_before for t in templates.values() for phase in t.phases), default=0)
    return timedelta(minutes=minutes)


async def next_due(
    session: AsyncSession, scope: ShardScope | None, lead: timedelta, state_of: StateOf
) -> datetime | None:
    """Return the earliest instant at which the runner's tick has something to do in `scope`."""
    mine = in_scope(MeetingOccurrence.guild_id, scope)
    scheduled = MeetingOccurrence.state == OccurrenceState.SCHEDULED
    # One statement for the four: this runs at every wake-up, and each statement is a trip to the database.
    reminder, start, unstaffed, ends = (
        await session.execute(
            select(
                earliest(
                    MeetingReminder.due_at, MeetingReminder.sent_at.is_(None), in_scope(MeetingReminder.guild_id, scope)
                ),
                earliest(MeetingOccurrence.starts_at, scheduled, mine),
                earliest(
                    MeetingOccurrence.starts_at,
                    scheduled,
                    MeetingOccurrence.facilitator_id.is_(None),
                    MeetingOccurrence.no_facilitator_alerted.is_(False),
                    mine,
                ),
                # Every running meeting closes itself at the overrun limit, whatever its phase timers say.
                earliest(MeetingOccurrence.ends_at, MeetingOccurrence.state == OccurrenceState.RUNNING, mine),
            )
        )
    ).one()
    candidates: list[datetime | None] = [
        reminder,
        start,
        unstaffed - NO_FACILITATOR_ALERT if unstaffed else None,
        ends + OVERRUN_LIMIT if ends else None,
    ]
    known = [when for when in candidates if when is not None]
    return await _next_phase_timer(session, scope, lead, state_of, min(known) if known else None)


async def _next_phase_timer(
    session: AsyncSession, scope: ShardScope | None, lead: timedelta, state_of: StateOf, best: datetime | None
) -> datetime | None:
    """Return the earlier of `best` and the first phase timer (nudge or automatic advance) of a running meeting."""
    query = (
        select(MeetingOccurrence, GuildConfig)
        .outerjoin(GuildConfig, GuildConfig.guild_id == MeetingOccurrence.guild_id)
        .where(
            MeetingOccurrence.state == OccurrenceState.RUNNING,
            MeetingOccurrence.phase_deadline.is_not(None),
            in_scope(MeetingOccurrence.guild_id, scope),
        )
        .order_by(MeetingOccurrence.phase_deadline, MeetingOccurrence.id)
    )
    if best is not None:
        query = query.where(MeetingOccurrence.phase_deadline <= best + lead)
    # Streamed in deadline order so that the walk can stop early without loading every running meeting.
    result = await session.stream(query.execution_options(yield_per=PHASE_TIMER_BATCH))
    try:
        async for row, config in result:
            if best is not None and row.phase_deadline is not None and row.phase_deadline - lead > best:
                break  # no timer of this meeting, or of any later one, comes before `best`
            state = state_of(row, config)
            auto_deadline = state.deadline if state.phase.auto_advance else None
            for when in (state.nudge_at(), auto_deadline):
                if when is not None and (best is None or when < best):
                    best = when
    finally:
        await result.close()
    return best
