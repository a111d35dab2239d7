"""The meeting's "I'm here" and "How was today?" buttons, persistent across restarts, and the feedback form."""

from __future__ import annotations

import re
from typing import Any, TYPE_CHECKING

import discord

from bot.services.participation_feedback import FEEDBACK_QUESTIONS
from cogs._errors import BotModal, report_error

if TYPE_CHECKING:
    from bot.client import SmartBot

CHECKED_IN = "Thanks, you're counted as here today. The bot keeps numbers only, never your name: see `/privacy about`."
FEEDBACK_THANKS = "Thank you. Your answers were added to this meeting's anonymous totals; they are not linked to you."
FEEDBACK_TITLE = "How was today? (anonymous)"
# Members fill the form in their own time; a form left open longer than this is simply dropped.
FEEDBACK_FORM_TIMEOUT = 30 * 60


class CheckInButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"att:here:(?P<occ>\d+)"):
    """The "I'm here" button of one meeting: counts the member once, without storing who they are."""

    def __init__(self, occurrence_id: int) -> None:
        super().__init__(discord.ui.Button(label="I'm here", custom_id=f"att:here:{occurrence_id}"))
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CheckInButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["occ"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Count the member and say so, privately."""
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.guild_id is None:
                return
            await bot.services.participation.check_in(interaction.guild_id, interaction.user.id, self.occurrence_id)
            await interaction.response.send_message(CHECKED_IN, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"fb:open:(?P<occ>\d+)"):
    """The "How was today?" button of one meeting: opens the anonymous feedback form."""

    def __init__(self, occurrence_id: int) -> None:
        super().__init__(discord.ui.Button(label=FEEDBACK_TITLE, custom_id=f"fb:open:{occurrence_id}"))
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["occ"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the form, or say why not (already answered, feedback closed)."""
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.guild_id is None:
                return
            participation = bot.services.participation
            await participation.feedback.check_open(interaction.guild_id, interaction.user.id, self.occurrence_id)
            await interaction.response.send_modal(FeedbackModal(bot, self.occurrence_id))
        except Exception as exc:
            await report_error(interaction, exc)


class FeedbackModal(BotModal):
    """Four optional questions, each a select; only counters are stored."""

    def __init__(self, bot: SmartBot, occurrence_id: int) -> None:
        super().__init__(title=FEEDBACK_TITLE, custom_id=f"fb:form:{occurrence_id}", timeout=FEEDBACK_FORM_TIMEOUT)
        self.bot = bot
        self.occurrence_id = occurrence_id
        self.selects: dict[str, discord.ui.Select[FeedbackModal]] = {}
        for question in FEEDBACK_QUESTIONS:
            select: discord.ui.Select[FeedbackModal] = discord.ui.Select(
                custom_id=f"fb:{question.key}",
                placeholder=question.placeholder,
                options=[discord.SelectOption(label=label, value=value) for value, label in question.options],
                min_values=0,
                max_values=1,
                required=False,
            )
            self.selects[question.key] = select
            self.add_item(discord.ui.Label(text=question.label, component=select))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Add the answers to the meeting's counters."""
        if interaction.guild_id is None:
            return
        answers = {key: (select.values[0] if select.values else None) for key, select in self.selects.items()}
        await self.bot.services.participation.feedback.submit(
            interaction.guild_id, interaction.user.id, self.occurrence_id, answers
        )
        await interaction.response.send_message(FEEDBACK_THANKS, ephemeral=True)
