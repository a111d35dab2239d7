"""Rota buttons that survive restarts: confirm, can't make it, take this shift."""

from __future__ import annotations

import re
from typing import Any, TYPE_CHECKING

import discord

from bot.domain.discord_ids import ROTA_TEMPLATE, RotaAction, parse_rota, rota_id, timestamp
from bot.services.rota.views import ROLE_WORDS
from cogs.shared import defer_when_slow, report_error

if TYPE_CHECKING:
    from bot.client import SmartBot


class RotaButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ROTA_TEMPLATE):
    """A rota button; the custom_id names the action and the duty."""

    def __init__(self, action: RotaAction, assignment_id: int) -> None:
        super().__init__(discord.ui.Button(label=action, custom_id=rota_id(action, assignment_id)))
        self.action = action
        self.assignment_id = assignment_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RotaButton:
        """Rebuild the button from its custom_id."""
        return cls(*parse_rota(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Confirm, decline or take the duty; the service decides who may and who wins."""
        defer_when_slow(interaction)  # the answer writes: a held lock must not make Discord fail the click
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        rota = bot.services.rota
        try:
            guild_id = interaction.guild_id or await self._guild_of_duty(bot)
            if self.action == "confirm":
                duty = await rota.confirm(guild_id, self.assignment_id, interaction.user.id)
                text = f"Thank you: you're confirmed for {duty.title} {timestamp(duty.starts_at, 'F')}."
                await interaction.response.edit_message(content=text, view=None)
            elif self.action == "decline":
                duty = await rota.decline(guild_id, self.assignment_id, interaction.user.id)
                text = "No problem. I've asked the other facilitators to cover; you'll hear when someone does."
                await interaction.response.edit_message(content=text, view=None)
            else:
                duty, _released_by = await rota.take(guild_id, self.assignment_id, interaction.user.id)
                await interaction.response.send_message(
                    f"It's yours: {ROLE_WORDS[duty.role]} at {duty.title} {timestamp(duty.starts_at, 'F')}. "
                    "Thank you for covering!",
                    ephemeral=True,
                )
        except Exception as exc:
            await report_error(interaction, exc)
        bot.delivery.kick()

    async def _guild_of_duty(self, bot: SmartBot) -> int:
        # Confirmation buttons arrive in DMs, without a guild: the duty knows its group.
        return await bot.services.rota.guild_of(self.assignment_id)
