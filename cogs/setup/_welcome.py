"""The welcome a server gets when the bot joins it: three steps to a first meeting, starting with `/setup start`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.domain.server_setup import welcome_text

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)


class Welcome(commands.Cog):
    """Greet a server the bot has just joined."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Post the welcome in the system channel; if the bot can't post there, send it to the owner by DM."""
        channel = guild.system_channel
        if channel is not None and channel.permissions_for(guild.me).send_messages:
            try:
                await channel.send(welcome_text(guild.name, by_dm=False))
            except discord.HTTPException:
                log.info("Could not post the welcome in guild %s's system channel; trying its owner.", guild.id)
            else:
                log.info("Welcomed guild %s in its system channel.", guild.id)
                return
        if guild.owner_id is None:
            log.info("Could not welcome guild %s: no system channel to post in, and no owner known.", guild.id)
            return
        try:
            # Without the members intent the owner is rarely cached: ask for the user.
            owner = guild.owner or await self.bot.fetch_user(guild.owner_id)
            await owner.send(welcome_text(guild.name, by_dm=True))
        except discord.HTTPException:
            # Closed DMs, or no system channel we may post in: nothing else to try; `/setup start` still works.
            log.info(
                "Could not welcome guild %s: no system channel to post in and the owner's DMs are closed.", guild.id
            )
            return
        log.info("Welcomed guild %s by a DM to its owner.", guild.id)
