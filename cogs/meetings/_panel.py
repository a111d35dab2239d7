"""The facilitator's control panel: persistent buttons that survive restarts."""

from __future__ import annotations

import re
from typing import Any, TYPE_CHECKING

import discord

from bot.domain.discord_ids import PANEL_TEMPLATE, panel_id, parse_panel
from cogs.shared import defer_when_slow, report_error, require_facilitator

if TYPE_CHECKING:
    from bot.client import SmartBot

ACKNOWLEDGEMENTS = {
    "next": "Moved to the next phase.",
    "extend": "Added 5 minutes.",
    "pause": "Timer paused.",
    "resume": "Timer resumed.",
    "end": "Meeting ended.",
}


class PanelButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=PANEL_TEMPLATE):
    """Any panel button; its custom_id says which meeting, which action and at which phase."""

    def __init__(self, action: str, occurrence_id: int, phase_index: int) -> None:
        super().__init__(discord.ui.Button(label=action, custom_id=panel_id(action, occurrence_id, phase_index)))
        self.action = action
        self.occurrence_id = occurrence_id
        self.phase_index = phase_index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PanelButton:
        """Rebuild the button from its custom_id."""
        return cls(*parse_panel(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Check the clicker is a facilitator, then apply the action."""
        defer_when_slow(interaction)  # the action writes: a held lock must not make Discord fail the click
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.guild_id is None:
                return
            settings = await bot.services.guild_config.get(interaction.guild_id)
            require_facilitator(interaction, settings)
            await bot.services.meetings.control(
                interaction.guild_id, self.occurrence_id, self.action, self.phase_index, interaction.user.id
            )
            await interaction.response.send_message(ACKNOWLEDGEMENTS[self.action], ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)
        bot.delivery.kick()
