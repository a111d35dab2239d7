"""Every service the bot uses, built once from the database and the clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock
from bot.db.engine import Database
from bot.domain.meeting_format import load_templates
from bot.domain.shards import ShardScope
from bot.domain.tools import default_content_dir, load_library
from bot.services.alerts import AlertService
from bot.services.app_state import AppStateService
from bot.services.care import CareServices
from bot.services.group_settings import GroupSettingsService
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.runner import MeetingRunner
from bot.services.meetings.schedules import ScheduleService
from bot.services.office import OfficeServices
from bot.services.outbox import OutboxService
from bot.services.participation.service import ParticipationService
from bot.services.referral.service import ReferralService
from bot.services.rota.reports import RotaReports
from bot.services.rota.service import RotaService
from bot.services.rota.timers import RotaTimers
from bot.services.tools import ToolService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """The use cases cogs call; none of them knows about Discord."""

    app_state: AppStateService
    guild_config: GuildConfigService
    group_settings: GroupSettingsService
    outbox: OutboxService
    schedules: ScheduleService
    meetings: MeetingRunner
    tools: ToolService
    rota: RotaService
    rota_timers: RotaTimers
    rota_reports: RotaReports
    participation: ParticipationService
    alerts: AlertService
    referral: ReferralService
    office: OfficeServices
    care: CareServices

    @classmethod
    def build(
        cls, database: Database, clock: Clock, *, tools_dir: Path | None = None, scope: ShardScope | None = None
    ) -> Services:
        """Wire every service to the same database and clock; read the templates and tools once."""
        templates = load_templates()
        library = load_library(tools_dir or default_content_dir())
        for problem in library.problems:
            log.warning("SMART tool content problem (tool not served): %s", problem)
        rota = RotaService(database, clock)
        return cls(
            app_state=AppStateService(database, clock),
            guild_config=GuildConfigService(database, clock),
            group_settings=GroupSettingsService(database, clock),
            outbox=OutboxService(database, clock, scope),
            schedules=ScheduleService(database, clock, templates, scope),
            meetings=MeetingRunner(database, clock, templates, library, scope),
            tools=ToolService(database, clock, library, templates),
            rota=rota,
            rota_timers=RotaTimers(database, clock, rota, scope),
            rota_reports=RotaReports(rota),
            participation=ParticipationService(database, clock, templates),
            alerts=AlertService(database, clock, scope),
            referral=ReferralService(database, clock, scope),
            office=OfficeServices.build(database, clock),
            care=CareServices.build(database, clock, scope),
        )
