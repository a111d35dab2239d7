"""Role checks that name the role a member needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.domain.guild import GuildSettings
from cogs._replies import guild_id

if TYPE_CHECKING:
    from bot.client import SmartBot


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
    names = [f"<@&{role_id}>" for role_id in allowed if role_id]
    needed = " or ".join(names) if names else "the facilitator role (not set up yet: see /setup configure)"
    raise app_commands.CheckFailure(f"Only members with {needed} can do this.")


def require_coordinator(interaction: discord.Interaction, settings: GuildSettings) -> None:
    """Refuse members who are not coordinators (or server managers), naming the role."""
    if has_any_role(interaction.user, [settings.coordinator_role_id]):
        return
    role = f"<@&{settings.coordinator_role_id}>" if settings.coordinator_role_id else "the coordinator role"
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
