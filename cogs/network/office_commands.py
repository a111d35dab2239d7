"""The office's `/office announce`, `pair`, `unpair`, `network-setup` and `resources add|remove`.

These join the `/office` group of the `Office` cog (`cogs/participation/_office.py`), which mixes this class in;
they work only in the central office's server, for its role.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.discord_ids import mention_channel, mention_role
from bot.domain.text import plural
from bot.errors import InvalidInputError
from bot.services.office.announcements import FILE_MAX_BYTES, Recipient
from bot.services.participation.office import OfficeConfig
from cogs.shared import has_any_role, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

# How long the bot waits for Discord to hand over an announcement's attached file.
FILE_DOWNLOAD_SECONDS = 20

CHOICES_MAX = 25


async def group_names(bot: SmartBot) -> dict[int, str]:
    """Return each group's name: its label or stored name, else the server's live name."""
    return {guild.id: guild.name for guild in bot.guilds} | await bot.services.participation.group_names()


async def office_only(bot: SmartBot, interaction: discord.Interaction, command: str) -> OfficeConfig:
    """Return the office's settings if this is its server and the caller holds its role; refuse otherwise."""
    config = await bot.services.participation.office.config()
    if config is None or interaction.guild_id != config.guild_id:
        raise app_commands.CheckFailure(f"`/office {command}` works only in the central office's server.")
    if not has_any_role(interaction.user, [config.role_id]):
        raise app_commands.CheckFailure(f"Only members with {mention_role(config.role_id)} can do this.")
    return config


async def recipients(bot: SmartBot, office_guild_id: int | None) -> list[Recipient]:
    """Return the groups announcements can go to (never the office's own server)."""
    exclude = [office_guild_id] if office_guild_id else []
    return await bot.services.office.announcements.recipients(await group_names(bot), exclude=exclude)


async def _office_guild(bot: SmartBot) -> int | None:
    config = await bot.services.participation.office.config()
    return None if config is None else config.guild_id


async def groups_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Suggest group names for the last name of a comma-separated list."""
    bot: SmartBot = interaction.client  # type: ignore[assignment]
    *done, typing = current.split(",") if current else [""]
    prefix = ", ".join(part.strip() for part in done if part.strip())
    chosen = {part.strip().casefold() for part in done}
    typed = typing.strip().casefold()
    choices = []
    for recipient in await recipients(bot, await _office_guild(bot)):
        if recipient.name.casefold() in chosen or typed not in recipient.name.casefold():
            continue
        value = f"{prefix}, {recipient.name}" if prefix else recipient.name
        if len(value) <= 100:
            choices.append(app_commands.Choice(name=value, value=value))
    return choices[:CHOICES_MAX]


async def group_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Suggest one group by name (the value is its server id)."""
    bot: SmartBot = interaction.client  # type: ignore[assignment]
    typed = current.strip().casefold()
    found = [r for r in await recipients(bot, await _office_guild(bot)) if typed in r.name.casefold()]
    return [app_commands.Choice(name=r.name[:100], value=str(r.guild_id)) for r in found[:CHOICES_MAX]]


