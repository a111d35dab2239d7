"""Create, list, edit, cancel and skip meetings; keep occurrences and scheduled events in step."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import claim
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingReminder, MeetingSchedule
from bot.db.table_cache import TableCache
from bot.domain.discord_ids import timestamp
from bot.domain.meeting_format import DEFAULT_TEMPLATE, MeetingTemplate
from bot.domain.recurrence import (
    ScheduleRule,
    WEEKDAY_NAMES,
    WEEK_OF_MONTH_NAMES,
    expand,
    first_monthly_start,
    first_weekly_start,
    localize,
    monthly_rule,
    parse_zone,
    repeat_of,
    weekly_rule,
)
from bot.domain.shards import ShardScope
from bot.domain.states import OccurrenceState
from bot.errors import InvalidInputError, NotFoundError
from bot.services.meetings.common import (
    EVENT_CANCELLED,
    LOCATION_KINDS,
    MATERIALISE_HORIZON,
    OccurrenceView,
    event_payload,
    reminder_offsets,
)
from bot.services.meetings.series_edit import follow_series, interval_of, restart_date
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Message
from bot.services.scope import in_scope

log = logging.getLogger(__name__)

MAX_TITLE = 100
MAX_DURATION = 300
MAX_INTERVAL_WEEKS = 8
MAX_REASON = 300
# `edit(week_of_month=WEEKLY)` turns a monthly series back into a weekly one (None leaves it as it is).
WEEKLY = 0
# How far back `_existing_occurrences` looks: more than any change of a zone's UTC offset.
EXISTING_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class ScheduleRequest:
    """What `/meeting schedule` asks for, already parsed into Python values."""

    title: str
    weekday: int | None  # 0 = Monday; None for a one-off
    local_time: time
    on_date: date | None  # the one-off date, or the first week to consider
    interval_weeks: int = 1
    week_of_month: int | None = None  # 1 to 4 or -1 (last): monthly on that `weekday` of the month, not weekly
    duration_minutes: int = 90
    template_slug: str = DEFAULT_TEMPLATE
    location_kind: str = "voice"
    channel_id: int = 0
    timezone: str | None = None


class ScheduleService:
    """Use cases for meeting schedules."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        templates: dict[str, MeetingTemplate],
        scope: ShardScope | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self.templates = templates
        self.scope = scope
        # `/meeting list` is the commonest command: (guild, limit) -> (table version, views), kept until this
        # process next commits a write to meeting_occurrence or a listed meeting ends.
        self._upcoming_cache: TableCache[tuple[int, int], list[OccurrenceView]] = TableCache(
            database, MeetingOccurrence.__tablename__
        )

    def _validate(self, request: ScheduleRequest, default_zone: str | None) -> tuple[ScheduleRule, str]:
        title = request.title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidInputError(f"The title must be 1 to {MAX_TITLE} characters.")
        if not 10 <= request.duration_minutes <= MAX_DURATION:
            raise InvalidInputError(f"The duration must be between 10 and {MAX_DURATION} minutes.")
        if not 1 <= request.interval_weeks <= MAX_INTERVAL_WEEKS:
            raise InvalidInputError(f"`every_weeks` must be between 1 and {MAX_INTERVAL_WEEKS}.")
        if request.template_slug not in self.templates:
            raise InvalidInputError(
                f"There is no meeting format `{request.template_slug[:40]}`. Choose one of: "
                f"{', '.join(sorted(self.templates))}."
            )
        if request.location_kind not in LOCATION_KINDS:
            raise InvalidInputError(f"Where must be one of: {', '.join(LOCATION_KINDS)}.")
        zone_name = request.timezone or default_zone
        if zone_name is None:
            raise InvalidInputError("Give a time zone, or set the group's with `/setup configure timezone:`.")
        zone = parse_zone(zone_name)
        today = self._clock.now().astimezone(zone).date()
        if request.week_of_month is not None:
            if request.weekday is None:
                raise InvalidInputError(
                    "`week_of_month` needs a `weekday` too, e.g. week_of_month:Last weekday:Thursday for the last "
                    "Thursday of each month."
                )
            rrule = monthly_rule(request.week_of_month, request.weekday, request.local_time)
            if request.interval_weeks != 1:
                raise InvalidInputError(
                    f"A meeting on the {WEEK_OF_MONTH_NAMES[request.week_of_month].lower()} "
                    f"{WEEKDAY_NAMES[request.weekday]} of the month repeats monthly, so `every_weeks` can't be used "
                    "with `week_of_month`: leave `every_weeks` at 1."
                )
            start = first_monthly_start(
                request.on_date or today, request.week_of_month, request.weekday, request.local_time
            )
            return ScheduleRule(rrule, zone.key, start), zone.key
        if request.weekday is None:
            if request.on_date is None:
                raise InvalidInputError("A one-off meeting needs a date (e.g. 1 Dec) or a weekday for a weekly one.")
            start = datetime.combine(request.on_date, request.local_time)
            if localize(start, zone) <= self._clock.now():
                raise InvalidInputError("That date and time has already passed. Give a time in the future.")
            return ScheduleRule(None, zone.key, start), zone.key
        rrule = weekly_rule(request.weekday, request.local_time, interval_weeks=request.interval_weeks)
        start = first_weekly_start(request.on_date or today, request.weekday, request.local_time)
        return ScheduleRule(rrule, zone.key, start), zone.key

    async def create(self, guild_id: int, request: ScheduleRequest) -> tuple[int, list[OccurrenceView]]:
        """Store a schedule and its occurrences for the coming weeks; return the id and the first few."""
        now = self._clock.now()
        async with self._db.session() as session:
            config = await session.get(GuildConfig, guild_id)
            rule, zone = self._validate(request, config.timezone if config else None)
            schedule = MeetingSchedule(
                guild_id=guild_id,
                title=request.title.strip(),
                rrule=rule.rrule,
                timezone=zone,
                dtstart_local=rule.dtstart_local.isoformat(),
                duration_minutes=request.duration_minutes,
                template_slug=request.template_slug,
                location_kind=request.location_kind,
                channel_id=request.channel_id,
                active=True,
                created_at=now,
                updated_at=now,
            )
            session.add(schedule)
            await session.flush()
            await self._materialise(session, schedule, config, now)
            upcoming = await self._upcoming(session, guild_id, now, limit=3, schedule_id=schedule.id)
        log.info("Guild %s scheduled meeting series %s.", guild_id, schedule.id)
        return schedule.id, upcoming

    async def materialise_all(self) -> int:
        """Extend every active schedule's occurrences to the horizon, group by group; return how many were added."""
        now = self._clock.now()
        async with self._db.session() as session:
            guild_ids = (
                await session.scalars(
                    select(MeetingSchedule.guild_id)
                    .where(MeetingSchedule.active, in_scope(MeetingSchedule.guild_id, self.scope))
                    .distinct()
                    .order_by(MeetingSchedule.guild_id)
                )
            ).all()
        added = 0
        for guild_id in guild_ids:
            try:
                added += await self.materialise_guild(guild_id, now)
            except Exception:
                # One group's bad data must not keep every other group's meetings from being scheduled.
                log.exception("Extending the meeting schedules of guild %s failed.", guild_id)
        return added

    async def materialise_guild(self, guild_id: int, now: datetime | None = None) -> int:
        """Extend one group's active schedules to the horizon in one short transaction; return how many were added."""
        now = now or self._clock.now()
        # A transaction per group, not one for everything: between groups the (single SQLite) connection is free
        # for commands and timers.
        async with self._db.session() as session:
            series = (
                await session.scalars(
                    select(MeetingSchedule)
                    .where(MeetingSchedule.active, MeetingSchedule.guild_id == guild_id)
                    .order_by(MeetingSchedule.id)
                )
            ).all()
            if not series:
                return 0
            config = await session.get(GuildConfig, guild_id)
            existing = await _existing_occurrences(session, [schedule.id for schedule in series], now)
            added = 0
            for schedule in series:
                added += await self._extend(session, schedule, config, now, existing.get(schedule.id, {}))
            # Once per group, after all its series: which meetings are "next" depends on every series.
            await request_events(session, guild_id, config, self.templates, now)
        return added

    async def _materialise(
        self, session: AsyncSession, schedule: MeetingSchedule, config: GuildConfig | None, now: datetime
    ) -> int:
        existing = await _existing_occurrences(session, [schedule.id], now)
        added = await self._extend(session, schedule, config, now, existing.get(schedule.id, {}))
        await request_events(session, schedule.guild_id, config, self.templates, now)
        return added

    async def _extend(
        self,
        session: AsyncSession,
        schedule: MeetingSchedule,
        config: GuildConfig | None,
        now: datetime,
        existing: dict[str, tuple[int, str]],
    ) -> int:
        """Add the series' missing occurrences up to the horizon; `existing` maps local start to (id, state)."""
        rule = ScheduleRule(schedule.rrule, schedule.timezone, datetime.fromisoformat(schedule.dtstart_local))
        new_rows: list[MeetingOccurrence] = []
        added = 0
        for occurrence in expand(rule, now, now + MATERIALISE_HORIZON):
            local = occurrence.local.isoformat()
            known = existing.get(local)
            if known is not None and known[1] != OccurrenceState.SUPERSEDED:
                continue
            previous = await session.get(MeetingOccurrence, known[0]) if known is not None else None
            if previous is not None:
                # An edit moved the series back onto a date it had left: the same row comes back to life.
                previous.state = OccurrenceState.SCHEDULED
                previous.reason = None
                previous.event_id = None
                previous.event_requested = False
                previous.starts_at = occurrence.utc
                previous.ends_at = occurrence.utc + timedelta(minutes=schedule.duration_minutes)
                previous.title = schedule.title
                previous.location_kind = schedule.location_kind
                previous.channel_id = schedule.channel_id
                add_reminders(session, previous, config, now)
                added += 1
                continue
            row = MeetingOccurrence(
                guild_id=schedule.guild_id,
                schedule_id=schedule.id,
                local_start=local,
                starts_at=occurrence.utc,
                ends_at=occurrence.utc + timedelta(minutes=schedule.duration_minutes),
                state=OccurrenceState.SCHEDULED,
                title=schedule.title,
                template_slug=schedule.template_slug,
                location_kind=schedule.location_kind,
                channel_id=schedule.channel_id,
                phase_nudged=False,
                phase_timings="[]",
                started_late=False,
                no_facilitator_alerted=False,
                event_requested=False,
                created_at=now,
            )
            session.add(row)
            new_rows.append(row)
            added += 1
        if new_rows:
            await session.flush()  # one INSERT round for the series; the reminders need the rows' ids
            for row in new_rows:
                add_reminders(session, row, config, now)
        return added

    async def upcoming(self, guild_id: int, limit: int = 10) -> list[OccurrenceView]:
        """Return the next scheduled or running meetings."""
        now = self._clock.now()

        async def read() -> list[OccurrenceView]:
            async with self._db.session() as session:
                return await self._upcoming(session, guild_id, now, limit=limit)

        # Time only ever removes meetings from the list (one ends); anything else is a write, which moves the version.
        views = await self._upcoming_cache.get(
            (guild_id, limit), read, still_valid=lambda cached: all(view.ends_at > now for view in cached)
        )
        return list(views)

    async def _upcoming(
        self, session: AsyncSession, guild_id: int, now: datetime, *, limit: int, schedule_id: int | None = None
    ) -> list[OccurrenceView]:
        # Plain rows, not entities: the views copy them at once, so identity map and change tracking are pure cost
        # on every `/meeting list`. ORM attributes (not the table's columns) keep the session's autoflush.
        columns = [getattr(MeetingOccurrence, attr.key) for attr in MeetingOccurrence.__mapper__.column_attrs]
        query = (
            select(*columns)
            .where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state.in_((OccurrenceState.SCHEDULED, OccurrenceState.RUNNING)),
                MeetingOccurrence.ends_at > now,
            )
            .order_by(MeetingOccurrence.starts_at)
            .limit(limit)
        )
        if schedule_id is not None:
            query = query.where(MeetingOccurrence.schedule_id == schedule_id)
        # A row has the entity's attribute names, which is all the view reads.
        return [OccurrenceView.of(row) for row in (await session.execute(query)).all()]  # type: ignore[arg-type]

    async def schedules(self, guild_id: int) -> list[MeetingSchedule]:
        """Return the guild's active schedules."""
        async with self._db.session() as session:
            query = select(MeetingSchedule).where(MeetingSchedule.guild_id == guild_id, MeetingSchedule.active)
            return list((await session.scalars(query.order_by(MeetingSchedule.id))).all())

    async def cancel_occurrence(self, guild_id: int, occurrence_id: int, reason: str) -> OccurrenceView:
        """Cancel one upcoming meeting, tell members why and cancel its event."""
        reason = _clean_reason(reason)
        now = self._clock.now()
        async with self._db.session() as session:
            row = await _scheduled_occurrence(session, guild_id, occurrence_id)
            config = await session.get(GuildConfig, guild_id)
            cancel_row(session, row, config, reason, now)
            await request_events(session, guild_id, config, self.templates, now)
            return OccurrenceView.of(row)

    async def skip_next(self, guild_id: int, schedule_id: int, reason: str) -> OccurrenceView:
        """Cancel the next meeting of a series."""
        async with self._db.session() as session:
            next_id = await session.scalar(
                select(MeetingOccurrence.id)
                .where(
                    MeetingOccurrence.guild_id == guild_id,
                    MeetingOccurrence.schedule_id == schedule_id,
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.starts_at > self._clock.now(),
                )
                .order_by(MeetingOccurrence.starts_at)
                .limit(1)
            )
        if next_id is None:
            raise NotFoundError(f"Meeting series {schedule_id} has no upcoming meeting to skip.")
        return await self.cancel_occurrence(guild_id, next_id, reason)

    async def cancel_series(self, guild_id: int, schedule_id: int, reason: str) -> int:
        """End a series: cancel every upcoming meeting of it; return how many were cancelled."""
        reason = _clean_reason(reason)
        now = self._clock.now()
        async with self._db.session() as session:
            schedule = await session.get(MeetingSchedule, schedule_id, with_for_update=not self._db.is_sqlite)
            if schedule is None or schedule.guild_id != guild_id or not schedule.active:
                raise NotFoundError(f"There is no active meeting series {schedule_id} here. See `/meeting list`.")
            schedule.active = False
            schedule.updated_at = now
            config = await session.get(GuildConfig, guild_id)
            rows = (
                await session.scalars(
                    select(MeetingOccurrence).where(
                        MeetingOccurrence.schedule_id == schedule_id,
                        MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    )
                )
            ).all()
            for row in rows:
                cancel_row(session, row, config, reason, now, announce=False)
            if config and config.meetings_channel_id:
                enqueue(
                    session,
                    now,
                    guild_id,
                    Message(
                        channel_id=config.meetings_channel_id,
                        content=f"**{schedule.title}** will no longer meet. Reason: {reason}",
                    ),
                )
            return len(rows)

    async def edit(
        self,
        guild_id: int,
        schedule_id: int,
        *,
        title: str | None = None,
        local_time: time | None = None,
        weekday: int | None = None,
        week_of_month: int | None = None,
        duration_minutes: int | None = None,
        channel_id: int | None = None,
        location_kind: str | None = None,
    ) -> list[OccurrenceView]:
        """Change a series; upcoming meetings and their events follow, started ones are left alone.

        `week_of_month` (1 to 4, or -1 for the last) makes the series monthly on that weekday of the month, and
        `WEEKLY` makes a monthly series weekly again.
        """
        now = self._clock.now()
        async with self._db.session() as session:
            schedule = await session.get(MeetingSchedule, schedule_id, with_for_update=not self._db.is_sqlite)
            if schedule is None or schedule.guild_id != guild_id or not schedule.active:
                raise NotFoundError(f"There is no active meeting series {schedule_id} here. See `/meeting list`.")
            start = datetime.fromisoformat(schedule.dtstart_local)
            current_weekday = start.weekday() if schedule.rrule else None
            current = repeat_of(schedule.rrule)
            position = current.week_of_month if current else None
            if week_of_month is not None:
                position = week_of_month or None
            # A monthly series has no interval of weeks, and one that becomes monthly drops its old one.
            interval = 1 if position is not None else interval_of(schedule.rrule)
            new_weekday = weekday if weekday is not None else current_weekday
            today = now.astimezone(parse_zone(schedule.timezone)).date()
            if not schedule.rrule:
                restart = start.date()
            elif position is not None:
                restart = today  # the next such weekday of a month from today on
            else:
                restart = restart_date(start.date(), today, interval, new_weekday == current_weekday)
            request = ScheduleRequest(
                title=title if title is not None else schedule.title,
                weekday=new_weekday,
                local_time=local_time or start.time(),
                on_date=restart,
                interval_weeks=interval,
                week_of_month=position,
                duration_minutes=duration_minutes or schedule.duration_minutes,
                template_slug=schedule.template_slug,
                location_kind=location_kind or schedule.location_kind,
                channel_id=channel_id or schedule.channel_id,
                timezone=schedule.timezone,
            )
            rule, _zone = self._validate(request, schedule.timezone)
            schedule.title = request.title.strip()
            schedule.rrule = rule.rrule
            schedule.dtstart_local = rule.dtstart_local.isoformat()
            schedule.duration_minutes = request.duration_minutes
            schedule.location_kind = request.location_kind
            schedule.channel_id = request.channel_id
            schedule.updated_at = now
            config = await session.get(GuildConfig, guild_id)
            await follow_series(session, schedule, rule, self.templates, now)
            await session.flush()
            await self._materialise(session, schedule, config, now)
            return await self._upcoming(session, guild_id, now, limit=3, schedule_id=schedule_id)


