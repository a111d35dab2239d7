"""What every cog shares: replies, the error reporter, role checks and converters (not a cog itself).

Cogs import these from here, never from another cog package's `_private` modules. Replies and the error reporter
live in `cogs/_replies.py` and `cogs/_errors.py` (private to `cogs`); this module is their one public face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.domain.discord_ids import mention_role
from bot.domain.guild import GuildSettings
from cogs._errors import BotModal, BotView, report_error, user_message
from cogs._replies import PatientResponse, defer_when_slow, follow_up, guild_id, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

__all__ = [
    "BotModal",
    "BotView",
    "PatientResponse",
    "RecordId",
    "coordinator_guild",
    "defer_when_slow",
    "follow_up",
    "guild_id",
    "has_any_role",
    "reply",
    "report_error",
    "require_coordinator",
    "require_facilitator",
    "staff_guild",
    "user_message",
]

# Ids are 32-bit database keys; declaring the range makes Discord refuse anything larger.
RecordId = app_commands.Range[int, 1, 2**31 - 1]


def has_any_role(member: discord.Member | discord.User, role_ids: list[int | None]) -> bool:
    """Return whether the member holds one of the roles, or can manage the server."""
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild:
        return True
    held = {role.id for role in member.roles}
    return any(role_id in held for role_id in role_ids if role_id)


def require_facilitator(
    interaction: discord.Interaction, settings: GuildSettings, *, coordinators: bool = True
) -> None:
    """Refuse members who are neither facilitators nor (optionally) coordinators, naming the roles."""
    allowed = [settings.facilitator_role_id] + ([settings.coordinator_role_id] if coordinators else [])
    if has_any_role(interaction.user, allowed):
        return
    names = [mention_role(role_id) for role_id in allowed if role_id]
    needed = " or ".join(names) if names else "the facilitator role (not set up yet: see /setup start)"
    raise app_commands.CheckFailure(f"Only members with {needed} can do this.")


def require_coordinator(interaction: discord.Interaction, settings: GuildSettings) -> None:
    """Refuse members who are not coordinators (or server managers), naming the role."""
    if has_any_role(interaction.user, [settings.coordinator_role_id]):
        return
    role = mention_role(settings.coordinator_role_id) if settings.coordinator_role_id else "the coordinator role"
    raise app_commands.CheckFailure(f"Only members with {role} (or Manage Server) can do this.")


async def staff_guild(bot: SmartBot, interaction: discord.Interaction, *, coordinators: bool = True) -> int:
    """Return the guild id if the caller is a facilitator (or, by default, a coordinator); refuse otherwise."""
    gid = guild_id(interaction)
    require_facilitator(interaction, await bot.services.guild_config.get(gid), coordinators=coordinators)
    return gid


async def coordinator_guild(bot: SmartBot, interaction: discord.Interaction) -> int:
    """Return the guild id if the caller is a coordinator; refuse otherwise."""
    gid = guild_id(interaction)
    require_coordinator(interaction, await bot.services.guild_config.get(gid))
    return gid
