"""The dashboard's figures from the network around the groups: referral joins, pairings, milestones and volunteer care.

Counts of people (joins through referral routes, tough debriefs) are published under the same disclosure control as
every other count; facilitators are never named or identified, only whether a group's coordinators were recently asked
to spread duties.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models_care import LoadSuggestion
from bot.domain.care import LOAD_WINDOW
from bot.domain.disclosure import DisclosurePolicy, protect_count
from bot.services.care import CareServices
from bot.services.care.milestones import ReachedMilestone
from bot.services.office.pairing import Pairing, PairingService
from bot.services.referral.counts import ReferralRow, SCOPE_GROUP, referral_counts

log = logging.getLogger(__name__)

K = TypeVar("K")

# Tough debriefs in a month from which a group's health flag asks for a call. The flag says only "several": it is
# read from the exact count, but a yes/no from three upwards tells nobody who found a meeting tough.
SEVERAL_TOUGH_DEBRIEFS = 3
CARRYING_TOO_MUCH = "a facilitator may be carrying too much"
SEVERAL_TOUGH = "several tough debriefs"


@dataclass
class NetworkGlance:
    """One month's network figures for every group, for the overview."""

    referral_joins: dict[int, int | None]  # group -> joins through its routes (None when suppressed)
    tough_debriefs: dict[int, int | None]  # group -> tough debriefs (None when suppressed)
    flags: dict[int, list[str]]  # group -> health reasons from volunteer care
    pairs: list[Pairing]
    milestones: list[ReachedMilestone]


@dataclass
class GroupNetwork:
    """One group's network figures over its page's months."""

    referral_routes: list[tuple[str, int | None]]  # (route, joins over the months) by route name
    debriefs: list[tuple[str, int | None, int | None, int | None]]  # (month, asked, answered, tough), oldest first
    milestones: list[ReachedMilestone]
    pairs: list[Pairing] = field(default_factory=list)


class NetworkFigures:
    """Read the network's figures for the dashboard through the services that own them."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock
        self._care = CareServices.build(database, clock)
        self._pairing = PairingService(database, clock)

    async def month(self, first: date, last: date, now: datetime, policy: DisclosurePolicy) -> NetworkGlance:
        """Return every group's figures from `first` to `last` (one month), and the reasons to call from care."""
        joins = await _joins_per(self._db, first, last, (), lambda row: int(row.guild_id or 0))
        label = first.isoformat()[:7]
        exact = await self._care.debriefs.figures(label, label, DisclosurePolicy(exact=True))
        tough_exact = {row.guild_id: int(row.tough or 0) for row in exact.rows}
        flags: dict[int, list[str]] = defaultdict(list)
        for guild_id in await self._recently_suggested(now):
            flags[guild_id].append(CARRYING_TOO_MUCH)
        for guild_id, tough in tough_exact.items():
            if tough >= SEVERAL_TOUGH_DEBRIEFS:
                flags[guild_id].append(SEVERAL_TOUGH)
        return NetworkGlance(
            {guild: protect_count(count, policy) for guild, count in joins.items()},
            {guild: protect_count(count, policy) for guild, count in tough_exact.items()},
            dict(flags),
            await self._pairing.active_pairs(),
            await self._care.milestones.reached(start=first, end=last),
        )

    async def group(self, guild_id: int, first: date, last: date, policy: DisclosurePolicy) -> GroupNetwork:
        """Return one group's referral joins per route, debriefs per month and milestones from `first` to `last`."""
        joins = await _joins_per(self._db, first, last, (guild_id,), lambda row: row.route or "")
        figures = await self._care.debriefs.figures(first.isoformat()[:7], last.isoformat()[:7], policy)
        pairs = [pair for pair in await self._pairing.active_pairs() if guild_id in _guilds(pair)]
        return GroupNetwork(
            sorted(((route, protect_count(count, policy)) for route, count in joins.items()), key=_route_order),
            [(row.month, row.asked, row.answered, row.tough) for row in figures.rows if row.guild_id == guild_id],
            await self._care.milestones.reached(guild_id, first, last),
            pairs,
        )

    async def _recently_suggested(self, now: datetime) -> set[int]:
        """Return the groups whose coordinators were asked to spread duties in the load window (never whom about)."""
        query = select(LoadSuggestion.guild_id).where(LoadSuggestion.sent_at >= now - LOAD_WINDOW)
        async with self._db.session() as session:
            return {int(guild) for guild in (await session.scalars(query.group_by(LoadSuggestion.guild_id))).all()}


async def _joins_per(
    database: Database, first: date, last: date, guild_ids: tuple[int, ...], key: Callable[[ReferralRow], K]
) -> dict[K, int]:
    """Return exact joins summed per `key` of each group row: published only after protect_count on the sum."""
    totals: dict[K, int] = defaultdict(int)
    for row in await referral_counts(database, first, last, guild_ids, exact=True):
        if row.scope == SCOPE_GROUP and row.joins:
            totals[key(row)] += row.joins
    return dict(totals)


def _guilds(pair: Pairing) -> tuple[int, int]:
    return pair.new_guild_id, pair.experienced_guild_id


def _route_order(item: tuple[str, int | None]) -> str:
    return item[0].casefold()


__all__ = ["CARRYING_TOO_MUCH", "SEVERAL_TOUGH", "GroupNetwork", "NetworkFigures", "NetworkGlance"]
