"""The rota's timed steps and its thanks: confirmations, one reminder, escalation, the weekly post, milestones.

Each step is derived from assignment rows and their meeting's start, and claimed with a conditional
UPDATE, so after a restart (or with several processes) it happens once.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import claim_by_id, rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaAssignment, RotaMember, RotaMilestone, RotaSettings
from bot.domain.discord_ids import mention_user, rota_id, timestamp
from bot.domain.shards import ShardScope
from bot.domain.states import DutyStatus, OccurrenceState
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Button, DirectMessage, Message
from bot.services.rota.rows import ensure_settings, zone_of
from bot.services.rota.service import (
    FACILITATOR_MILESTONES,
    RotaService,
    WEEKLY_POST_TIME,
    WEEKLY_POST_WEEKS,
)
from bot.services.rota.views import ROLE_WORDS, rota_post
from bot.services.scope import in_scope

log = logging.getLogger(__name__)


class RotaTimers:
    """What the rota does by the clock, and the thanks after each meeting."""

    def __init__(self, database: Database, clock: Clock, rota: RotaService, scope: ShardScope | None = None) -> None:
        self._db = database
        self._clock = clock
        self._rota = rota
        self.scope = scope

    # --- timers -------------------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Ask for confirmations, remind once, ask coordinators for cover, and post the weekly rota when due."""
        now = self._clock.now()
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(RotaAssignment, MeetingOccurrence, RotaSettings)
                    .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                    .outerjoin(RotaSettings, RotaSettings.guild_id == RotaAssignment.guild_id)
                    .where(
                        MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                        MeetingOccurrence.starts_at > now,
                        in_scope(RotaAssignment.guild_id, self.scope),
                    )
                )
            ).all()
            for row, occurrence, settings in rows:
                confirm_at, remind_at, escalate_at = _step_times(occurrence.starts_at, settings)
                config = await session.get(GuildConfig, row.guild_id)
                if row.status == DutyStatus.PLANNED and not row.confirm_sent and now >= confirm_at:
                    # A request made at or after the reminder's time (a duty planned late, a bot that was down)
                    # is the one nudge: a reminder straight after it would only be noise.
                    values: dict[str, object] = {"confirm_sent": True, "reminder_sent": now >= remind_at}
                    if await claim_by_id(session, RotaAssignment, row.id, confirm_sent=False, values=values):
                        enqueue(session, now, row.guild_id, _confirm_request(row, occurrence, config))
                elif (
                    row.status == DutyStatus.PLANNED and row.confirm_sent and not row.reminder_sent and now >= remind_at
                ):
                    if await claim_by_id(
                        session, RotaAssignment, row.id, reminder_sent=False, values={"reminder_sent": True}
                    ):
                        # Past the escalation time the coordinators hear now anyway: the reminder is only marked.
                        if now < escalate_at:
                            reminder = _confirm_request(row, occurrence, config, reminder=True)
                            enqueue(session, now, row.guild_id, reminder)
                if row.status in (DutyStatus.PLANNED, DutyStatus.OPEN) and not row.escalated and now >= escalate_at:
                    if await claim_by_id(session, RotaAssignment, row.id, escalated=False, values={"escalated": True}):
                        _alert_coordinators(session, now, config, _escalation_text(row, occurrence))
        await self._weekly_posts(now)

    async def next_due(self, session: AsyncSession | None = None) -> datetime | None:
        """Return the earliest instant at which `tick` has something to do."""
        if session is None:
            async with self._db.session() as session:
                return await self.next_due(session)
        now = self._clock.now()
        rows = (
            await session.execute(
                select(RotaAssignment, MeetingOccurrence.starts_at, RotaSettings)
                .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                .outerjoin(RotaSettings, RotaSettings.guild_id == RotaAssignment.guild_id)
                .where(
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.starts_at > now,
                    RotaAssignment.status.in_((DutyStatus.PLANNED, DutyStatus.OPEN)),
                    in_scope(RotaAssignment.guild_id, self.scope),
                )
            )
        ).all()
        due: list[datetime] = []
        for row, starts_at, settings in rows:
            confirm_at, remind_at, escalate_at = _step_times(starts_at, settings)
            if row.status == DutyStatus.PLANNED and not row.confirm_sent:
                due.append(confirm_at)
            elif row.status == DutyStatus.PLANNED and not row.reminder_sent:
                due.append(remind_at)
            if not row.escalated:
                due.append(escalate_at)
        # Only the groups `_weekly_posts` posts for: one it skips would otherwise be reported due at every look.
        for config in await self._weekly_post_groups(session):
            due.append(_next_weekly_post(now, zone_of(config), await session.get(RotaSettings, config.guild_id)))
        return min(due) if due else None

    async def _weekly_post_groups(self, session: AsyncSession) -> list[GuildConfig]:
        """Return the settings of the groups that get a weekly rota post: active rota members and somewhere to post."""
        guilds = (
            await session.scalars(
                select(RotaMember.guild_id)
                .where(RotaMember.active.is_(True), in_scope(RotaMember.guild_id, self.scope))
                .distinct()
            )
        ).all()
        configs = [await session.get(GuildConfig, guild_id) for guild_id in guilds]
        return [config for config in configs if config is not None and config.facilitators_channel_id]

    async def _weekly_posts(self, now: datetime) -> None:
        async with self._db.session() as session:
            for config in await self._weekly_post_groups(session):
                guild_id = config.guild_id
                zone = zone_of(config)
                monday = _monday(now.astimezone(zone).date())
                if now < datetime.combine(monday, WEEKLY_POST_TIME, zone):
                    continue
                settings = await ensure_settings(session, self._db.is_sqlite, guild_id)
                if settings.last_weekly_post == monday:
                    continue
                won = await session.execute(
                    update(RotaSettings)
                    .where(
                        RotaSettings.guild_id == guild_id,
                        (RotaSettings.last_weekly_post.is_(None)) | (RotaSettings.last_weekly_post != monday),
                    )
                    .values(last_weekly_post=monday)
                )
                if rowcount(won) != 1:
                    continue
                duties = await self._rota._duties(session, guild_id, now, now + timedelta(weeks=WEEKLY_POST_WEEKS))
                enqueue(
                    session,
                    now,
                    guild_id,
                    Message(rota_post(duties, "This week's rota"), channel_id=config.facilitators_channel_id),
                )

    # --- recognition -----------------------------------------------------------------------------------

    async def celebrate(self, guild_id: int, occurrence_id: int) -> int:
        """Thank facilitators for milestones reached by this meeting; return how many."""
        now = self._clock.now()
        async with self._db.session() as session:
            config = await session.get(GuildConfig, guild_id)
            if config is None or not config.facilitators_channel_id:
                return 0
            occurrence = await session.get(MeetingOccurrence, occurrence_id)
            if occurrence is None or occurrence.state != OccurrenceState.COMPLETED:
                return 0
            messages: list[tuple[str, str]] = []
            on_duty = (
                await session.scalars(
                    select(RotaAssignment.user_id).where(
                        RotaAssignment.occurrence_id == occurrence_id, RotaAssignment.user_id.is_not(None)
                    )
                )
            ).all()
            for user_id in on_duty:
                assert user_id is not None  # noqa: S101 - filtered above
                count = (await self._rota._duty_counts(session, guild_id, before=None)).get(user_id, 0)
                if count in FACILITATOR_MILESTONES:
                    member = await session.scalar(
                        select(RotaMember).where(RotaMember.guild_id == guild_id, RotaMember.user_id == user_id)
                    )
                    who = (
                        mention_user(user_id) if member is None or member.named_in_thanks else "One of our facilitators"
                    )
                    messages.append(
                        (f"facilitator:{user_id}:{count}", f"🎉 {who} has now facilitated {count} meetings. Thank you!")
                    )
            # The group's own milestones (meetings held, anniversaries) are celebrated with everyone, in the
            # meetings channel, by volunteer care (bot/services/care/milestones.py).
            sent = 0
            for key, text in messages:
                exists = await session.scalar(
                    select(RotaMilestone.id).where(RotaMilestone.guild_id == guild_id, RotaMilestone.key == key)
                )
                if exists is not None:
                    continue
                session.add(RotaMilestone(guild_id=guild_id, key=key, celebrated_at=now))
                enqueue(session, now, guild_id, Message(text, channel_id=config.facilitators_channel_id))
                sent += 1
            return sent


