"""The central office's dashboard figures: every group at a glance, and one group over time.

Counts of people come from the export's protected rows (`ParticipationExport.rows`), so the dashboard shows the same
numbers as `python -m bot export participation`, under the same disclosure control. Facts about meetings and the rota
(held, missed, duties without a facilitator) are group-level facts and shown as they are; facilitators are never
named or identified, only counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import String, and_, bindparam, exists, func, or_, select
from sqlalchemy.sql import Select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_participation import ParticipationOccurrence as P, ParticipationOffice, ParticipationSettings
from bot.db.models_rota import RotaAssignment, RotaMember
from bot.domain.disclosure import DisclosurePolicy
from bot.domain.states import DutyStatus, OccurrenceState
from bot.services.office.pairing import Pairing
from bot.services.participation.common import group_display_name, group_names
from bot.services.participation.dashboard_network import GroupNetwork, NetworkFigures
from bot.services.participation.export import ExportRequest, ParticipationExport, Row, SCOPE_GROUP, SCOPE_TOTAL
from bot.services.participation.feedback import FEEDBACK_QUESTIONS, REFERRAL_QUESTION, column_of
from bot.services.participation.report import fewer_than

log = logging.getLogger(__name__)

TREND_MONTHS = 3
UNCOVERED_HORIZON = timedelta(days=14)
ROTA_WEEKS = 12
GROUP_MONTHS = 12
HISTORY_DAYS = 90
MISSED_IN_A_ROW = 2
STREAK_WINDOW = timedelta(days=60)
MONTH_FIGURES = (
    "meetings",
    "meetings_held",
    "missed_no_facilitator",
    "missed_bot_down",
    "missed_cancelled",
    "missed_other",
    "attendees",
    "new_attendees",
    "returning_attendees",
    "helpful_mean",
    "facilitators",
)


def month_start(day: date) -> date:
    """Return the first day of `day`'s month."""
    return day.replace(day=1)


def month_end(day: date) -> date:
    """Return the last day of `day`'s month."""
    return month_start(day) + relativedelta(months=1) - timedelta(days=1)


@dataclass
class GroupGlance:
    """One group's line on the overview: the chosen month's figures, the trend, the rota and whom to call."""

    guild_id: int
    name: str
    month: dict[str, Any]  # MONTH_FIGURES -> published value (None when suppressed)
    trend: list[tuple[str, Any]]  # (month, published attendances) for the months before, oldest first
    uncovered: int  # duties without anyone in the next two weeks
    missed_in_a_row: int
    next_unconfirmed: bool  # the next meeting has no confirmed facilitator (groups on the rota only)
    on_rota: int = 0  # facilitators active on the group's rota (counted, never named)
    flags: list[str] = field(default_factory=list)
    referral_joins: int | None = 0  # joins through the group's referral routes in the month (None when suppressed)
    tough_debriefs: int | None = 0  # facilitators' debriefs answered "tough" in the month (None when suppressed)

    @property
    def needs_call(self) -> bool:
        """Return whether the office should get in touch."""
        return bool(self.flags)


@dataclass
class Overview:
    """Every group at a glance for one month."""

    month: str
    months: list[str]
    groups: list[GroupGlance]
    policy: DisclosurePolicy
    pairs: list[Pairing] = field(default_factory=list)  # mentoring pairings running now
    milestones: list[tuple[str, str]] = field(default_factory=list)  # (group, milestone) reached in the month


@dataclass
class Meeting:
    """One meeting in a group's history."""

    local_date: str
    outcome: str
    missed_reason: str | None
    phases_reached: int
    phases_total: int
    attendees: Any


@dataclass
class GroupDetail:
    """One group over time: monthly figures, meeting history, rota health and newcomers' referral sources."""

    guild_id: int
    name: str
    months: list[tuple[str, dict[str, Any]]]  # oldest first; a month without meetings has zeros
    history: list[Meeting]  # newest first
    duties_per_facilitator: list[int]  # duties in the last 12 weeks, one number per facilitator, most first
    cover_requests: int
    escalations: int
    uncovered: int
    referrals: list[tuple[str, str]]  # (source, newcomers as shown)
    policy: DisclosurePolicy
    network: GroupNetwork | None = None  # referral routes, debriefs, milestones and pairings (with a clock)


