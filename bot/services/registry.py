"""Every service the bot uses, built once from the database and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.db.engine import Database
from bot.services.app_state import AppStateService
from bot.services.guild_config import GuildConfigService


@dataclass(frozen=True)
class Services:
    """The use cases cogs call; none of them knows about Discord."""

    app_state: AppStateService
    guild_config: GuildConfigService

    @classmethod
    def build(cls, database: Database, clock: Clock) -> Services:
        """Wire every service to the same database and clock."""
        return cls(
            app_state=AppStateService(database, clock),
            guild_config=GuildConfigService(database, clock),
        )
