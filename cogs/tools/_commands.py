"""`/tool ...`: look up SMART tools, page through them, share one in a meeting."""

from __future__ import annotations

import random
import re
from typing import Any, TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery.views import build_view
from bot.domain.discord_ids import PageSide, TOOL_PAGE_TEMPLATE, parse_tool_page, timestamp, tool_page_id
from bot.domain.tool_render import render_list_pages, render_share_embed, render_tool_embed
from bot.domain.tools import ProgrammePoint, Tool
from bot.services.tools import work_button
from cogs.shared import reply, report_error, staff_guild

if TYPE_CHECKING:
    from bot.client import SmartBot

POINT_CHOICES = [app_commands.Choice(name=point.label, value=int(point)) for point in ProgrammePoint]


def tool_view(tool: Tool) -> discord.ui.View:
    """Return the view under a tool card: the private worksheet button."""
    return build_view([work_button(tool)])


def list_page(bot: SmartBot, page: int) -> tuple[discord.Embed, discord.ui.View]:
    """Return one page of the tool list with Previous/Next buttons."""
    pages = render_list_pages(bot.services.tools.library)
    page = max(0, min(page, len(pages) - 1))
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Previous", custom_id=tool_page_id(page - 1, "p"), disabled=page == 0))
    view.add_item(
        discord.ui.Button(label="Next", custom_id=tool_page_id(page + 1, "n"), disabled=page >= len(pages) - 1)
    )
    return discord.Embed.from_dict(pages[page]), view


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TOOL_PAGE_TEMPLATE):
    """Previous/Next on the tool list; the target page is in the custom_id, so it survives restarts."""

    def __init__(self, page: int, side: PageSide) -> None:
        super().__init__(discord.ui.Button(label=side, custom_id=tool_page_id(page, side)))
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        """Rebuild the button from its custom_id."""
        return cls(*parse_tool_page(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the target page in place."""
        try:
            embed, view = list_page(interaction.client, self.page)  # type: ignore[arg-type]
            await interaction.response.edit_message(embed=embed, view=view)
        except Exception as exc:
            await report_error(interaction, exc)


class Tools(commands.GroupCog, group_name="tool", group_description="SMART Recovery tools"):
    """The SMART tools library in Discord."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    async def _tool_autocomplete(self, _i: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=tool.name, value=tool.slug)
            for tool in self.bot.services.tools.library.search(current, limit=25)
        ]

    @app_commands.command(name="show", description="Read about a SMART tool and work through it privately")
    @app_commands.describe(name="The tool (typos are fine)")
    async def show(self, interaction: discord.Interaction, name: str) -> None:
        """Show a tool card with the worksheet button."""
        tool = self.bot.services.tools.resolve(name)
        await reply(interaction, embed=discord.Embed.from_dict(render_tool_embed(tool)), view=tool_view(tool))

    show.autocomplete("name")(_tool_autocomplete)

    @app_commands.command(name="list", description="All SMART tools, by programme point")
    async def list_(self, interaction: discord.Interaction) -> None:
        """Show the first page of the list."""
        embed, view = list_page(self.bot, 0)
        await reply(interaction, embed=embed, view=view)

    @app_commands.command(name="random", description="A SMART tool to try, optionally for one programme point")
    @app_commands.choices(point=POINT_CHOICES)
    async def random_(self, interaction: discord.Interaction, point: app_commands.Choice[int] | None = None) -> None:
        """Show a random tool."""
        library = self.bot.services.tools.library
        candidates = library.by_point(point.value) if point else library.all()
        if not candidates:
            await reply(interaction, "There are no tools for that point yet.")
            return
        tool = random.choice(candidates)
        await reply(interaction, embed=discord.Embed.from_dict(render_tool_embed(tool)), view=tool_view(tool))

    @app_commands.command(name="share", description="Post a tool into the running meeting (facilitators)")
    @app_commands.describe(name="The tool to focus working time on")
    @app_commands.guild_only()
    async def share(self, interaction: discord.Interaction, name: str) -> None:
        """Make a tool the running meeting's working-time focus."""
        gid = await staff_guild(self.bot, interaction)
        shared = await self.bot.services.tools.share(gid, name)
        if shared.posted_now:
            await reply(interaction, f"Shared **{shared.tool.name}** in the meeting.")
        else:
            await reply(
                interaction,
                f"**{shared.tool.name}** will be the focus of Working time: its card is posted when Working time "
                "begins, so members see it once.",
            )
        self.bot.delivery.kick()

    share.autocomplete("name")(_tool_autocomplete)

    @app_commands.command(name="next", description="Choose the tool for the next meeting (facilitators)")
    @app_commands.describe(name="The tool to feature in the next meeting's working time")
    @app_commands.guild_only()
    async def next_(self, interaction: discord.Interaction, name: str) -> None:
        """Set the tool of the next meeting."""
        gid = await staff_guild(self.bot, interaction)
        occurrence, tool = await self.bot.services.tools.choose_next(gid, name)
        await reply(
            interaction,
            f"**{tool.name}** will feature in **{occurrence.title}** {timestamp(occurrence.starts_at, 'F')}.",
            embed=discord.Embed.from_dict(render_share_embed(tool)),
        )

    next_.autocomplete("name")(_tool_autocomplete)
