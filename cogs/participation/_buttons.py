"""The meeting's "I'm here" and "How was today?" buttons, persistent across restarts, and the feedback form."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TYPE_CHECKING

import discord
from discord.ext import commands

from bot.domain.discord_ids import (
    CHECK_IN_TEMPLATE,
    FEEDBACK_FORM_TEMPLATE,
    FEEDBACK_TEMPLATE,
    check_in_id,
    feedback_answer_id,
    feedback_form_id,
    feedback_id,
    parse_feedback_answer,
    parse_occurrence,
)
from bot.services.participation.feedback import FEEDBACK_QUESTIONS, FeedbackForm
from cogs.shared import defer_when_slow, report_error

if TYPE_CHECKING:
    from bot.client import SmartBot

CHECKED_IN = "Thanks, you're counted as here today. The bot keeps numbers only, never your name: see `/privacy about`."
NOT_COUNTED = (
    "Welcome! You chose not to be counted (`/privacy status`), so nothing was recorded. `/privacy opt-in` undoes it."
)
FEEDBACK_THANKS = "Thank you. Your answers were added to this meeting's anonymous totals; they are not linked to you."
FEEDBACK_TITLE = "How was today? (anonymous)"
# How long this process keeps its copy of an opened form. Submits never need it (FeedbackForms answers them from
# the submitted values), so this only bounds the memory a form that is never submitted holds.
FEEDBACK_FORM_TIMEOUT = 30 * 60
FEEDBACK_FORM = re.compile(FEEDBACK_FORM_TEMPLATE)


class CheckInButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CHECK_IN_TEMPLATE):
    """The "I'm here" button of one meeting: counts the member once, without storing who they are."""

    def __init__(self, occurrence_id: int) -> None:
        super().__init__(discord.ui.Button(label="I'm here", custom_id=check_in_id(occurrence_id)))
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CheckInButton:
        """Rebuild the button from its custom_id."""
        return cls(parse_occurrence(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Count the member and say so, privately."""
        defer_when_slow(interaction)  # counting writes: a held lock must not make Discord fail the click
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.guild_id is None:
                return
            participation = bot.services.participation
            counted = await participation.check_in(interaction.guild_id, interaction.user.id, self.occurrence_id)
            await interaction.response.send_message(CHECKED_IN if counted else NOT_COUNTED, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=FEEDBACK_TEMPLATE):
    """The "How was today?" button of one meeting: opens the anonymous feedback form."""

    def __init__(self, occurrence_id: int) -> None:
        super().__init__(discord.ui.Button(label=FEEDBACK_TITLE, custom_id=feedback_id(occurrence_id)))
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        """Rebuild the button from its custom_id."""
        return cls(parse_occurrence(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the form, or say why not (already answered, feedback closed)."""
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.guild_id is None:
                return
            participation = bot.services.participation
            form = await participation.feedback.check_open(
                interaction.guild_id, interaction.user.id, self.occurrence_id
            )
            await interaction.response.send_modal(FeedbackModal(self.occurrence_id, form))
        except Exception as exc:
            await report_error(interaction, exc)


class FeedbackModal(discord.ui.Modal):
    """Three or four optional questions (the referral one for newcomers only), each a select; only counters are stored.

    This class only draws the form. Its submit is answered by FeedbackForms, from the submitted values, so a form
    opened before a restart (or on another process) is accepted just the same.
    """

    def __init__(self, occurrence_id: int, form: FeedbackForm | None = None) -> None:
        super().__init__(title=FEEDBACK_TITLE, custom_id=feedback_form_id(occurrence_id), timeout=FEEDBACK_FORM_TIMEOUT)
        self.occurrence_id = occurrence_id
        for question in (form or FeedbackForm(FEEDBACK_QUESTIONS)).questions:
            select: discord.ui.Select[FeedbackModal] = discord.ui.Select(
                custom_id=feedback_answer_id(question.key),
                placeholder=question.placeholder,
                options=[discord.SelectOption(label=label, value=value) for value, label in question.options],
                min_values=0,
                max_values=1,
                required=False,
            )
            self.add_item(discord.ui.Label(text=question.label, component=select))

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Leave the submit to FeedbackForms, so it is answered once, and forget this copy of the form."""
        self.stop()
        return False


def _walk(components: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Yield every component of a submitted modal, looking inside action rows (type 1) and labels (type 18)."""
    for component in components:
        yield component
        inner = component.get("components")
        if isinstance(inner, list):
            yield from _walk(inner)
        wrapped = component.get("component")
        if isinstance(wrapped, Mapping):
            yield from _walk([wrapped])


def submitted_answers(components: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
    """Return a submitted feedback form's answers by question key; an unanswered question is None.

    Every select the form carries is passed on, known or not, so the service can say a form of an older
    version is out of date rather than count part of it.
    """
    answers: dict[str, str | None] = dict.fromkeys((question.key for question in FEEDBACK_QUESTIONS), None)
    for component in _walk(components):
        custom_id, values = component.get("custom_id"), component.get("values")
        key = parse_feedback_answer(custom_id) if isinstance(custom_id, str) else None
        if key is not None and isinstance(values, list):
            answers[key] = str(values[0]) if values else None
    return answers


class FeedbackForms(commands.Cog):
    """Answer submitted feedback forms from their values alone, whichever process opened them."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Add a submitted form's answers to the meeting's counters and thank the member, privately."""
        if interaction.type is not discord.InteractionType.modal_submit or interaction.data is None:
            return
        match = FEEDBACK_FORM.fullmatch(str(interaction.data.get("custom_id", "")))
        if match is None or interaction.guild_id is None:
            return
        defer_when_slow(interaction)  # counting writes, as any other form's submit: answered in time all the same
        try:
            answers = submitted_answers(interaction.data.get("components", []))  # type: ignore[arg-type]
            await self.bot.services.participation.feedback.submit(
                interaction.guild_id, interaction.user.id, parse_occurrence(match), answers
            )
            await interaction.response.send_message(FEEDBACK_THANKS, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)
