"""The Discord side of the group plan: read what a server has, create what it lacks, and gather the check's facts.

The plan and the rules are plain data in `bot/domain/server_setup.py`. Channels and roles are fetched rather than
read from the cache: right after set-up created them, the gateway's events about them may still be on their way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from bot.domain.guild import FIELD_LABELS, GuildSettings
from bot.domain.server_setup import (
    BOT,
    CHANNELS,
    ChannelFacts,
    EVERYONE,
    Existing,
    ItemKind,
    MEETINGS_CHANNEL,
    PlannedItem,
    ROLES,
    RoleFacts,
    ServerFacts,
    SetupPlan,
    VOICE_CHANNEL,
    VOICE_KEY,
    overwrites_for,
    permission_list,
    plan_setup,
    same_name,
)
from bot.permissions import permission_names

log = logging.getLogger(__name__)

REASON = "/setup start: what a SMART group needs"


@dataclass
class ServerSnapshot:
    """The server's channels and roles as Discord has them now."""

    guild: discord.Guild
    channels: dict[int, discord.abc.GuildChannel]
    roles: dict[int, discord.Role]

    @classmethod
    async def fetch(cls, guild: discord.Guild) -> ServerSnapshot:
        """Ask Discord for the server's channels and roles."""
        channels: dict[int, discord.abc.GuildChannel] = {
            channel.id: channel for channel in await guild.fetch_channels()
        }
        roles = {role.id: role for role in await guild.fetch_roles()}
        return cls(guild, channels, roles)

    def existing(self) -> list[Existing]:
        """Return what set-up could adopt: text and voice channels, and roles people can be given."""
        things = [
            Existing(
                channel.id, channel.name, ItemKind.TEXT if isinstance(channel, discord.TextChannel) else ItemKind.VOICE
            )
            for channel in self.channels.values()
            if isinstance(channel, (discord.TextChannel, discord.VoiceChannel))
        ]
        things += [
            Existing(role.id, role.name, ItemKind.ROLE)
            for role in self.roles.values()
            if not role.is_default() and not role.managed
        ]
        return things

    def plan(self, settings: GuildSettings) -> SetupPlan:
        """Return what set-up would use and create, the saved settings first."""
        saved = {item.key: getattr(settings, item.key, None) for item in (*ROLES, *CHANNELS)}
        return plan_setup(saved, self.existing())

    def voice_channel(self) -> discord.abc.GuildChannel | None:
        """Return the voice channel set-up made (or would adopt) for meetings, found by its name."""
        return next(
            (
                channel
                for channel in self.channels.values()
                if isinstance(channel, discord.VoiceChannel) and same_name(channel.name, VOICE_CHANNEL.name)
            ),
            None,
        )

    def bot_top_position(self) -> int:
        """Return the position of the bot's highest role."""
        me = self.guild.me
        return max((self.roles[role.id].position for role in me.roles if role.id in self.roles), default=0)

    def bot_role_name(self) -> str:
        """Return the name of the bot's own role, as the admin sees it in the role list."""
        own = self.guild.self_role
        return own.name if own is not None else self.guild.me.top_role.name


@dataclass
class Applied:
    """What `/setup start` did: what it made, what it used, what failed, and the ids to save."""

    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)
    roles: dict[str, discord.Role] = field(default_factory=dict)


def shown(item: PlannedItem, name: str) -> str:
    """Return how a channel or role is named in set-up's messages."""
    return f"@{name}" if item.kind is ItemKind.ROLE else f"#{name}" if item.kind is ItemKind.TEXT else f"🔊 {name}"


async def apply_plan(snapshot: ServerSnapshot, plan: SetupPlan) -> Applied:
    """Create every missing role, then every missing channel (private ones with their overwrites)."""
    applied = Applied()
    for step in plan.steps:
        if step.existing_id is not None:
            applied.ids[step.item.key] = step.existing_id
            applied.adopted.append(shown(step.item, step.existing_name or step.item.name))
            if step.item.kind is ItemKind.ROLE and step.existing_id in snapshot.roles:
                applied.roles[step.item.key] = snapshot.roles[step.existing_id]
            continue
        try:
            made_id = await _create(snapshot.guild, step.item, applied.roles)
        except discord.Forbidden:
            applied.failed.append(
                f"{shown(step.item, step.item.name)}: I need {permission_list(_needed(step.item))} to create it."
            )
            log.info("Set-up could not create the %s in guild %s: forbidden.", step.item.label, snapshot.guild.id)
            continue
        except discord.HTTPException as error:
            applied.failed.append(f"{shown(step.item, step.item.name)}: Discord refused it ({error.status}).")
            log.warning("Set-up could not create the %s in guild %s.", step.item.label, snapshot.guild.id)
            continue
        applied.ids[step.item.key] = made_id
        applied.created.append(shown(step.item, step.item.name))
    return applied


