"""Every service the bot uses, built once from the database and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.db.engine import Database
from bot.domain.meeting_format import MeetingTemplate, load_templates
from bot.services.app_state import AppStateService
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.runner import MeetingRunner
from bot.services.meetings.schedules import ScheduleService
from bot.services.outbox import OutboxService


@dataclass(frozen=True)
class Services:
    """The use cases cogs call; none of them knows about Discord."""

    app_state: AppStateService
    guild_config: GuildConfigService
    outbox: OutboxService
    schedules: ScheduleService
    meetings: MeetingRunner

    @classmethod
    def build(cls, database: Database, clock: Clock, templates: dict[str, MeetingTemplate] | None = None) -> Services:
        """Wire every service to the same database and clock."""
        templates = templates if templates is not None else load_templates()
        return cls(
            app_state=AppStateService(database, clock),
            guild_config=GuildConfigService(database, clock),
            outbox=OutboxService(database, clock),
            schedules=ScheduleService(database, clock, templates),
            meetings=MeetingRunner(database, clock, templates),
        )