async def _existing_occurrences(
    session: AsyncSession, schedule_ids: list[int], now: datetime
) -> dict[int, dict[str, tuple[int, str]]]:
    """Return the series' recent and future occurrences as schedule id -> local start -> (id, state)."""
    # Only rows from a day before `now` on: expansion starts at `now` and a row's instant is its local start in the
    # series' zone, so an older row can never match (the day covers any change of a zone's offset). Reading the
    # whole history would make every start-up slower the longer a group has met.
    rows = await session.execute(
        select(
            MeetingOccurrence.schedule_id,
            MeetingOccurrence.local_start,
            MeetingOccurrence.id,
            MeetingOccurrence.state,
        ).where(
            MeetingOccurrence.schedule_id.in_(schedule_ids),
            MeetingOccurrence.starts_at >= now - EXISTING_LOOKBACK,
        )
    )
    existing: dict[int, dict[str, tuple[int, str]]] = {}
    for schedule_id, local_start, occurrence_id, state in rows:
        if schedule_id is None:
            continue  # never: selected by schedule id
        existing.setdefault(schedule_id, {})[local_start] = (occurrence_id, state)
    return existing


def _clean_reason(reason: str) -> str:
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidInputError("Please give a short reason: members will see it.")
    if len(cleaned) > MAX_REASON:
        raise InvalidInputError(f"The reason can be at most {MAX_REASON} characters.")
    return cleaned


