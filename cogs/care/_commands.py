"""`/milestones`: the group's milestones so far, and the coordinators' switch for celebrating them; the hourly check."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.discord_ids import timestamp
from cogs.shared import coordinator_guild, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

# Anniversaries and unbroken years are found by date, not by a meeting completing: an hourly look is plenty.
DATES_JOB = "care:milestone-dates"
DATES_CHECK_SECONDS = 3600


class Care(commands.Cog):
    """Celebrating the group's milestones."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Look for dated milestones every hour."""
        self.bot.scheduler.schedule_every(DATES_JOB, DATES_CHECK_SECONDS, self.check_dates)

    async def cog_unload(self) -> None:
        """Stop the hourly look."""
        self.bot.scheduler.cancel(DATES_JOB)

    async def check_dates(self) -> int:
        """Record and celebrate the anniversaries and unbroken years reached; return how many."""
        try:
            found = await self.bot.services.care.milestones.check_dates()
        except Exception:
            log.exception("Looking for the groups' dated milestones failed; the next hour tries again.")
            return 0
        if found:
            self.bot.delivery.kick()
        return found

    @app_commands.command(name="milestones", description="The group's milestones, and whether they are celebrated")
    @app_commands.describe(celebrate="Post a celebration in the meetings channel when the group reaches one")
    @app_commands.guild_only()
    async def milestones(self, interaction: discord.Interaction, celebrate: bool | None = None) -> None:
        """Show the milestones reached; coordinators turn the celebrations on or off."""
        gid = await coordinator_guild(self.bot, interaction)
        service = self.bot.services.care.milestones
        if celebrate is not None:
            await service.set_celebrations(gid, celebrate)
        enabled = await service.celebrations_enabled(gid)
        reached = await service.reached(gid)
        lines = [
            "Milestones are celebrated in the meetings channel."
            if enabled
            else "Milestones are not celebrated in the meetings channel (turn it on with `celebrate: True`)."
        ]
        if reached:
            lines.append("Reached so far:")
            lines += [f"- {timestamp(found.reached_at, 'D')}: {found.summary}" for found in reached]
        else:
            lines.append("No milestones yet: the first comes with the first meeting held.")
        await reply(interaction, "\n".join(lines))