class Dashboard:
    """Read the dashboard's figures through the export's protected rows and the rota's tables."""

    def __init__(self, database: Database, clock: Clock | None = None) -> None:
        self._db = database
        self._export = ParticipationExport(database)
        # The network's figures come from services that take a clock; without one the pages show the export's only.
        self._network = None if clock is None else NetworkFigures(database, clock)

    async def known_groups(self) -> dict[int, str]:
        """Return every group the bot knows (configured, or with meetings counted), by id, with its name."""
        async with self._db.session() as session:
            ids = set((await session.scalars(select(GuildConfig.guild_id))).all())
            ids |= set((await session.scalars(select(P.guild_id).distinct())).all())
            ids |= set((await session.scalars(select(ParticipationSettings.guild_id))).all())
            # The office's own server is where the office works, not a group it supports.
            ids -= set((await session.scalars(select(ParticipationOffice.guild_id))).all())
            named = await group_names(session, ids)
        return {int(guild): named.get(int(guild)) or group_display_name(int(guild), None, None) for guild in ids}

    async def group_name(self, guild_id: int) -> str | None:
        """Return a known group's name, or None when the bot does not know it (or it is the office's server)."""
        known = [
            exists().where(GuildConfig.guild_id == guild_id),
            exists().where(P.guild_id == guild_id),
            exists().where(ParticipationSettings.guild_id == guild_id),
        ]
        query = select(or_(*known), exists().where(ParticipationOffice.guild_id == guild_id))
        async with self._db.session() as session:
            is_known, is_office = (await session.execute(query)).one()
            if not is_known or is_office:
                return None
            named = await group_names(session, [guild_id])
        return named.get(guild_id) or group_display_name(guild_id, None, None)

    async def overview(self, month: date, now: datetime, policy: DisclosurePolicy | None = None) -> Overview:
        """Return every group's figures for `month`'s month, with the three months before it for the trend."""
        policy = policy or DisclosurePolicy()
        first = month_start(month) - relativedelta(months=TREND_MONTHS)
        months = [(first + relativedelta(months=n)).isoformat()[:7] for n in range(TREND_MONTHS + 1)]
        request = ExportRequest(first, month_end(month), by="month", policy=policy)
        published: dict[int, dict[str, Row]] = {}
        async for row in self._export.rows(request):
            if row["scope"] == SCOPE_GROUP:
                published.setdefault(int(row["guild_id"]), {})[str(row["bucket"])] = row
        names = await self.known_groups()
        uncovered = await self._uncovered(now)
        missed = await self._missed_in_a_row(now.date())
        unconfirmed = await self._next_unconfirmed(now)
        on_rota = await self._on_rota()
        network = None
        if self._network is not None:
            network = await self._network.month(month_start(month), month_end(month), now, policy)
        groups = []
        for guild_id, name in names.items():
            rows = published.get(guild_id, {})
            current = rows.get(months[-1])
            figures = {key: (current[key] if current else 0) for key in MONTH_FIGURES}
            if current is None:
                figures["helpful_mean"] = None
            glance = GroupGlance(
                guild_id,
                name,
                figures,
                [(label, rows[label]["attendees"] if label in rows else 0) for label in months[:-1]],
                uncovered.get(guild_id, 0),
                missed.get(guild_id, 0),
                guild_id in unconfirmed,
                on_rota.get(guild_id, 0),
            )
            glance.flags = _flags(glance)
            if network is not None:
                glance.referral_joins = network.referral_joins.get(guild_id, 0)
                glance.tough_debriefs = network.tough_debriefs.get(guild_id, 0)
                glance.flags += network.flags.get(guild_id, [])
            groups.append(glance)
        groups.sort(key=lambda glance: glance.name.casefold())
        overview = Overview(months[-1], months, groups, policy)
        if network is not None:
            overview.pairs = network.pairs
            overview.milestones = [
                (names.get(reached.guild_id) or group_display_name(reached.guild_id, None, None), reached.summary)
                for reached in network.milestones
                if reached.guild_id in names
            ]
        return overview

    async def group(
        self, guild_id: int, now: datetime, policy: DisclosurePolicy | None = None, *, name: str | None = None
    ) -> GroupDetail:
        """Return one group's last twelve months, meeting history, rota health and referral sources."""
        policy = policy or DisclosurePolicy()
        today = now.date()
        first = month_start(today) - relativedelta(months=GROUP_MONTHS - 1)
        labels = [(first + relativedelta(months=n)).isoformat()[:7] for n in range(GROUP_MONTHS)]
        monthly = ExportRequest(first, month_end(today), (guild_id,), "month", policy)
        by_month: dict[str, dict[str, Any]] = {}
        total: Row = {}
        async for row in self._export.rows(monthly):
            if row["scope"] == SCOPE_GROUP:
                by_month[str(row["bucket"])] = row
            elif row["scope"] == SCOPE_TOTAL:
                total = row
        zero = dict.fromkeys(MONTH_FIGURES, 0) | {"helpful_mean": None}
        months = [
            (label, {key: by_month[label][key] for key in MONTH_FIGURES} if label in by_month else zero)
            for label in labels
        ]
        history_request = replace(monthly, start=today - timedelta(days=HISTORY_DAYS), by="occurrence")
        history = [
            Meeting(
                str(row["local_date"]),
                str(row["outcome"] or ""),
                row["missed_reason"],
                int(row["phases_reached"] or 0),
                int(row["phases_total"] or 0),
                row["attendees"],
            )
            async for row in self._export.rows(history_request)
            if row["scope"] == SCOPE_GROUP
        ]
        history.reverse()
        # The twelve months' total row is the report's total for the same range (rounded true totals). As in the
        # report, a total of 1 to threshold-1 newcomers says "fewer than 8" instead of its rounding (0 or 5).
        small = set() if policy.exact else await self._small_referrals(guild_id, first, month_end(today), policy)
        referrals = [
            (label, fewer_than(policy) if column in small else _shown(total.get(column)))
            for column, label in REFERRAL_COLUMNS
        ]
        duties, covers, escalations, uncovered = await self._rota_health(guild_id, now)
        if name is None:
            name = await self.group_name(guild_id) or group_display_name(guild_id, None, None)
        detail = GroupDetail(guild_id, name, months, history, duties, covers, escalations, uncovered, referrals, policy)
        if self._network is not None:
            detail.network = await self._network.group(guild_id, first, month_end(today), policy)
        return detail

    async def _small_referrals(self, guild_id: int, start: date, end: date, policy: DisclosurePolicy) -> set[str]:
        """Return the referral columns whose exact total is 1 to threshold-1 (read to say so, never shown)."""
        params = {"guild_id": guild_id, "start": start.isoformat(), "end": end.isoformat()}
        async with self._db.session() as session:
            sums = (await session.execute(_REFERRAL_SUMS, params)).one()
        return {
            column
            for (column, _label), value in zip(REFERRAL_COLUMNS, sums, strict=True)
            if 0 < value < policy.threshold
        }

    # --- rota and meetings ---------------------------------------------------------------------

    async def _uncovered(self, now: datetime, guild_id: int | None = None) -> dict[int, int]:
        """Return, per group (or for one), the duties in the next two weeks that nobody holds."""
        query = _uncovered_query(now).add_columns(RotaAssignment.guild_id).group_by(RotaAssignment.guild_id)
        if guild_id is not None:
            query = query.where(RotaAssignment.guild_id == guild_id)
        async with self._db.session() as session:
            return {int(guild): int(count) for count, guild in (await session.execute(query)).all()}

    async def _on_rota(self) -> dict[int, int]:
        """Return, per group, how many facilitators are active on its rota."""
        query = (
            select(RotaMember.guild_id, func.count()).where(RotaMember.active.is_(True)).group_by(RotaMember.guild_id)
        )
        async with self._db.session() as session:
            return {int(guild): int(count) for guild, count in (await session.execute(query)).all()}

    async def _missed_in_a_row(self, today: date) -> dict[int, int]:
        """Return, per group, how many of its latest finalised meetings in a row were missed (up to 2)."""
        # Only recent meetings can make a streak worth a call; the local-date index keeps this off the whole history.
        latest = (
            select(
                P.guild_id,
                P.outcome,
                func.row_number()
                .over(partition_by=P.guild_id, order_by=(P.local_date.desc(), P.scheduled_start.desc()))
                .label("recent"),
            )
            .where(P.finalised_at.is_not(None), P.local_date >= (today - STREAK_WINDOW).isoformat())
            .subquery()
        )
        query = select(latest.c.guild_id, latest.c.outcome, latest.c.recent).where(latest.c.recent <= MISSED_IN_A_ROW)
        streaks: dict[int, int] = {}
        broken: set[int] = set()
        async with self._db.session() as session:
            for guild, outcome, _recent in (
                await session.execute(query.order_by(latest.c.guild_id, latest.c.recent))
            ).all():
                guild = int(guild)
                if outcome == "held":
                    broken.add(guild)
                elif guild not in broken:
                    streaks[guild] = streaks.get(guild, 0) + 1
        return streaks

    async def _next_unconfirmed(self, now: datetime) -> set[int]:
        """Return the groups on the rota whose next meeting has no confirmed facilitator."""
        next_start = (
            select(MeetingOccurrence.guild_id, func.min(MeetingOccurrence.starts_at).label("starts_at"))
            .where(MeetingOccurrence.state == OccurrenceState.SCHEDULED, MeetingOccurrence.starts_at >= now)
            .group_by(MeetingOccurrence.guild_id)
            .subquery()
        )
        on_rota = select(RotaMember.guild_id).where(RotaMember.active.is_(True)).distinct()
        confirmed = (
            select(func.count())
            .select_from(RotaAssignment)
            .where(RotaAssignment.occurrence_id == MeetingOccurrence.id, RotaAssignment.status == DutyStatus.CONFIRMED)
            .scalar_subquery()
        )
        query = (
            select(MeetingOccurrence.guild_id, confirmed)
            .join(
                next_start,
                and_(
                    next_start.c.guild_id == MeetingOccurrence.guild_id,
                    next_start.c.starts_at == MeetingOccurrence.starts_at,
                ),
            )
            .where(MeetingOccurrence.guild_id.in_(on_rota), MeetingOccurrence.state == OccurrenceState.SCHEDULED)
        )
        async with self._db.session() as session:
            return {int(guild) for guild, count in (await session.execute(query)).all() if not count}

    async def _rota_health(self, guild_id: int, now: datetime) -> tuple[list[int], int, int, int]:
        """Return duties per facilitator (anonymous, most first), cover requests, escalations (12 weeks), uncovered."""
        since = now - timedelta(weeks=ROTA_WEEKS)
        window = and_(
            RotaAssignment.guild_id == guild_id,
            MeetingOccurrence.starts_at >= since,
            MeetingOccurrence.starts_at < now + UNCOVERED_HORIZON,
        )
        base = select(RotaAssignment.user_id, RotaAssignment.released_by, RotaAssignment.escalated).join(
            MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id
        )
        async with self._db.session() as session:
            rows = (await session.execute(base.where(window))).all()
            uncovered = await session.scalar(_uncovered_query(now).where(RotaAssignment.guild_id == guild_id))
        # Counted by holder, then only the counts kept: no id leaves this function.
        per_holder = Counter(user for user, _released, _escalated in rows if user is not None)
        covers = sum(1 for _user, released, _escalated in rows if released is not None)
        escalations = sum(1 for _user, _released, escalated in rows if escalated)
        return sorted(per_holder.values(), reverse=True), covers, escalations, int(uncovered or 0)


