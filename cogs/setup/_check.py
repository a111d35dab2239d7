"""`/setup check`: compare the server with what a group needs, and say what is wrong with the fix in plain words."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.domain.server_setup import Finding, check_server
from cogs.referral import referral_findings
from cogs.setup._server import ServerSnapshot, server_facts

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)


async def check_guild(bot: SmartBot, guild: discord.Guild, snapshot: ServerSnapshot | None = None) -> list[Finding]:
    """Return what stops the group from working (nothing when everything is ready)."""
    settings = await bot.services.guild_config.get(guild.id)
    meeting_channels = await bot.services.group_settings.meeting_channels(guild.id)
    snapshot = snapshot or await ServerSnapshot.fetch(guild)
    findings = check_server(server_facts(snapshot, settings, meeting_channels))
    # The referral links' welcome channel: Create Invite, Manage Channels (their counts), Pin Messages (the note).
    findings += await referral_findings(bot, guild, snapshot.bot_role_name())
    log.info("Set-up check of guild %s: %d finding(s).", guild.id, len(findings))
    return findings
