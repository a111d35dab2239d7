"""A member's call for help reaching a person: who is told, who takes it, and the coordinators when nobody does.

What the member wrote is never stored: it travels only in the Discord messages the cog posts. The table records
that an alert happened, who took it and when, and the member's id only until they have been told someone has it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import earliest, rowcount
from bot.db.models import FacilitatorAlert, GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaAssignment
from bot.domain.discord_ids import alert_take_id, mention_user
from bot.domain.shards import ShardScope
from bot.domain.states import AlertState, DutyStatus, OccurrenceState
from bot.errors import InvalidInputError
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import AlertEscalate, AlertTaken, Button, DirectMessage
from bot.services.scope import in_scope

log = logging.getLogger(__name__)

# The wait before coordinators hear of an alert nobody has taken, unless the group set its own.
DEFAULT_ESCALATION = timedelta(minutes=5)
ESCALATION_MINUTES_RANGE = (1, 60)
# How long the ids of the member and of the facilitator who took it are kept: long enough to tell the member and
# to show who took it, then only the fact of the alert (a count, and how soon it was taken) remains.
ID_RETENTION = timedelta(days=1)


def take_button(alert_id: int) -> Button:
    """Return the "I'm on it" button as an outbox button spec."""
    return Button("I'm on it", alert_take_id(alert_id), "danger")


@dataclass(frozen=True)
class RaisedAlert:
    """A new alert and whom to reach: the facilitators running the meeting now, else the facilitator role."""

    id: int
    meeting_title: str | None
    facilitator_ids: tuple[int, ...]
    facilitator_role_id: int | None
    escalate_at: datetime


@dataclass(frozen=True)
class TakeOutcome:
    """The answer to an "I'm on it" click: whether this click won, and who holds the alert."""

    won: bool
    taken_by: int | None
    taken_at: datetime | None


class AlertService:
    """Raise alerts, let the first facilitator take one, and escalate those nobody took in time."""

    def __init__(self, database: Database, clock: Clock, scope: ShardScope | None = None) -> None:
        self._db = database
        self._clock = clock
        self.scope = scope

    async def raise_alert(self, guild_id: int, member_id: int, source_channel_id: int | None) -> RaisedAlert:
        """Record that a member asked for help and return whom to notify first."""
        now = self._clock.now()
        async with self._db.session() as session:
            config = await session.get(GuildConfig, guild_id)
            minutes = config.alert_escalation_minutes if config is not None else None
            wait = timedelta(minutes=minutes) if minutes else DEFAULT_ESCALATION
            running = await self._running_meeting(session, guild_id, source_channel_id)
            facilitators = await self._running_facilitators(session, running) if running is not None else ()
            role_id = config.facilitator_role_id if config is not None else None
            # With nobody to mention, a post in the facilitators' channel could sit unseen: tell coordinators at once.
            escalate_at = now + wait if facilitators or role_id else now
            alert = FacilitatorAlert(
                guild_id=guild_id,
                occurrence_id=running.id if running is not None else None,
                state=AlertState.OPEN,
                raised_at=now,
                escalate_at=escalate_at,
                escalated=False,
                member_id=member_id,
                source_channel_id=source_channel_id,
            )
            session.add(alert)
            await session.flush()
            raised = RaisedAlert(
                id=alert.id,
                meeting_title=running.title if running is not None else None,
                facilitator_ids=facilitators,
                facilitator_role_id=None if facilitators else role_id,
                escalate_at=escalate_at,
            )
        log.info(
            "Alert %s raised in guild %s; running facilitators to notify: %d.", raised.id, guild_id, len(facilitators)
        )
        return raised

    async def _running_meeting(
        self, session: AsyncSession, guild_id: int, source_channel_id: int | None
    ) -> MeetingOccurrence | None:
        """Return the running meeting the alert is about: the one whose thread it came from, else the latest started."""
        running = (
            await session.scalars(
                select(MeetingOccurrence)
                .where(MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.RUNNING)
                .order_by(MeetingOccurrence.actual_start.desc())
            )
        ).all()
        for row in running:
            if source_channel_id is not None and source_channel_id in (row.venue_id, row.channel_id):
                return row
        return running[0] if running else None

    async def _running_facilitators(self, session: AsyncSession, running: MeetingOccurrence) -> tuple[int, ...]:
        """Return who runs the meeting now: whoever started it, and the rota's lead and co-facilitator."""
        on_duty = (
            await session.scalars(
                select(RotaAssignment.user_id).where(
                    RotaAssignment.occurrence_id == running.id,
                    RotaAssignment.user_id.is_not(None),
                    RotaAssignment.status.in_((DutyStatus.PLANNED, DutyStatus.CONFIRMED)),
                )
            )
        ).all()
        ids = [running.facilitator_id, *on_duty]
        return tuple(dict.fromkeys(user_id for user_id in ids if user_id is not None))

    async def record_post(
        self, alert_id: int, *, facilitators_message_id: int | None = None, coordinators_message_id: int | None = None
    ) -> None:
        """Remember where the alert was posted, so that taking it can update every post."""
        values: dict[str, int] = {}
        if facilitators_message_id is not None:
            values["facilitators_message_id"] = facilitators_message_id
        if coordinators_message_id is not None:
            values["coordinators_message_id"] = coordinators_message_id
        if not values:
            return
        async with self._db.session() as session:
            await session.execute(update(FacilitatorAlert).where(FacilitatorAlert.id == alert_id).values(**values))

    async def escalate_now(self, alert_id: int) -> None:
        """Bring an alert's escalation forward to now (its post to the facilitators could not be made)."""
        async with self._db.session() as session:
            await session.execute(
                update(FacilitatorAlert)
                .where(FacilitatorAlert.id == alert_id, FacilitatorAlert.escalated.is_(False))
                .values(escalate_at=self._clock.now())
            )

    async def take(self, guild_id: int, alert_id: int, user_id: int) -> TakeOutcome:
        """Give the alert to the first facilitator who clicks; tell the member privately and update the posts."""
        now = self._clock.now()
        async with self._db.session() as session:
            alert = await session.get(FacilitatorAlert, alert_id)
            if alert is None or alert.guild_id != guild_id:
                raise InvalidInputError("That alert no longer exists.")
            won = await session.execute(
                update(FacilitatorAlert)
                .where(FacilitatorAlert.id == alert_id, FacilitatorAlert.state == AlertState.OPEN)
                .values(state=AlertState.TAKEN, taken_by=user_id, taken_at=now, member_id=None)
                .execution_options(synchronize_session=False)
            )
            if rowcount(won) != 1:
                await session.refresh(alert)
                return TakeOutcome(False, alert.taken_by, alert.taken_at)
            if alert.member_id is not None:
                # The member is told who has it, privately; nobody else learns who raised it.
                enqueue(
                    session,
                    now,
                    guild_id,
                    DirectMessage(
                        user_id=alert.member_id,
                        content=(
                            f"A facilitator, {mention_user(user_id)}, has seen your alert and is on it. Thank you for "
                            "telling us. If you are in danger right now, use `/crisis` for the numbers to call."
                        ),
                    ),
                )
            enqueue(session, now, guild_id, AlertTaken(alert_id, taken_by=user_id))
        log.info("Alert %s taken.", alert_id)
        return TakeOutcome(True, user_id, now)

    async def get(self, alert_id: int) -> FacilitatorAlert | None:
        """Return an alert row (detached), if it exists."""
        async with self._db.session() as session:
            return await session.get(FacilitatorAlert, alert_id)

    async def tick(self) -> int:
        """Escalate the alerts nobody took in time, and forget ids past their retention; return how many escalated."""
        now = self._clock.now()
        escalated = 0
        async with self._db.session() as session:
            due = (
                await session.scalars(
                    select(FacilitatorAlert).where(
                        FacilitatorAlert.state == AlertState.OPEN,
                        FacilitatorAlert.escalated.is_(False),
                        FacilitatorAlert.escalate_at <= now,
                        in_scope(FacilitatorAlert.guild_id, self.scope),
                    )
                )
            ).all()
            for alert in due:
                won = await session.execute(
                    update(FacilitatorAlert)
                    .where(FacilitatorAlert.id == alert.id, FacilitatorAlert.escalated.is_(False))
                    .values(escalated=True)
                    .execution_options(synchronize_session=False)
                )
                if rowcount(won) == 1:
                    minutes = max(0, round((now - alert.raised_at).total_seconds() / 60))
                    enqueue(session, now, alert.guild_id, AlertEscalate(alert.id, minutes))
                    escalated += 1
            await session.execute(
                update(FacilitatorAlert)
                .where(
                    FacilitatorAlert.raised_at < now - ID_RETENTION,
                    or_(FacilitatorAlert.member_id.is_not(None), FacilitatorAlert.taken_by.is_not(None)),
                    in_scope(FacilitatorAlert.guild_id, self.scope),
                )
                .values(member_id=None, taken_by=None)
                .execution_options(synchronize_session=False)
            )
        if escalated:
            log.warning("Alerts not taken in time, coordinators alerted: %d.", escalated)
        return escalated

    async def next_due(self, session: AsyncSession | None = None) -> datetime | None:
        """Return when the next untaken alert escalates, or the next ids are due to be forgotten (in `session`)."""
        if session is None:
            async with self._db.session() as session:
                return await self.next_due(session)
        mine = in_scope(FacilitatorAlert.guild_id, self.scope)
        # One statement for both: this runs at every wake-up, and each statement is a trip to the database.
        query = select(
            earliest(
                FacilitatorAlert.escalate_at,
                FacilitatorAlert.state == AlertState.OPEN,
                FacilitatorAlert.escalated.is_(False),
                mine,
            ),
            earliest(
                FacilitatorAlert.raised_at,
                or_(FacilitatorAlert.member_id.is_not(None), FacilitatorAlert.taken_by.is_not(None)),
                mine,
            ),
        )
        escalation, oldest_ids = (await session.execute(query)).one()
        # Just past the day, since the purge forgets ids of alerts raised strictly more than a day ago.
        forget = oldest_ids + ID_RETENTION + timedelta(seconds=1) if oldest_ids is not None else None
        due = [when for when in (escalation, forget) if when is not None]
        return min(due) if due else None

    async def set_escalation_minutes(self, guild_id: int, minutes: int) -> None:
        """Set how long an alert waits for a facilitator before the coordinators are alerted."""
        low, high = ESCALATION_MINUTES_RANGE
        if not low <= minutes <= high:
            raise InvalidInputError(f"The wait before coordinators are alerted must be {low} to {high} minutes.")
        async with self._db.session() as session:
            config = await session.get(GuildConfig, guild_id)
            if config is None:
                raise InvalidInputError("Run `/setup start` (or `/setup configure`) first.")
            config.alert_escalation_minutes = minutes
            config.updated_at = self._clock.now()
