"""The one error handler of the command tree."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SmartBot
from cogs._errors import report_error


class Errors(commands.Cog):
    """Answer every app-command error (see `cogs/_errors.py` for what users are told)."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        self._previous_handler = bot.tree.on_error

    async def cog_load(self) -> None:
        """Take over the command tree's error handler."""
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        """Give the error handler back."""
        self.bot.tree.on_error = self._previous_handler  # type: ignore[method-assign]

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer the user ephemerally."""
        await report_error(interaction, error)


async def setup(bot: SmartBot) -> None:
    """Load the cog."""
    await bot.add_cog(Errors(bot))
