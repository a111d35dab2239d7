"""Meeting notices outside the run itself: reminders, unstaffed alerts, and the venue and posts that open a meeting."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import Database
from bot.db.helpers import claim, rowcount
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingReminder
from bot.domain.discord_ids import mention_channel, mention_role, timestamp
from bot.domain.guild import DEFAULT_CRISIS_TEXT
from bot.domain.meeting_format import opening_statement
from bot.domain.shards import ShardScope
from bot.domain.states import OccurrenceState
from bot.services.meetings.common import NO_FACILITATOR_ALERT
from bot.services.meetings.posts import alert_coordinators, anchor_text, post
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Message, OpenVenue
from bot.services.scope import in_scope

__all__ = ["alert_unstaffed", "open_venue", "post_opening", "send_reminders"]

log = logging.getLogger("bot.services.meetings.runner")


async def send_reminders(database: Database, scope: ShardScope | None, now: datetime) -> None:
    """Send the reminders that are due, each once; drop those of meetings cancelled or already started."""
    async with database.session() as session:
        due = (
            await session.execute(
                select(MeetingReminder, MeetingOccurrence)
                .join(MeetingOccurrence, MeetingOccurrence.id == MeetingReminder.occurrence_id)
                .where(
                    MeetingReminder.sent_at.is_(None),
                    MeetingReminder.due_at <= now,
                    in_scope(MeetingReminder.guild_id, scope),
                )
            )
        ).all()
        for reminder, occurrence in due:
            won = await session.execute(
                update(MeetingReminder)
                .where(MeetingReminder.id == reminder.id, MeetingReminder.sent_at.is_(None))
                .values(sent_at=now)
            )
            if rowcount(won) != 1:
                continue
            if occurrence.state != OccurrenceState.SCHEDULED or occurrence.starts_at <= now:
                continue  # cancelled, or too late to be useful: mark it done without a ping
            config = await session.get(GuildConfig, occurrence.guild_id)
            if config is None or not config.meetings_channel_id or not config.reminder_role_id:
                log.warning("Guild %s has no meetings channel or reminder role; reminder dropped.", occurrence.guild_id)
                continue
            where = mention_channel(occurrence.channel_id)
            enqueue(
                session,
                now,
                occurrence.guild_id,
                Message(
                    channel_id=config.meetings_channel_id,
                    content=(
                        f"{mention_role(config.reminder_role_id)} Reminder: **{occurrence.title}** starts "
                        f"{timestamp(occurrence.starts_at, 'R')} ({timestamp(occurrence.starts_at)}) in {where}. "
                        "Everyone is welcome."
                    ),
                    ping_role_id=config.reminder_role_id,
                ),
                occurrence_id=occurrence.id,
            )


async def alert_unstaffed(database: Database, scope: ShardScope | None, now: datetime) -> None:
    """Alert the coordinators, once per meeting, of a meeting starting soon without a facilitator."""
    async with database.session() as session:
        rows = (
            await session.scalars(
                select(MeetingOccurrence).where(
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.facilitator_id.is_(None),
                    MeetingOccurrence.no_facilitator_alerted.is_(False),
                    MeetingOccurrence.starts_at <= now + NO_FACILITATOR_ALERT,
                    MeetingOccurrence.starts_at > now,
                    in_scope(MeetingOccurrence.guild_id, scope),
                )
            )
        ).all()
        for row in rows:
            if not await claim(session, row, no_facilitator_alerted=False, values={"no_facilitator_alerted": True}):
                continue
            config = await session.get(GuildConfig, row.guild_id)
            alert_coordinators(
                session,
                config,
                row,
                now,
                f"**{row.title}** on {timestamp(row.starts_at)} has no facilitator yet. "
                "Please find someone to run it (or cancel it with `/meeting cancel`).",
            )


def open_venue(session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime) -> None:
    """Queue the meeting's thread: under the meetings channel for a voice meeting (when set), else its own channel."""
    venue_parent = config.meetings_channel_id if config and row.location_kind != "text" else row.channel_id
    if not venue_parent:
        venue_parent = row.channel_id
    local_day = row.local_start[:10]
    enqueue(
        session,
        now,
        row.guild_id,
        OpenVenue(venue_parent, f"{row.title} · {local_day}"[:100], anchor_text(row.title, now)),
        occurrence_id=row.id,
    )


def post_opening(session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime) -> None:
    """Queue the opening posts: an apology for a late start, the opening statement and where the voice is."""
    if row.started_late:
        post(session, row, now, "Sorry for the late start: the bot was offline when this meeting was due.")
    crisis = (config.crisis_text if config else None) or DEFAULT_CRISIS_TEXT
    post(session, row, now, opening_statement(crisis))
    if row.location_kind != "text":
        post(session, row, now, f"Voice for this meeting: {mention_channel(row.channel_id)}. Text chat happens here.")
