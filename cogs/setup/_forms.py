"""The forms `/setup` opens: the crisis resources text, and the group's time zone."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.domain.guild import CRISIS_TEXT_MAX
from cogs.setup._display import settings_embed, with_crisis_note
from cogs.shared import BotModal, guild_id, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

# Long enough for any IANA name (the longest is 32 characters).
ZONE_INPUT_MAX = 64


class CrisisTextModal(BotModal, title="Crisis resources"):
    """Edit the crisis resources text members see in meetings and with /crisis."""

    text: discord.ui.TextInput[CrisisTextModal] = discord.ui.TextInput(
        label="What members should see if they are in crisis",
        style=discord.TextStyle.paragraph,
        max_length=CRISIS_TEXT_MAX,
    )

    def __init__(self, bot: SmartBot, current: str) -> None:
        super().__init__()
        self.bot = bot
        self.text.default = current

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the new text and show the result."""
        settings = await self.bot.services.guild_config.update(guild_id(interaction), crisis_text=self.text.value)
        await reply(interaction, "Crisis resources updated.", embed=settings_embed(settings))


class TimezoneModal(BotModal, title="The group's time zone"):
    """Ask for the group's time zone when `/setup start` was run without one."""

    zone: discord.ui.TextInput[TimezoneModal] = discord.ui.TextInput(
        label="Time zone (an IANA name)",
        placeholder="e.g. Europe/London, America/New_York, Australia/Sydney",
        max_length=ZONE_INPUT_MAX,
    )

    def __init__(self, bot: SmartBot) -> None:
        super().__init__()
        self.bot = bot

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the zone (a wrong one is refused with suggestions) and say what else is still to do."""
        settings = await self.bot.services.guild_config.update(guild_id(interaction), timezone=self.zone.value)
        await reply(
            interaction,
            with_crisis_note(
                f"Time zone saved: {settings.timezone}. `/setup check` shows anything still to do.", settings
            ),
        )