def _uncovered_query(now: datetime) -> Select[Any]:
    """Return how many duties in the two weeks from `now` nobody holds."""
    return (
        select(func.count())
        .select_from(RotaAssignment)
        .join(MeetingOccurrence, MeetingOccurrence.id == RotaAssignment.occurrence_id)
        .where(
            MeetingOccurrence.state == OccurrenceState.SCHEDULED,
            MeetingOccurrence.starts_at >= now,
            MeetingOccurrence.starts_at < now + UNCOVERED_HORIZON,
            or_(RotaAssignment.status == DutyStatus.OPEN, RotaAssignment.user_id.is_(None)),
        )
    )


_REFERRAL = next(question for question in FEEDBACK_QUESTIONS if question.key == REFERRAL_QUESTION)
# (column, label) of each referral source, in the question's order.
REFERRAL_COLUMNS = tuple((column_of(_REFERRAL.key, value), label) for value, label in _REFERRAL.options)
# One group's exact referral totals over the export's meetings (finalised, by local date); built once.
_REFERRAL_SUMS = select(*(func.coalesce(func.sum(getattr(P, column)), 0) for column, _label in REFERRAL_COLUMNS)).where(
    P.finalised_at.is_not(None),
    P.guild_id == bindparam("guild_id"),
    P.local_date >= bindparam("start", type_=String),
    P.local_date <= bindparam("end", type_=String),
)


def _shown(value: Any) -> str:
    return "*" if value is None else str(value)


def _flags(glance: GroupGlance) -> list[str]:
    flags = []
    if glance.missed_in_a_row >= MISSED_IN_A_ROW:
        flags.append(f"{glance.missed_in_a_row} meetings missed in a row")
    if glance.next_unconfirmed:
        flags.append("no facilitator confirmed for the next meeting")
    if glance.uncovered:
        flags.append(f"{glance.uncovered} dut{'y' if glance.uncovered == 1 else 'ies'} uncovered in the next two weeks")
    return flags


__all__ = ["MONTH_FIGURES", "Dashboard", "GroupDetail", "GroupGlance", "Overview", "month_end", "month_start"]
