"""`/network join|ask|announcements` in a group's server, `/resources` for any member, and the Reply button."""

from __future__ import annotations

import io
import logging
import re
from typing import Any, TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.discord_ids import mention_channel, mention_role
from bot.errors import InvalidInputError
from bot.services.office.network import INVITE_MAX_AGE_SECONDS, REPLY_MAX
from bot.services.office.resources import LIST_MAX, Resource
from cogs.network.office_commands import group_names
from cogs.shared import BotModal, defer_when_slow, guild_id, has_any_role, reply, report_error, require_coordinator

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

REPLY_TEMPLATE = r"network:reply:(?P<question_id>[0-9]{1,10})"
OFFICE_NAME = "The central office"


async def _group_name(bot: SmartBot, gid: int) -> str:
    return (await group_names(bot)).get(gid, f"Group {gid}")


async def _may_use_network(bot: SmartBot, interaction: discord.Interaction, *, coordinators: bool) -> int:
    """Return the group's id if the caller is on its rota (or, when allowed, one of its coordinators)."""
    gid = guild_id(interaction)
    if await bot.services.office.network.on_rota(gid, interaction.user.id):
        return gid
    if coordinators:
        settings = await bot.services.guild_config.get(gid)
        if settings.coordinator_role_id and has_any_role(interaction.user, [settings.coordinator_role_id]):
            return gid
    settings = await bot.services.guild_config.get(gid)
    roles = [settings.facilitator_role_id] + ([settings.coordinator_role_id] if coordinators else [])
    named = " or ".join(mention_role(role) for role in roles if role) or "the facilitator role"
    who = "coordinators, or facilitators on this group's rota" if coordinators else "facilitators on this group's rota"
    raise app_commands.CheckFailure(f"Only members with {named} can do this: the network is for {who}.")


def _resource_line(resource: Resource) -> str:
    where = f"<{resource.url}>" if resource.url else f"file `{resource.file_name}` (`/resources show`)"
    tags = f" · _{', '.join(resource.tags)}_" if resource.tags else ""
    return f"**{resource.title}**: {resource.description}\n{where}{tags}"


class Network(commands.GroupCog, group_name="network", group_description="The facilitators' network of all groups"):
    """Meet facilitators of other groups in the office's server, and ask the network as a group."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="join", description="Get a one-use invite to the facilitators' network")
    @app_commands.guild_only()
    async def join(self, interaction: discord.Interaction) -> None:
        """Create a one-use invite that gives the network role on arrival (facilitators on this group's rota)."""
        await _may_use_network(self.bot, interaction, coordinators=False)
        config = await self.bot.services.office.network.config()
        if config is None:
            raise InvalidInputError("The facilitators' network is not set up yet: the central office sets it up.")
        # discord.py's create_invite has no role_ids yet; Discord gives these roles to whoever arrives by the invite,
        # so the bot needs no member intent to hand the role out.
        route = discord.http.Route("POST", "/channels/{channel_id}/invites", channel_id=config.channel_id)
        body = {"max_age": INVITE_MAX_AGE_SECONDS, "max_uses": 1, "unique": True, "role_ids": [str(config.role_id)]}
        try:
            invite: dict[str, Any] = await self.bot.http.request(route, json=body, reason="/network join")
        except (discord.Forbidden, discord.NotFound):
            log.warning("Creating a network invite was refused: check the bot's permissions in the network channel.")
            raise InvalidInputError(
                "I couldn't create an invite to the network: the central office needs to give me 'Create Invite' "
                "in the network channel and 'Manage Roles' above the network role."
            ) from None
        minutes = INVITE_MAX_AGE_SECONDS // 60
        await reply(
            interaction,
            f"Here is your personal invite to the facilitators' network: https://discord.gg/{invite['code']}\n"
            f"It works once, for {minutes} minutes, and gives you the network role when you arrive. Please don't "
            "share it: ask your fellow facilitators to use `/network join` themselves.",
        )

    @app_commands.command(name="ask", description="Ask the facilitators' network a question, as your group")
    @app_commands.describe(question="Your question; it is posted under your group's name, never yours")
    @app_commands.guild_only()
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 1500]) -> None:
        """Post the question in the network channel under the group's name; replies come to the facilitators."""
        gid = await _may_use_network(self.bot, interaction, coordinators=True)
        office = await self.bot.services.participation.office.config()
        if office is None:
            raise InvalidInputError("The facilitators' network is not set up yet: the central office sets it up.")
        name = await _group_name(self.bot, gid)
        await self.bot.services.office.network.ask(office.guild_id, gid, name, question)
        settings = await self.bot.services.guild_config.get(gid)
        where = (
            mention_channel(settings.facilitators_channel_id)
            if settings.facilitators_channel_id
            else "your facilitators' channel (not set up yet: see `/setup configure`)"
        )
        await reply(interaction, f"Asked the network as **{name}**. Replies will come to {where}.")
        self.bot.delivery.kick()

    @app_commands.command(
        name="announcements", description="Also receive the office's announcements in the facilitators' channel"
    )
    @app_commands.describe(in_facilitators_channel="True: facilitators see them too; False: coordinators only")
    @app_commands.guild_only()
    async def announcements(self, interaction: discord.Interaction, in_facilitators_channel: bool) -> None:
        """Choose whether announcements also go to the facilitators' channel (coordinators)."""
        gid = guild_id(interaction)
        require_coordinator(interaction, await self.bot.services.guild_config.get(gid))
        await self.bot.services.office.announcements.set_facilitators_copy(gid, in_facilitators_channel)
        text = "also in the facilitators' channel" if in_facilitators_channel else "in the coordinators' channel only"
        await reply(interaction, f"The central office's announcements will arrive {text}.")