async def resource_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Suggest library items by title."""
    bot: SmartBot = interaction.client  # type: ignore[assignment]
    found = await bot.services.office.resources.search(current or None)
    return [app_commands.Choice(name=r.title[:100], value=r.id) for r in found[:CHOICES_MAX]]


async def _group(bot: SmartBot, value: str, option: str) -> Recipient:
    """Return the set-up group an autocompleted option names (by server id, or by name if typed)."""
    for recipient in await recipients(bot, await _office_guild(bot)):
        if value.strip() in (str(recipient.guild_id),) or value.strip().casefold() == recipient.name.casefold():
            return recipient
    raise InvalidInputError(f"`{option}`: no set-up group matches {value!r}. Pick one from the suggestions.")


async def _file(attachment: discord.Attachment | None) -> tuple[str | None, bytes | None]:
    if attachment is None:
        return None, None
    if attachment.size > FILE_MAX_BYTES:
        raise InvalidInputError(f"The file is too large: at most {FILE_MAX_BYTES // (1024 * 1024)} MiB.")
    try:
        # Bounded: a download that hangs must not hold the command (and the interaction's follow-up) for ever.
        return attachment.filename, await asyncio.wait_for(attachment.read(), timeout=FILE_DOWNLOAD_SECONDS)
    except (TimeoutError, discord.HTTPException, aiohttp.ClientError):
        log.info("Downloading an announcement's file from Discord failed.")
        raise InvalidInputError("Discord did not hand over the attached file. Please try again.") from None


if TYPE_CHECKING:
    # For type checkers the mixin is a cog (app_commands' decorators want one); at run time it must stay a plain
    # class, so that the Office GroupCog alone collects these commands into its `/office` group.
    _MixinBase = commands.Cog
else:
    _MixinBase = object


class OfficeNetworkCommands(_MixinBase):
    """Commands of the `/office` group for announcements, mentoring, the network and the resources library."""

    bot: SmartBot

    resources = app_commands.Group(name="resources", description="The shared resources library")

    @app_commands.command(name="announce", description="Send a message (and a file) to every group, or to some")
    @app_commands.describe(
        message="What to tell the groups' coordinators",
        file="A file to send with it (optional)",
        groups="Only these groups, by name, separated by commas (default: every group)",
    )
    @app_commands.autocomplete(groups=groups_autocomplete)
    @app_commands.guild_only()
    async def announce(
        self,
        interaction: discord.Interaction,
        message: app_commands.Range[str, 1, 1800],
        file: discord.Attachment | None = None,
        groups: str | None = None,
    ) -> None:
        """Queue the announcement to each group's coordinators' channel; its delivery report is posted here."""
        config = await office_only(self.bot, interaction, "announce")
        service = self.bot.services.office.announcements
        chosen = service.choose(await recipients(self.bot, config.guild_id), groups)
        file_name, file_data = await _file(file)
        announcement_id = await service.announce(
            config.guild_id,
            interaction.channel_id or config.channel_id,
            message,
            chosen,
            file_name=file_name,
            file_data=file_data,
        )
        await reply(
            interaction,
            f"Announcement {announcement_id} is on its way to {plural(len(chosen), 'group')}. "
            "Its delivery report is posted in this channel and updates as each group receives it.",
        )
        self.bot.delivery.kick()

    @app_commands.command(name="pair", description="Pair a new group with an experienced one, to learn from it")
    @app_commands.describe(new_group="The group starting out", experienced_group="The group that will advise it")
    @app_commands.autocomplete(new_group=group_autocomplete, experienced_group=group_autocomplete)
    @app_commands.guild_only()
    async def pair(self, interaction: discord.Interaction, new_group: str, experienced_group: str) -> None:
        """Pair two groups and introduce them in their coordinators' channels."""
        await office_only(self.bot, interaction, "pair")
        new = await _group(self.bot, new_group, "new_group")
        experienced = await _group(self.bot, experienced_group, "experienced_group")
        await self.bot.services.office.pairing.pair(new.guild_id, new.name, experienced.guild_id, experienced.name)
        await reply(
            interaction,
            f"Paired **{new.name}** with **{experienced.name}**; both groups' coordinators are being introduced. "
            "The pairing shows on the overview until `/office unpair`.",
        )
        self.bot.delivery.kick()

    @app_commands.command(name="unpair", description="End a group's mentoring pairing")
    @app_commands.describe(group="A group in the pairing", other_group="The other group (default: all its pairings)")
    @app_commands.autocomplete(group=group_autocomplete, other_group=group_autocomplete)
    @app_commands.guild_only()
    async def unpair(self, interaction: discord.Interaction, group: str, other_group: str | None = None) -> None:
        """End a group's pairing with another group, or all its pairings."""
        await office_only(self.bot, interaction, "unpair")
        first = await _group(self.bot, group, "group")
        other = await _group(self.bot, other_group, "other_group") if other_group else None
        ended = await self.bot.services.office.pairing.unpair(first.guild_id, other.guild_id if other else None)
        if not ended:
            raise InvalidInputError(f"**{first.name}** has no running pairing{' with ' + other.name if other else ''}.")
        names = ", ".join(f"{p.new_group_name} with {p.experienced_group_name}" for p in ended)
        await reply(interaction, f"Ended: {names}.")

    @app_commands.command(name="network-setup", description="Choose the facilitators' network channel and role")
    @app_commands.describe(channel="Where the network meets", role="The role `/network join` invites give on arrival")
    @app_commands.guild_only()
    async def network_setup(
        self, interaction: discord.Interaction, channel: discord.TextChannel, role: discord.Role
    ) -> None:
        """Set the network's channel and role (in the office's server)."""
        await office_only(self.bot, interaction, "network-setup")
        me = channel.guild.me
        missing = []
        if not channel.permissions_for(me).create_instant_invite:
            missing.append(f"'Create Invite' in {mention_channel(channel.id)}")
        if not me.guild_permissions.manage_roles or role >= me.top_role:
            missing.append(f"'Manage Roles' with my role above {mention_role(role.id)}")
        await self.bot.services.office.network.configure(channel.id, role.id)
        note = f" Before anyone can join, give me {' and '.join(missing)}." if missing else ""
        await reply(
            interaction,
            f"The facilitators' network meets in {mention_channel(channel.id)}; `/network join` gives "
            f"{mention_role(role.id)} on arrival.{note}",
        )

    @resources.command(name="add", description="Add a link or a file to the shared resources library")
    @app_commands.describe(
        title="A short title",
        description="What it is and who it helps",
        tags="Tags separated by commas, e.g. new groups, training, online safety",
        link="A web address (or give a file)",
        file="A file (or give a link)",
        announce="Also tell every group about it",
    )
    @app_commands.guild_only()
    async def resources_add(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 1, 100],
        description: app_commands.Range[str, 1, 300],
        tags: str,
        link: str | None = None,
        file: discord.Attachment | None = None,
        announce: bool = False,
    ) -> None:
        """Add an item; optionally announce it to every group."""
        config = await office_only(self.bot, interaction, "resources add")
        file_name, file_data = await _file(file)
        item = await self.bot.services.office.resources.add(
            title, description, tags, url=link, file_name=file_name, file_data=file_data
        )
        text = f"Added **{item.title}** to the library (item {item.id})."
        if announce:
            service = self.bot.services.office.announcements
            groups = await recipients(self.bot, config.guild_id)
            where = f"\n{item.url}" if item.url else " (a file: `/resources` shows it)"
            message = f"New in the resources library: **{item.title}**: {item.description}{where}"
            announcement_id = await service.announce(
                config.guild_id, interaction.channel_id or config.channel_id, message, groups
            )
            text += f" Announcement {announcement_id} is on its way to {plural(len(groups), 'group')}."
            self.bot.delivery.kick()
        await reply(interaction, text)

    @resources.command(name="remove", description="Remove an item from the shared resources library")
    @app_commands.describe(item="The item to remove")
    @app_commands.autocomplete(item=resource_autocomplete)
    @app_commands.guild_only()
    async def resources_remove(
        self, interaction: discord.Interaction, item: app_commands.Range[int, 1, 2**31 - 1]
    ) -> None:
        """Remove an item."""
        await office_only(self.bot, interaction, "resources remove")
        if not await self.bot.services.office.resources.remove(item):
            raise InvalidInputError("There is no such item in the library; pick one from the suggestions.")
        await reply(interaction, "Removed from the library.")