async def _scheduled_occurrence(session: AsyncSession, guild_id: int, occurrence_id: int) -> MeetingOccurrence:
    row = await session.get(MeetingOccurrence, occurrence_id)
    if row is None or row.guild_id != guild_id:
        raise NotFoundError(f"There is no meeting {occurrence_id} here. `/meeting list` shows the ids.")
    if row.state != OccurrenceState.SCHEDULED:
        raise InvalidInputError(f"Meeting {occurrence_id} is {row.state}, so it can't be changed any more.")
    return row


def add_reminders(session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime) -> None:
    """Add the pending reminder rows of a new occurrence (only those still in the future)."""
    for offset in reminder_offsets(config):
        due = row.starts_at - timedelta(minutes=offset)
        if due > now:
            session.add(MeetingReminder(guild_id=row.guild_id, occurrence_id=row.id, offset_minutes=offset, due_at=due))


def cancel_row(
    session: AsyncSession,
    row: MeetingOccurrence,
    config: GuildConfig | None,
    reason: str,
    now: datetime,
    *,
    announce: bool = True,
) -> None:
    """Mark an occurrence cancelled, cancel its event, and tell members."""
    row.state = OccurrenceState.CANCELLED
    row.reason = reason
    if row.event_id or row.event_requested:
        enqueue(session, now, row.guild_id, EVENT_CANCELLED, occurrence_id=row.id)
    if announce and config and config.meetings_channel_id:
        enqueue(
            session,
            now,
            row.guild_id,
            Message(
                channel_id=config.meetings_channel_id,
                content=f"**{row.title}** on {timestamp(row.starts_at)} is cancelled. Reason: {reason}",
            ),
            occurrence_id=row.id,
        )


async def request_events(
    session: AsyncSession,
    guild_id: int,
    config: GuildConfig | None,
    templates: dict[str, MeetingTemplate],
    now: datetime,
) -> None:
    """Make sure the next few scheduled meetings are mirrored as Discord scheduled events."""
    ahead = config.events_ahead if config else 4
    rows = (
        await session.scalars(
            select(MeetingOccurrence)
            .where(
                MeetingOccurrence.guild_id == guild_id,
                MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                MeetingOccurrence.starts_at > now,
            )
            .order_by(MeetingOccurrence.starts_at)
            .limit(ahead)
        )
    ).all()
    for row in rows:
        # Conditional, like every state change: a timer's transaction may request the same event beside the
        # schedules being extended after start-up (on PostgreSQL they really overlap); only the winner enqueues it.
        if row.event_requested:
            continue
        if await claim(session, row, values={"event_requested": True}, event_requested=False):
            payload = event_payload(row, templates.get(row.template_slug))
            enqueue(session, now, guild_id, payload, occurrence_id=row.id)
