"""Plan the rota's duties: read the meetings and facilitators to plan, and store the planner's result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import MeetingOccurrence
from bot.db.models_rota import RotaAssignment, RotaAway, RotaMember
from bot.domain import rota as planner
from bot.domain.states import DutyStatus, OccurrenceState
from bot.errors import NotFoundError

__all__ = ["active_facilitators", "existing_assignments", "plannable_occurrences", "slot_of", "write_plan"]


async def plannable_occurrences(
    session: AsyncSession, guild_id: int, now: datetime, weeks: int
) -> Sequence[MeetingOccurrence]:
    """Return the group's scheduled meetings of the coming `weeks`, in time order."""
    return (
        await session.scalars(
            select(MeetingOccurrence)
            .where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                MeetingOccurrence.starts_at > now,
                MeetingOccurrence.starts_at <= now + timedelta(weeks=weeks),
            )
            .order_by(MeetingOccurrence.starts_at)
        )
    ).all()


async def active_facilitators(session: AsyncSession, guild_id: int) -> list[planner.Facilitator]:
    """Return the group's active facilitators with their times away, or raise NotFoundError when there are none."""
    members = (
        await session.scalars(select(RotaMember).where(RotaMember.guild_id == guild_id, RotaMember.active.is_(True)))
    ).all()
    if not members:
        raise NotFoundError("Nobody is on the rota yet: facilitators join with `/rota join`.")
    aways = (await session.scalars(select(RotaAway).where(RotaAway.guild_id == guild_id))).all()
    return [
        planner.Facilitator(
            id=m.user_id,
            roles=frozenset(m.roles.split(",")),
            trained_since=m.trained_since,
            max_per_month=m.max_per_month,
            unavailable=tuple((a.starts_at, a.ends_at) for a in aways if a.user_id == m.user_id),
            preferred_series=frozenset(int(s) for s in m.preferred_series.split(",") if s.strip().isdigit()),
        )
        for m in members
    ]


def slot_of(occurrence: MeetingOccurrence, zone: ZoneInfo) -> planner.Slot:
    """Return the planner's slot for a meeting, its month taken in the group's zone."""
    return planner.Slot(
        occurrence.id,
        occurrence.schedule_id,
        occurrence.starts_at,
        occurrence.ends_at,
        occurrence.starts_at.astimezone(zone).strftime("%Y-%m"),
    )


def _is_fixed_or_open(row: RotaAssignment) -> bool:
    """Tell whether regeneration must leave a duty alone: confirmed, pinned, or open for cover."""
    # Open duties (someone couldn't make it) wait for cover; regeneration doesn't fill them behind a
    # volunteer's back, so they are planned around like fixed ones.
    return row.status in (DutyStatus.CONFIRMED, DutyStatus.OPEN) or row.pinned


def _is_replannable(row: RotaAssignment) -> bool:
    """Tell whether regeneration may move a duty: planned and not pinned."""
    return row.status == DutyStatus.PLANNED and not row.pinned


def existing_assignments(current: Sequence[RotaAssignment]) -> list[planner.Assignment]:
    """Return the staffed duties the planner starts from: fixed or open ones (as confirmed), then replannable ones."""
    fixed = [
        planner.Assignment(a.occurrence_id, a.role, a.user_id, confirmed=True)  # type: ignore[arg-type]
        for a in current
        if _is_fixed_or_open(a) and a.user_id is not None
    ]
    replannable = [
        planner.Assignment(a.occurrence_id, a.role, a.user_id)  # type: ignore[arg-type]
        for a in current
        if _is_replannable(a) and a.user_id is not None
    ]
    return fixed + replannable


async def write_plan(
    session: AsyncSession, guild_id: int, plan: planner.RotaPlan, current: Sequence[RotaAssignment], now: datetime
) -> int:
    """Store the plan's movable duties and delete the planned ones it dropped; return how many it planned."""
    kept = {(a.occurrence_id, a.role) for a in current if _is_fixed_or_open(a)}
    # Update planned duties in place: someone who keeps their duty keeps its state (already asked to
    # confirm, already escalated), so regenerating never asks anyone twice.
    replanned = {(a.occurrence_id, a.role): a for a in current if _is_replannable(a)}
    planned = 0
    for assignment in plan.assignments:
        key = (assignment.occurrence_id, assignment.role)
        if key in kept:
            continue
        planned += 1
        row = replanned.pop(key, None)
        if row is None:
            session.add(_new_duty(guild_id, assignment, now))
        elif row.user_id != assignment.facilitator_id:
            _hand_over(row, assignment.facilitator_id, now)
    for row in replanned.values():
        await session.delete(row)
    await session.flush()
    return planned


def _new_duty(guild_id: int, assignment: planner.Assignment, now: datetime) -> RotaAssignment:
    """Return a new planned duty row for one of the plan's assignments."""
    return RotaAssignment(
        guild_id=guild_id,
        occurrence_id=assignment.occurrence_id,
        role=assignment.role,
        user_id=assignment.facilitator_id,
        status=DutyStatus.PLANNED,
        pinned=False,
        confirm_sent=False,
        escalated=False,
        updated_at=now,
    )


def _hand_over(row: RotaAssignment, facilitator_id: int, now: datetime) -> None:
    """Give a planned duty to another facilitator, who has not been asked, reminded or escalated yet."""
    row.user_id = facilitator_id
    row.confirm_sent = False
    row.reminder_sent = False
    row.escalated = False
    row.updated_at = now
