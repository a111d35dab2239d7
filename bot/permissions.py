"""The permissions the bot asks for when it is added to a server: the one list `invite-url` and `/setup check` share.

They are what the group plan (`bot/domain/server_setup.py`) says the bot needs in each channel and server-wide,
and nothing more; this module only turns those names into Discord's permission bits.
"""

from __future__ import annotations

import logging

import discord

from bot.domain.server_setup import PERMISSION_LABELS, invite_permission_names

log = logging.getLogger(__name__)

# Post and manage meeting threads, mirror meetings as scheduled events in their voice channel, give members the
# opt-in reminder role, and let `/setup start` create the group's channels (private ones with overwrites).
# Referral links (bot/domain/referral.py): 'Create Invite' to make each route's invite in the welcome channel, and
# 'Pin Messages' to pin the "New here?" note there (Discord split pinning out of Manage Messages, which we don't ask
# for). Reading the invites' use counts needs 'Manage Channels' in that channel, asked above for `/setup start`; the
# server-wide invite list would need Manage Server, which we never ask for.
# The facilitators' network (`/network join`, cogs/network/) needs the same 'Create Invite' in the office's network
# channel and 'Manage Roles' above its network role (the invite gives the role): `/office network-setup` checks both.
REFERRAL_PERMISSIONS = ("create_instant_invite", "pin_messages")
BOT_PERMISSIONS = discord.Permissions(
    **dict.fromkeys(sorted(invite_permission_names() | frozenset(REFERRAL_PERMISSIONS)), True)
)
BOT_SCOPES = ("bot", "applications.commands")


def permission_names(permissions: discord.Permissions) -> frozenset[str]:
    """Return which of the permissions the plan knows are granted, by the plan's names (`view_channel`, ...)."""
    # By name, not by iterating: iteration spells some permissions by their old names (`read_messages`).
    return frozenset(name for name in PERMISSION_LABELS if getattr(permissions, name))