def _step_times(starts_at: datetime, settings: RotaSettings | None) -> tuple[datetime, datetime, datetime]:
    """Return when a duty's confirmation is asked for, when it is reminded once, and when coordinators are told."""
    confirm = settings.confirm_hours_before if settings else 72
    escalate = settings.escalate_hours_before if settings else 24
    confirm_at, escalate_at = starts_at - timedelta(hours=confirm), starts_at - timedelta(hours=escalate)
    # Halfway (48 hours before with the default 72 and 24): a day to answer the request before the reminder, and a
    # day after it to answer or swap before anyone else hears; it follows a group's own confirm and escalate hours.
    return confirm_at, confirm_at + (escalate_at - confirm_at) / 2, escalate_at


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _next_weekly_post(now: datetime, zone: ZoneInfo, settings: RotaSettings | None) -> datetime:
    monday = _monday(now.astimezone(zone).date())
    this_week = datetime.combine(monday, WEEKLY_POST_TIME, zone)
    if settings is None or settings.last_weekly_post != monday:
        return max(this_week, now).astimezone(UTC)
    return datetime.combine(monday + timedelta(days=7), WEEKLY_POST_TIME, zone).astimezone(UTC)


def _confirm_request(
    row: RotaAssignment, occurrence: MeetingOccurrence, config: GuildConfig | None, *, reminder: bool = False
) -> DirectMessage:
    duty = (
        f"{ROLE_WORDS[row.role]} **{occurrence.title}** {timestamp(occurrence.starts_at)} "
        f"({timestamp(occurrence.starts_at, 'R')})"
    )
    content = (
        f"A gentle reminder: you're down to {duty}. Could you let us know whether you can make it? If you can't, "
        "that's fine: press \"Can't make it\" and we'll find cover."
        if reminder
        else f"You're down to {duty}. Can you make it?"
    )
    return DirectMessage(
        user_id=row.user_id,
        channel_id=config.facilitators_channel_id if config else None,
        content=content,
        buttons=(
            Button("Confirm", rota_id("confirm", row.id), "success"),
            Button("Can't make it", rota_id("decline", row.id), "secondary"),
        ),
    )


def _escalation_text(row: RotaAssignment, occurrence: MeetingOccurrence) -> str:
    # Asks for help and names nobody: a volunteer who hasn't answered yet may simply be busy or unwell.
    when = f"**{occurrence.title}** {timestamp(occurrence.starts_at)} ({timestamp(occurrence.starts_at, 'R')})"
    duty = f"the {ROLE_WORDS[row.role]} duty"
    if row.status == DutyStatus.OPEN:
        return f"Could you help find cover for {when}? {duty.capitalize()} is still open."
    return (
        f"Could you help make sure {when} is covered? {duty.capitalize()} isn't confirmed yet, so it may need a "
        "stand-in: if a facilitator can step in, `/rota pin` puts them on it."
    )


def _alert_coordinators(session: AsyncSession, now: datetime, config: GuildConfig | None, text: str) -> None:
    if config is None or not config.coordinators_channel_id:
        log.warning("A rota alert could not be sent: no coordinators' channel.")
        return
    enqueue(session, now, config.guild_id, Message(text, channel_id=config.coordinators_channel_id))
