"""Discord's permission bits and its permission computation (roles, then channel overwrites)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tests.sandbox.models import GUILD_TEXT, PRIVATE_THREAD, VOICE_TYPES

if TYPE_CHECKING:
    from tests.sandbox.models import Channel, Guild, Member

log = logging.getLogger(__name__)

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
PRIORITY_SPEAKER = 1 << 8
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
MUTE_MEMBERS = 1 << 22
DEAFEN_MEMBERS = 1 << 23
MOVE_MEMBERS = 1 << 24
USE_VAD = 1 << 25
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
REQUEST_TO_SPEAK = 1 << 32
MANAGE_EVENTS = 1 << 33
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
CREATE_EVENTS = 1 << 44
SEND_POLLS = 1 << 49
PIN_MESSAGES = 1 << 51

ALL = (1 << 53) - 1

# What a new server gives @everyone, minus Mention Everyone so tests opt in to mass pings explicitly.
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | REQUEST_TO_SPEAK
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
    | SEND_POLLS
)

# What the bot's managed role gets when a test adds the bot to a guild without naming permissions.
DEFAULT_BOT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | MANAGE_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | MANAGE_MESSAGES
    | PIN_MESSAGES
    | MANAGE_EVENTS
    | CREATE_EVENTS
    | MANAGE_ROLES
    | CONNECT
    | USE_APPLICATION_COMMANDS
)

# Permissions that mean nothing without Send Messages in a text channel (Discord drops them implicitly).
_NEEDS_SEND = MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS


def as_int(value: object) -> int:
    """Accept an int or anything with a `.value` int (such as discord.Permissions)."""
    if isinstance(value, int):
        return value
    inner = getattr(value, "value", None)
    if isinstance(inner, int):
        return inner
    raise TypeError(f"expected permission bits as int or discord.Permissions, got {value!r}")


def base_permissions(guild: Guild, member: Member) -> int:
    """Compute a member's guild-wide permissions from @everyone and their roles."""
    if member.id == guild.owner_id:
        return ALL
    perms = guild.everyone.permissions
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & ADMINISTRATOR:
        return ALL
    return perms


def channel_permissions(guild: Guild, channel: Channel, member: Member) -> int:
    """Compute a member's permissions in a channel: base, then overwrites for @everyone, roles, member."""
    base = base_permissions(guild, member)
    if base & ADMINISTRATOR:
        return ALL
    # Threads have no overwrites of their own: they inherit the parent's.
    source = guild.channels.get(channel.parent_id) if channel.is_thread and channel.parent_id else channel
    if source is None:
        source = channel
    perms = base
    everyone = source.overwrites.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        overwrite = source.overwrites.get(role_id)
        if overwrite is not None:
            allow |= overwrite.allow
            deny |= overwrite.deny
    perms = (perms & ~deny) | allow
    own = source.overwrites.get(member.id)
    if own is not None:
        perms = (perms & ~own.deny) | own.allow
    if not perms & VIEW_CHANNEL:
        return 0
    if channel.type == PRIVATE_THREAD and member.id not in channel.thread_members and not perms & MANAGE_THREADS:
        return 0
    send = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
    if (channel.type == GUILD_TEXT or channel.is_thread) and not perms & send:
        perms &= ~_NEEDS_SEND
    if channel.type in VOICE_TYPES and not perms & CONNECT:
        perms &= ~(SPEAK | STREAM | MUTE_MEMBERS | DEAFEN_MEMBERS | MOVE_MEMBERS | USE_VAD | PRIORITY_SPEAKER)
    return perms


def top_role_position(guild: Guild, member: Member) -> int:
    """Return the position of the member's highest role (0 for @everyone only)."""
    positions = [guild.roles[r].position for r in member.roles if r in guild.roles]
    return max(positions, default=0)
