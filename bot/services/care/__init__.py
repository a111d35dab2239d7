"""Volunteer care: celebrating groups' milestones, debriefing facilitators, and noticing when one carries too much."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.db.engine import Database
from bot.domain.shards import ShardScope
from bot.services.care.debrief import DebriefService
from bot.services.care.load import LoadService
from bot.services.care.milestones import MilestoneService


@dataclass(frozen=True)
class CareServices:
    """The care use cases the cogs, the timers and the office call."""

    milestones: MilestoneService
    debriefs: DebriefService
    load: LoadService

    @classmethod
    def build(cls, database: Database, clock: Clock, scope: ShardScope | None = None) -> CareServices:
        """Wire the care services to the database and clock."""
        milestones = MilestoneService(database, clock, scope)
        return cls(milestones, DebriefService(database, clock, scope), LoadService(database, clock))