class Resources(commands.Cog):
    """`/resources`: the office's shared library, for any member of any group."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot

    resources = app_commands.Group(name="resources", description="The central office's shared resources library")

    @resources.command(name="list", description="List or search the shared resources library")
    @app_commands.describe(tag="Only items with this tag", words="Only items with all these words")
    @app_commands.guild_only()
    async def list_(self, interaction: discord.Interaction, tag: str | None = None, words: str | None = None) -> None:
        """List the items matching the tag and words, newest first."""
        found = await self.bot.services.office.resources.search(words, tag)
        if not found:
            what = " matching that" if tag or words else ""
            await reply(interaction, f"The library has no items{what} yet.")
            return
        shown = found[:LIST_MAX]
        more = (
            f"\n…and {len(found) - LIST_MAX} more: narrow it down with `tag` or `words`."
            if len(found) > LIST_MAX
            else ""
        )
        await reply(interaction, "\n\n".join(_resource_line(item) for item in shown) + more)

    @list_.autocomplete("tag")
    async def _tags(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        tags = await self.bot.services.office.resources.tags()
        return [app_commands.Choice(name=t, value=t) for t in tags if current.casefold() in t][:25]

    @resources.command(name="show", description="Show one item of the library, with its file")
    @app_commands.describe(item="The item")
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction, item: app_commands.Range[int, 1, 2**31 - 1]) -> None:
        """Show an item; a file item comes with its file."""
        service = self.bot.services.office.resources
        found = await service.get(item)
        if found is None:
            raise InvalidInputError("There is no such item in the library; pick one from the suggestions.")
        stored = await service.file(item)
        if stored is None:
            await reply(interaction, _resource_line(found))
            return
        await interaction.response.send_message(
            _resource_line(found), file=discord.File(io.BytesIO(stored[1]), filename=stored[0]), ephemeral=True
        )

    @show.autocomplete("item")
    async def _items(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        found = await self.bot.services.office.resources.search(current or None)
        return [app_commands.Choice(name=r.title[:100], value=r.id) for r in found[:25]]


class ReplyModal(BotModal, title="Reply to the network"):
    """A reply to a group's question: relayed to that group's facilitators and shown under the question."""

    text: discord.ui.TextInput[ReplyModal] = discord.ui.TextInput(
        label="Your reply", style=discord.TextStyle.paragraph, max_length=REPLY_MAX
    )
    signed: discord.ui.TextInput[ReplyModal] = discord.ui.TextInput(
        label="Sign with your name? (optional)",
        placeholder="Leave empty to reply as your group only",
        required=False,
        max_length=80,
    )

    def __init__(self, bot: SmartBot, question_id: int, from_group: str) -> None:
        super().__init__()
        self.bot = bot
        self.question_id = question_id
        self.from_group = from_group

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Relay the reply."""
        office = await self.bot.services.participation.office.config()
        if office is None:
            raise InvalidInputError("The facilitators' network is not set up any more.")
        reached = await self.bot.services.office.network.reply(
            office.guild_id, self.question_id, self.from_group, self.text.value, self.signed.value or None
        )
        text = "Thank you: your reply is on its way to the group's facilitators and shown under the question."
        if not reached:
            text = "Thank you: your reply is shown under the question (that group has no facilitators' channel set up)."
        await reply(interaction, text)
        self.bot.delivery.kick()


class ReplyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=REPLY_TEMPLATE):
    """A question's Reply button in the network channel; its custom_id names the question."""

    def __init__(self, question_id: int) -> None:
        super().__init__(discord.ui.Button(label="Reply", custom_id=f"network:reply:{question_id}"))
        self.question_id = question_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReplyButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["question_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the reply form for facilitators on a rota and the office; name the group the reply comes from."""
        bot: SmartBot = interaction.client  # type: ignore[assignment]
        try:
            groups = await bot.services.office.network.rota_groups(interaction.user.id)
            if groups:
                from_group = await _group_name(bot, groups[0])
            else:
                office = await bot.services.participation.office.config()
                if office is None or not has_any_role(interaction.user, [office.role_id]):
                    await interaction.response.send_message(
                        "Only facilitators on a group's rota and the central office can reply here.", ephemeral=True
                    )
                    return
                from_group = OFFICE_NAME
            await interaction.response.send_modal(ReplyModal(bot, self.question_id, from_group))
        except Exception as exc:
            defer_when_slow(interaction)
            await report_error(interaction, exc)
