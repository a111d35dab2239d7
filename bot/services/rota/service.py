"""The facilitator rota: roster, fair assignment, confirmations, cover, escalation and recognition.

Timed steps (ask to confirm, escalate, weekly post) are derived from assignment rows and their
meeting's start, and each is claimed with a conditional UPDATE, so a restart repeats nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_rota import RotaAssignment, RotaAway, RotaMember, RotaSettings
from bot.domain import rota as planner
from bot.domain.discord_ids import mention_user, rota_id, timestamp
from bot.domain.states import DutyStatus, OccurrenceState
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Button, Cover, CoverEdit, DirectMessage, Message
from bot.services.rota.planning import (
    active_facilitators,
    existing_assignments,
    plannable_occurrences,
    slot_of,
    write_plan,
)
from bot.services.rota.rows import duty_of, ensure_settings, update_own_duty, zone_of
from bot.services.rota.views import Duty, PlanSummary, ROLE_WORDS, rota_post

log = logging.getLogger(__name__)

DEFAULT_HORIZON_WEEKS = 8
FACILITATOR_MILESTONES = (10, 25, 50)
GROUP_MEETING_MILESTONES = (50,)
WEEKLY_POST_WEEKS = 2
WEEKLY_POST_TIME = time(9, 0)


class RotaService:
    """Use cases of the facilitator rota."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    # --- roster -----------------------------------------------------------------------------------

    async def join(
        self, guild_id: int, user_id: int, *, roles: set[str], trained_since: date, max_per_month: int | None
    ) -> None:
        """Add (or update) a facilitator on the rota."""
        unknown = roles - planner.FACILITATOR_ROLES
        if not roles or unknown:
            raise InvalidInputError("Roles must be some of: lead, co, host (for example `lead,co`).")
        if trained_since > self._clock.now().date():
            raise InvalidInputError("The training date can't be in the future.")
        if max_per_month is not None and not 0 <= max_per_month <= 31:
            raise InvalidInputError("The monthly maximum must be between 0 and 31.")
        async with self._db.session() as session:
            member = await session.scalar(
                select(RotaMember).where(RotaMember.guild_id == guild_id, RotaMember.user_id == user_id)
            )
            if member is None:
                member = RotaMember(guild_id=guild_id, user_id=user_id, joined_at=self._clock.now())
                session.add(member)
            member.roles = ",".join(sorted(roles))
            member.trained_since = trained_since
            member.max_per_month = max_per_month
            member.active = True
            if member.named_in_thanks is None:
                member.named_in_thanks = True
            if member.preferred_series is None:
                member.preferred_series = ""

    async def leave(self, guild_id: int, user_id: int) -> int:
        """Take a facilitator off the rota; their upcoming duties open for cover. Return how many."""
        async with self._db.session() as session:
            member = await self._member(session, guild_id, user_id)
            member.active = False
            return await self._release(session, guild_id, user_id, self._clock.now(), None)

    async def set_named(self, guild_id: int, user_id: int, named: bool) -> None:
        """Choose whether milestones thank this facilitator by name."""
        async with self._db.session() as session:
            (await self._member(session, guild_id, user_id)).named_in_thanks = named

    async def away(self, guild_id: int, user_id: int, first_day: date, last_day: date) -> int:
        """Record days away (inclusive, local); duties in them open for cover. Return how many."""
        if last_day < first_day:
            raise InvalidInputError("The last day away must be on or after the first.")
        if (last_day - first_day).days > 366:
            raise InvalidInputError("Away periods can be at most a year; use `/rota leave` for longer.")
        async with self._db.session() as session:
            await self._member(session, guild_id, user_id)
            zone = zone_of(await session.get(GuildConfig, guild_id))
            starts = datetime.combine(first_day, time(0), zone).astimezone(UTC)
            ends = datetime.combine(last_day + timedelta(days=1), time(0), zone).astimezone(UTC)
            if ends <= self._clock.now():
                raise InvalidInputError("That period is already over.")
            session.add(RotaAway(guild_id=guild_id, user_id=user_id, starts_at=starts, ends_at=ends))
            return await self._release(session, guild_id, user_id, starts, ends)

    async def back(self, guild_id: int, user_id: int) -> int:
        """End every current or future time away; return how many periods were removed or shortened."""
        now = self._clock.now()
        async with self._db.session() as session:
            await self._member(session, guild_id, user_id)
            rows = (
                await session.scalars(
                    select(RotaAway).where(
                        RotaAway.guild_id == guild_id, RotaAway.user_id == user_id, RotaAway.ends_at > now
                    )
                )
            ).all()
            for row in rows:
                if row.starts_at >= now:
                    await session.delete(row)
                else:
                    row.ends_at = now
            return len(rows)

    # --- planning ---------------------------------------------------------------------------------

    async def generate(self, guild_id: int, weeks: int = DEFAULT_HORIZON_WEEKS) -> PlanSummary:
        """Plan duties for the coming weeks; confirmed, pinned and open (cover) duties stay as they are."""
        if not 1 <= weeks <= 26:
            raise InvalidInputError("Plan between 1 and 26 weeks ahead.")
        now = self._clock.now()
        async with self._db.session() as session:
            config = await session.get(GuildConfig, guild_id)
            settings = await session.get(RotaSettings, guild_id)
            zone = zone_of(config)
            occurrences = await plannable_occurrences(session, guild_id, now, weeks)
            facilitators = await active_facilitators(session, guild_id)
            by_occurrence = {o.id: o for o in occurrences}
            current = (
                await session.scalars(
                    select(RotaAssignment).where(RotaAssignment.occurrence_id.in_(list(by_occurrence)))
                )
            ).all()
            history = await self._duty_counts(session, guild_id, before=now)
            month_duties = await self._month_duties(session, guild_id, zone, now)
            plan = planner.assign(
                [slot_of(o, zone) for o in occurrences],
                facilitators,
                existing_assignments(current),
                planner.RotaPolicy(max_consecutive=settings.max_consecutive if settings else 2),
                today=now.astimezone(zone).date(),
                history=history,
                month_duties=month_duties,
            )
            planned = await write_plan(session, guild_id, plan, current, now)
            await self._sync_leads(session, list(by_occurrence))
            shortfalls = [
                f"{timestamp(by_occurrence[s.occurrence_id].starts_at)} {ROLE_WORDS[s.role]}: {s.reason}"
                for s in plan.shortfalls
            ]
            await self._post_new_rota(session, guild_id, config, settings, now)
            return PlanSummary(planned, shortfalls)

    async def _post_new_rota(
        self,
        session: AsyncSession,
        guild_id: int,
        config: GuildConfig | None,
        settings: RotaSettings | None,
        now: datetime,
    ) -> None:
        """Post the freshly planned rota to the facilitators' channel, if the group has one."""
        if config is None or not config.facilitators_channel_id:
            return
        # This post stands in for this week's weekly post.
        if settings is None:
            settings = await ensure_settings(session, self._db.is_sqlite, guild_id)
        local_today = now.astimezone(zone_of(config)).date()
        settings.last_weekly_post = local_today - timedelta(days=local_today.weekday())
        duties = await self._duties(session, guild_id, now, now + timedelta(weeks=WEEKLY_POST_WEEKS))
        enqueue(
            session,
            now,
            guild_id,
            Message(rota_post(duties, "The rota is out"), channel_id=config.facilitators_channel_id),
        )

    async def pin(self, guild_id: int, occurrence_id: int, role: str, user_id: int) -> Duty:
        """Put a facilitator on a duty by hand; regeneration never moves it."""
        if role not in ROLE_WORDS:
            raise InvalidInputError("Role must be lead or co.")
        now = self._clock.now()
        async with self._db.session() as session:
            occurrence = await session.get(MeetingOccurrence, occurrence_id)
            if occurrence is None or occurrence.guild_id != guild_id or occurrence.state != OccurrenceState.SCHEDULED:
                raise NotFoundError(f"There is no upcoming meeting {occurrence_id} here.")
            await self._member(session, guild_id, user_id)
            row = await session.scalar(
                select(RotaAssignment).where(RotaAssignment.occurrence_id == occurrence_id, RotaAssignment.role == role)
            )
            if row is None:
                row = RotaAssignment(
                    guild_id=guild_id, occurrence_id=occurrence_id, role=role, confirm_sent=False, escalated=False
                )
                session.add(row)
            row.user_id = user_id
            row.status = DutyStatus.PLANNED
            row.pinned = True
            row.updated_at = now
            await session.flush()
            await self._sync_leads(session, [occurrence_id])
            return await self._duty(session, row.id)

    # --- confirmations and cover ----------------------------------------------------------------------

    async def confirm(self, guild_id: int, assignment_id: int, user_id: int) -> Duty:
        """Confirm one's own duty."""
        async with self._db.session() as session:
            values: dict[str, object] = {"status": DutyStatus.CONFIRMED, "updated_at": self._clock.now()}
            if not await update_own_duty(session, guild_id, assignment_id, user_id, values):
                raise ConflictError("That duty isn't yours to confirm any more.")
            return await self._duty(session, assignment_id)

    async def decline(self, guild_id: int, assignment_id: int, user_id: int) -> Duty:
        """Give up one's duty: it opens for cover and the facilitators are asked."""
        now = self._clock.now()
        async with self._db.session() as session:
            values: dict[str, object] = {
                "status": DutyStatus.OPEN,
                "user_id": None,
                "released_by": user_id,
                "escalated": False,
                "updated_at": now,
            }
            if not await update_own_duty(session, guild_id, assignment_id, user_id, values):
                raise ConflictError("That duty isn't yours any more.")
            row = await session.get(RotaAssignment, assignment_id)
            assert row is not None  # noqa: S101 - just updated
            await self._sync_leads(session, [row.occurrence_id])
            await self._ask_for_cover(session, row, now)
            return await self._duty(session, assignment_id)

    async def swap(self, guild_id: int, user_id: int, on: date) -> Duty:
        """Ask for cover for one's duty on a local date."""
        async with self._db.session() as session:
            zone = zone_of(await session.get(GuildConfig, guild_id))
            rows = (
                await session.execute(
                    select(RotaAssignment, MeetingOccurrence)
                    .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                    .where(
                        RotaAssignment.guild_id == guild_id,
                        RotaAssignment.user_id == user_id,
                        RotaAssignment.status.in_((DutyStatus.PLANNED, DutyStatus.CONFIRMED)),
                        MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    )
                )
            ).all()
            matching = [a.id for a, o in rows if o.starts_at.astimezone(zone).date() == on]
        if not matching:
            raise NotFoundError(f"You have no duty on {on.isoformat()}. `/rota mine` lists yours.")
        return await self.decline(guild_id, matching[0], user_id)

    async def take(self, guild_id: int, assignment_id: int, user_id: int) -> tuple[Duty, int | None]:
        """Take an open duty; the first eligible click wins. Return the duty and who released it."""
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(RotaAssignment, assignment_id)
            if row is None or row.guild_id != guild_id:
                raise NotFoundError("That cover request no longer exists.")
            member = await session.scalar(
                select(RotaMember).where(
                    RotaMember.guild_id == guild_id, RotaMember.user_id == user_id, RotaMember.active.is_(True)
                )
            )
            if member is None:
                raise InvalidInputError("Only facilitators on the rota can take a shift: join with `/rota join`.")
            needed = {"lead": {"lead"}, "co": {"lead", "co"}}[row.role]
            if not needed & set(member.roles.split(",")):
                raise InvalidInputError(f"This shift needs someone who can {ROLE_WORDS[row.role]}.")
            occurrence = await session.get(MeetingOccurrence, row.occurrence_id)
            assert occurrence is not None  # noqa: S101 - foreign key
            partner = await session.scalar(
                select(RotaAssignment.id).where(
                    RotaAssignment.occurrence_id == row.occurrence_id,
                    RotaAssignment.user_id == user_id,
                    RotaAssignment.id != row.id,
                )
            )
            if partner is not None:
                raise InvalidInputError("You already have the other duty at that meeting.")
            away = await session.scalar(
                select(RotaAway.id).where(
                    RotaAway.guild_id == guild_id,
                    RotaAway.user_id == user_id,
                    RotaAway.starts_at < occurrence.ends_at,
                    RotaAway.ends_at > occurrence.starts_at,
                )
            )
            if away is not None:
                raise InvalidInputError("You're marked as away then: use `/rota back` first if that changed.")
            won = await session.execute(
                update(RotaAssignment)
                .where(RotaAssignment.id == assignment_id, RotaAssignment.status == DutyStatus.OPEN)
                .values(status=DutyStatus.CONFIRMED, user_id=user_id, updated_at=now, confirm_sent=True)
            )
            if rowcount(won) != 1:
                raise ConflictError("Someone else took this shift a moment ago. Thank you for offering!")
            await session.refresh(row)
            await self._sync_leads(session, [row.occurrence_id])
            enqueue(
                session,
                now,
                guild_id,
                CoverEdit(
                    assignment_id=row.id,
                    content=f"Covered: {occurrence.title} {timestamp(occurrence.starts_at)} "
                    f"({ROLE_WORDS[row.role]}) is taken by {mention_user(user_id)}. Thank you!",
                ),
            )
            if row.released_by:
                enqueue(
                    session,
                    now,
                    guild_id,
                    DirectMessage(
                        user_id=row.released_by,
                        content=f"Good news: {mention_user(user_id)} is covering your {ROLE_WORDS[row.role]} duty at "
                        f"{occurrence.title} {timestamp(occurrence.starts_at)}.",
                    ),
                )
            return await self._duty(session, assignment_id), row.released_by

    async def guild_of(self, assignment_id: int) -> int:
        """Return the group a duty belongs to (buttons in DMs carry no guild)."""
        async with self._db.session() as session:
            row = await session.get(RotaAssignment, assignment_id)
            if row is None:
                raise NotFoundError("That duty no longer exists.")
            return row.guild_id

    async def record_cover_message(self, assignment_id: int, message_id: int) -> None:
        """Remember the cover request message so it can be updated when the shift is taken."""
        async with self._db.session() as session:
            await session.execute(
                update(RotaAssignment).where(RotaAssignment.id == assignment_id).values(cover_message_id=message_id)
            )

    async def cover_message(self, assignment_id: int) -> int | None:
        """Return the cover request message of a duty."""
        async with self._db.session() as session:
            row = await session.get(RotaAssignment, assignment_id)
            return row.cover_message_id if row else None

    # --- reading ----------------------------------------------------------------------------------------

    async def show(self, guild_id: int, weeks: int = 4) -> list[Duty]:
        """Return the duties of the coming weeks."""
        if not 1 <= weeks <= 26:
            raise InvalidInputError("Show between 1 and 26 weeks.")
        now = self._clock.now()
        async with self._db.session() as session:
            return await self._duties(session, guild_id, now, now + timedelta(weeks=weeks))

    async def mine(self, guild_id: int, user_id: int) -> list[Duty]:
        """Return one facilitator's upcoming duties."""
        now = self._clock.now()
        async with self._db.session() as session:
            duties = await self._duties(session, guild_id, now, now + timedelta(weeks=52))
        return [duty for duty in duties if duty.user_id == user_id]

    # --- internals -------------------------------------------------------------------------------------

    async def _member(self, session: AsyncSession, guild_id: int, user_id: int) -> RotaMember:
        member = await session.scalar(
            select(RotaMember).where(RotaMember.guild_id == guild_id, RotaMember.user_id == user_id)
        )
        if member is None:
            raise NotFoundError("You're not on the rota. Facilitators join with `/rota join`.")
        return member

    async def _release(
        self, session: AsyncSession, guild_id: int, user_id: int, starts: datetime, ends: datetime | None
    ) -> int:
        now = self._clock.now()
        query = (
            select(RotaAssignment)
            .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
            .where(
                RotaAssignment.guild_id == guild_id,
                RotaAssignment.user_id == user_id,
                RotaAssignment.status.in_((DutyStatus.PLANNED, DutyStatus.CONFIRMED)),
                MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                MeetingOccurrence.starts_at > max(now, starts),
            )
        )
        if ends is not None:
            query = query.where(MeetingOccurrence.starts_at < ends)
        rows = (await session.scalars(query)).all()
        for row in rows:
            row.status = DutyStatus.OPEN
            row.user_id = None
            row.released_by = user_id
            row.escalated = False
            row.updated_at = now
            await session.flush()
            await self._ask_for_cover(session, row, now)
        await self._sync_leads(session, [row.occurrence_id for row in rows])
        return len(rows)

    async def _ask_for_cover(self, session: AsyncSession, row: RotaAssignment, now: datetime) -> None:
        config = await session.get(GuildConfig, row.guild_id)
        occurrence = await session.get(MeetingOccurrence, row.occurrence_id)
        assert occurrence is not None  # noqa: S101 - foreign key
        if config is None or not config.facilitators_channel_id:
            log.warning("Guild %s has no facilitators' channel; cover request not posted.", row.guild_id)
            return
        enqueue(
            session,
            now,
            row.guild_id,
            Cover(
                assignment_id=row.id,
                channel_id=config.facilitators_channel_id,
                content=f"Cover needed: **{occurrence.title}** {timestamp(occurrence.starts_at)} "
                f"({timestamp(occurrence.starts_at, 'R')}), {ROLE_WORDS[row.role]}. Can you take it?",
                buttons=(Button("Take this shift", rota_id("take", row.id), "success"),),
            ),
        )

    async def _sync_leads(self, session: AsyncSession, occurrence_ids: list[int]) -> None:
        """Make each meeting's facilitator the rota's lead (or nobody while the lead duty is open)."""
        for occurrence_id in set(occurrence_ids):
            lead = await session.scalar(
                select(RotaAssignment.user_id).where(
                    RotaAssignment.occurrence_id == occurrence_id, RotaAssignment.role == "lead"
                )
            )
            await session.execute(
                update(MeetingOccurrence)
                .where(MeetingOccurrence.id == occurrence_id, MeetingOccurrence.state == OccurrenceState.SCHEDULED)
                .values(facilitator_id=lead)
            )

    async def _duties(self, session: AsyncSession, guild_id: int, start: datetime, end: datetime) -> list[Duty]:
        rows = (
            await session.execute(
                select(RotaAssignment, MeetingOccurrence)
                .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                .where(
                    RotaAssignment.guild_id == guild_id,
                    MeetingOccurrence.state.in_((OccurrenceState.SCHEDULED, OccurrenceState.RUNNING)),
                    MeetingOccurrence.starts_at >= start,
                    MeetingOccurrence.starts_at < end,
                )
                .order_by(MeetingOccurrence.starts_at, RotaAssignment.role.desc())
            )
        ).all()
        return [duty_of(a, o) for a, o in rows]

    async def _duty(self, session: AsyncSession, assignment_id: int) -> Duty:
        row = (
            await session.execute(
                select(RotaAssignment, MeetingOccurrence)
                .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                .where(RotaAssignment.id == assignment_id)
            )
        ).one()
        return duty_of(row[0], row[1])

    async def _duty_counts(self, session: AsyncSession, guild_id: int, *, before: datetime | None) -> dict[int, int]:
        query = (
            select(RotaAssignment.user_id, func.count())
            .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
            .where(
                RotaAssignment.guild_id == guild_id,
                RotaAssignment.user_id.is_not(None),
                MeetingOccurrence.state == OccurrenceState.COMPLETED,
            )
            .group_by(RotaAssignment.user_id)
        )
        if before is not None:
            query = query.where(MeetingOccurrence.starts_at < before)
        return {cast(int, user_id): int(count) for user_id, count in (await session.execute(query)).all()}

    async def _month_duties(
        self, session: AsyncSession, guild_id: int, zone: ZoneInfo, now: datetime
    ) -> dict[tuple[int, str], int]:
        local = now.astimezone(zone)
        month_start = datetime(local.year, local.month, 1, tzinfo=zone).astimezone(UTC)
        rows = (
            await session.execute(
                select(RotaAssignment.user_id, MeetingOccurrence.starts_at)
                .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
                .where(
                    RotaAssignment.guild_id == guild_id,
                    RotaAssignment.user_id.is_not(None),
                    MeetingOccurrence.starts_at >= month_start,
                    MeetingOccurrence.starts_at <= now,
                    MeetingOccurrence.state.in_((OccurrenceState.COMPLETED, OccurrenceState.RUNNING)),
                )
            )
        ).all()
        counts: dict[tuple[int, str], int] = {}
        for user_id, starts_at in rows:
            key = (cast(int, user_id), starts_at.astimezone(zone).strftime("%Y-%m"))
            counts[key] = counts.get(key, 0) + 1
        return counts