def _needed(item: PlannedItem) -> tuple[str, ...]:
    """Return what creating `item` takes: Manage Roles for a role, Manage Channels (and Roles, if private) else."""
    if item.kind is ItemKind.ROLE:
        return ("manage_roles",)
    return ("manage_channels", "manage_roles") if item.private else ("manage_channels",)


async def _create(guild: discord.Guild, item: PlannedItem, roles: dict[str, discord.Role]) -> int:
    if item.kind is ItemKind.ROLE:
        role = await guild.create_role(
            name=item.name, permissions=discord.Permissions.none(), mentionable=item.mentionable, reason=REASON
        )
        roles[item.key] = role
        return role.id
    if item.kind is ItemKind.VOICE:
        return (await guild.create_voice_channel(item.name, reason=REASON)).id
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {}
    for planned in overwrites_for(item):
        target: discord.Role | discord.Member | None = (
            guild.default_role
            if planned.target == EVERYONE
            else guild.me
            if planned.target == BOT
            else roles.get(planned.target)
        )
        if target is None:
            continue  # its role could not be made: the check will say who can't see the channel
        values = dict.fromkeys(planned.allow, True) | dict.fromkeys(planned.deny, False)
        overwrites[target] = discord.PermissionOverwrite(**values)
    channel = await guild.create_text_channel(item.name, topic=item.purpose, overwrites=overwrites, reason=REASON)
    return channel.id


def server_facts(
    snapshot: ServerSnapshot, settings: GuildSettings, meeting_channels: Sequence[tuple[int, str]]
) -> ServerFacts:
    """Gather what `/setup check` looks at: the bot's permissions per channel, the roles, the missing settings."""
    me = snapshot.guild.me
    channels: list[ChannelFacts] = []
    seen: set[int] = set()
    for item in CHANNELS:
        if item.key == VOICE_KEY:
            voice = snapshot.voice_channel()
            if voice is not None:
                channels.append(_channel_facts(snapshot, settings, item, voice))
                seen.add(voice.id)
            continue
        saved = getattr(settings, item.key)
        if saved is None:
            continue
        channel = snapshot.channels.get(saved)
        channels.append(
            _channel_facts(snapshot, settings, item, channel) if channel else ChannelFacts(item.key, "", exists=False)
        )
        seen.add(saved)
    for channel_id, kind in meeting_channels:
        channel = snapshot.channels.get(channel_id)
        if channel is None or channel_id in seen:
            continue  # a series whose channel is gone is the meetings' own problem, reported when it runs
        seen.add(channel_id)
        channels.append(
            _channel_facts(snapshot, settings, MEETINGS_CHANNEL if kind == "text" else VOICE_CHANNEL, channel)
        )
    top = snapshot.bot_top_position()
    roles = []
    for item in ROLES:
        saved = getattr(settings, item.key)
        if saved is None:
            continue
        role = snapshot.roles.get(saved)
        if role is None:
            roles.append(RoleFacts(item.key, "", exists=False))
            continue
        roles.append(RoleFacts(item.key, role.name, above_bot=role.position >= top, mentionable=role.mentionable))
    return ServerFacts(
        bot_role=snapshot.bot_role_name(),
        bot_permissions=permission_names(me.guild_permissions),
        missing_settings=tuple(settings.missing(*FIELD_LABELS)),
        channels=tuple(channels),
        roles=tuple(roles),
    )


def _channel_facts(
    snapshot: ServerSnapshot, settings: GuildSettings, item: PlannedItem, channel: discord.abc.GuildChannel
) -> ChannelFacts:
    guild = snapshot.guild
    without_view = []
    for role_key in item.private_to:
        role = snapshot.roles.get(getattr(settings, role_key) or 0)
        if role is not None and not channel.permissions_for(role).view_channel:
            without_view.append(role.name)
    return ChannelFacts(
        item.key,
        channel.name,
        bot_has=permission_names(channel.permissions_for(guild.me)),
        everyone_can_view=channel.permissions_for(guild.default_role).view_channel,
        roles_without_view=tuple(without_view),
    )
