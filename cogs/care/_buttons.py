"""The facilitator's answer to "How was that for you?": Fine, Tough or I'd like to talk, in their DMs."""

from __future__ import annotations

import re
from typing import Any, TYPE_CHECKING

import discord

from bot.domain.care import DEBRIEF_ANSWERS, DEBRIEF_LABELS
from bot.domain.discord_ids import DEBRIEF_TEMPLATE, DebriefAnswer, debrief_id, parse_debrief
from cogs.shared import defer_when_slow, report_error

if TYPE_CHECKING:
    from bot.client import SmartBot


def answered_view(debrief: int, chosen: DebriefAnswer) -> discord.ui.View:
    """Return the debrief's buttons, all disabled, the chosen one highlighted: one answer per debrief."""
    view = discord.ui.View(timeout=None)
    for answer in DEBRIEF_ANSWERS:
        style = discord.ButtonStyle.primary if answer == chosen else discord.ButtonStyle.secondary
        view.add_item(
            discord.ui.Button(
                label=DEBRIEF_LABELS[answer], custom_id=debrief_id(debrief, answer), style=style, disabled=True
            )
        )
    return view


class DebriefButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=DEBRIEF_TEMPLATE):
    """One answer of a debrief; the custom_id names the debrief and the answer, so it works after a restart."""

    def __init__(self, debrief: int, answer: DebriefAnswer) -> None:
        super().__init__(discord.ui.Button(label=DEBRIEF_LABELS[answer], custom_id=debrief_id(debrief, answer)))
        self.debrief = debrief
        self.answer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DebriefButton:
        """Rebuild the button from its custom_id."""
        return cls(*parse_debrief(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the answer (the service checks it is the facilitator's, and the first), then disable the buttons."""
        defer_when_slow(interaction)  # the answer writes: a held lock must not make Discord fail the click
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            outcome = await bot.services.care.debriefs.answer(self.debrief, interaction.user.id, self.answer)
            question = interaction.message.content if interaction.message is not None else ""
            await interaction.response.edit_message(
                content=f"{question}\n\n**{DEBRIEF_LABELS[self.answer]}**: {outcome.reply}",
                view=answered_view(self.debrief, self.answer),
            )
        except Exception as exc:
            await report_error(interaction, exc)
        bot.delivery.kick()
