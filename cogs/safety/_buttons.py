"""The "I'm on it" button on an alert: the first facilitator to press it takes the alert."""

from __future__ import annotations

import re
from typing import Any, TYPE_CHECKING

import discord

from bot.domain.discord_ids import ALERT_TAKE_TEMPLATE, alert_take_id, mention_user, parse_alert_take, timestamp
from cogs.shared import defer_when_slow, has_any_role, report_error

if TYPE_CHECKING:
    from bot.client import SmartBot


class AlertTakeButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ALERT_TAKE_TEMPLATE):
    """An alert's "I'm on it" button; the custom_id names the alert, so it works after a restart."""

    def __init__(self, alert_id: int) -> None:
        super().__init__(discord.ui.Button(label="I'm on it", custom_id=alert_take_id(alert_id)))
        self.alert_id = alert_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlertTakeButton:
        """Rebuild the button from its custom_id."""
        return cls(parse_alert_take(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Take the alert if nobody has; otherwise say who has it. Only facilitators and coordinators may."""
        defer_when_slow(interaction)  # the answer writes: a held lock must not make Discord fail the click
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            gid = interaction.guild_id or 0
            settings = await bot.services.guild_config.get(gid)
            if not has_any_role(interaction.user, [settings.facilitator_role_id, settings.coordinator_role_id]):
                await interaction.response.send_message(
                    "Only facilitators and coordinators can take an alert.", ephemeral=True
                )
                return
            outcome = await bot.services.alerts.take(gid, self.alert_id, interaction.user.id)
            if outcome.won:
                text = (
                    "It's yours: thank you. The member has been told privately that a facilitator has it. "
                    "If they shared their name you can contact them; otherwise look out for them in the meeting."
                )
            elif outcome.taken_by is not None and outcome.taken_at is not None:
                text = (
                    f"{mention_user(outcome.taken_by)} already has this one (since {timestamp(outcome.taken_at, 't')})."
                )
            else:
                text = "Another facilitator already has this one."
            await interaction.response.send_message(text, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)
        bot.delivery.kick()
