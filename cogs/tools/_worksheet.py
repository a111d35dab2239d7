"""Private worksheets: consecutive modals of at most five boxes, delivered by DM, never stored."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.domain.discord_ids import TOOL_WORK_TEMPLATE, parse_tool_work, tool_work_id
from bot.domain.tool_render import modal_title, render_completed_worksheet, worksheet_pages
from bot.domain.tools import Tool
from cogs.shared import BotModal, BotView, report_error

log = logging.getLogger(__name__)

# How long a member has between two parts of a long worksheet; the answers so far live only in memory.
CONTINUE_TIMEOUT = 15 * 60


class WorksheetModal(BotModal):
    """One page of a worksheet; answers so far travel in memory from page to page."""

    def __init__(self, tool: Tool, page: int, answers: dict[str, str]) -> None:
        pages = worksheet_pages(tool)
        super().__init__(title=modal_title(tool, page + 1, len(pages)), timeout=CONTINUE_TIMEOUT)
        self.tool = tool
        self.page = page
        self.pages = len(pages)
        self.answers = answers
        self.inputs: list[tuple[str, discord.ui.TextInput[WorksheetModal]]] = []
        for field in pages[page]:
            text_input: discord.ui.TextInput[WorksheetModal] = discord.ui.TextInput(
                label=field.label,
                placeholder=field.placeholder or None,
                max_length=field.max_length,
                required=field.required,
                style=discord.TextStyle.paragraph if field.style == "paragraph" else discord.TextStyle.short,
                default=answers.get(field.label),
            )
            self.add_item(text_input)
            self.inputs.append((field.label, text_input))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Keep this page's answers; continue, or deliver the finished worksheet."""
        answers = {**self.answers, **{label: text_input.value for label, text_input in self.inputs}}
        if self.page + 1 < self.pages:
            await interaction.response.send_message(
                f"Part {self.page + 1} of {self.pages} done. Nothing has been stored. Continue when you're ready.",
                view=ContinueView(self.tool, self.page + 1, answers),
                ephemeral=True,
            )
            return
        await deliver(interaction, self.tool, answers)


class ContinueView(BotView):
    """A button that opens the next page of a worksheet."""

    def __init__(self, tool: Tool, page: int, answers: dict[str, str]) -> None:
        super().__init__(timeout=CONTINUE_TIMEOUT)
        self.tool = tool
        self.page = page
        self.answers = answers
        button: discord.ui.Button[ContinueView] = discord.ui.Button(
            label=f"Continue ({page + 1}/{len(worksheet_pages(tool))})", style=discord.ButtonStyle.primary
        )
        button.callback = self._continue  # type: ignore[method-assign]
        self.add_item(button)

    async def _continue(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(WorksheetModal(self.tool, self.page, self.answers))


async def deliver(interaction: discord.Interaction, tool: Tool, answers: dict[str, str]) -> None:
    """Send the worksheet to the member by DM, or show it privately here when their DMs are closed."""
    messages = [
        [discord.Embed.from_dict(embed) for embed in embeds] for embeds in render_completed_worksheet(tool, answers)
    ]
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        for embeds in messages:
            await interaction.user.send(embeds=embeds)
    except discord.Forbidden:
        # Closed DMs: only this member sees an ephemeral reply, and nothing is kept.
        await interaction.followup.send(
            "Your DMs are closed, so here is your worksheet (only you can see it; save it somewhere if you want it):",
            embeds=messages[0],
            ephemeral=True,
        )
        for embeds in messages[1:]:
            await interaction.followup.send(embeds=embeds, ephemeral=True)
        return
    await interaction.followup.send("Sent to your DMs. The bot keeps no copy of your answers.", ephemeral=True)


class WorkButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TOOL_WORK_TEMPLATE):
    """The "Work through it" button: opens the first page of the worksheet; works on old messages too."""

    def __init__(self, slug: str) -> None:
        super().__init__(discord.ui.Button(label="Work through it (private)", custom_id=tool_work_id(slug)))
        self.slug = slug

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> WorkButton:
        """Rebuild the button from its custom_id."""
        return cls(parse_tool_work(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the worksheet."""
        library = interaction.client.services.tools.library  # type: ignore[attr-defined]
        tool = library.get(self.slug)
        try:
            if tool is None:
                await interaction.response.send_message("That tool is no longer available.", ephemeral=True)
                return
            await interaction.response.send_modal(WorksheetModal(tool, 0, {}))
        except Exception as exc:
            await report_error(interaction, exc)
