"""Editing a series: where it restarts, and how its upcoming meetings follow it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import MeetingOccurrence, MeetingReminder, MeetingSchedule
from bot.domain.meeting_format import MeetingTemplate
from bot.domain.recurrence import ScheduleRule, expand
from bot.domain.states import OccurrenceState
from bot.services.meetings.common import EVENT_CANCELLED, MATERIALISE_HORIZON, event_payload
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import EventEdit


async def follow_series(
    session: AsyncSession,
    schedule: MeetingSchedule,
    rule: ScheduleRule,
    templates: dict[str, MeetingTemplate],
    now: datetime,
) -> None:
    """Move the series' upcoming meetings to its new rule; supersede those whose date no longer happens."""
    guild_id, schedule_id = schedule.guild_id, schedule.id
    wanted = {o.local.isoformat(): o for o in expand(rule, now, now + MATERIALISE_HORIZON)}
    rows = (
        await session.scalars(
            select(MeetingOccurrence).where(
                MeetingOccurrence.schedule_id == schedule_id,
                MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                MeetingOccurrence.starts_at > now,
            )
        )
    ).all()
    for row in rows:
        occurrence = wanted.get(row.local_start)
        if occurrence is None:
            # The series moved: this date no longer happens. It is kept as "superseded" (not
            # "cancelled": nobody cancelled a meeting) so its event can still be cancelled through
            # the outbox, and members never see it again.
            row.state = OccurrenceState.SUPERSEDED
            row.reason = "rescheduled"
            if row.event_id or row.event_requested:
                enqueue(session, now, guild_id, EVENT_CANCELLED, occurrence_id=row.id)
            await session.execute(delete(MeetingReminder).where(MeetingReminder.occurrence_id == row.id))
            continue
        row.title = schedule.title
        row.starts_at = occurrence.utc
        row.ends_at = occurrence.utc + timedelta(minutes=schedule.duration_minutes)
        row.location_kind = schedule.location_kind
        row.channel_id = schedule.channel_id
        if row.event_id or row.event_requested:
            template = templates.get(row.template_slug)
            edited = event_payload(row, template, EventEdit)
            enqueue(session, now, guild_id, edited, occurrence_id=row.id)


def restart_date(first: date, today: date, interval_weeks: int, same_weekday: bool) -> date:
    """Return the date an edited series restarts from: today, or its next meeting day if it meets every N weeks."""
    if interval_weeks <= 1 or not same_weekday:
        return today
    # Restarting from today in an off week would shift a fortnightly series by a week: keep it in step.
    period = 7 * interval_weeks
    return today + timedelta(days=(first - today).days % period)


def interval_of(rrule: str | None) -> int:
    """Return a stored rule's INTERVAL (1 when it has none, or for a one-off)."""
    if not rrule:
        return 1
    for part in rrule.split(";"):
        key, _, value = part.partition("=")
        if key == "INTERVAL":
            return int(value)
    return 1
