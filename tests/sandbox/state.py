"""The sandbox's in-memory Discord: users, the application, guilds and what is in them."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from tests.sandbox import errors, permissions as perms
from tests.sandbox.models import (
    Application,
    Channel,
    Command,
    DM,
    GUILD_TEXT,
    Guild,
    Interaction,
    Invite,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    VoiceState,
)
from tests.sandbox.snowflakes import new_token, snowflake
from tests.sandbox.transcript import ROLE, Transcript, VOICE

log = logging.getLogger(__name__)

# Application flags that say the privileged intents are switched on in the developer portal.
FLAG_PRESENCE = 1 << 13
FLAG_MEMBERS = 1 << 15
FLAG_MESSAGE_CONTENT = 1 << 19

Dispatcher = Callable[..., None]


class SandboxState:
    """Holds every object and the operations that keep them consistent and tell the gateway."""

    def __init__(self, *, app_name: str = "Sandbox Bot", privileged_intents: bool = True) -> None:
        owner = User(id=snowflake(), username="app_owner", global_name="App Owner")
        bot = User(id=snowflake(), username=app_name.lower().replace(" ", "_"), global_name=app_name, bot=True)
        flags = FLAG_PRESENCE | FLAG_MEMBERS | FLAG_MESSAGE_CONTENT if privileged_intents else 0
        # Discord gives the application and its bot user the same id.
        self.app = Application(id=bot.id, name=app_name, bot=bot, owner=owner, token=_bot_token(bot.id), flags=flags)
        self.users: dict[int, User] = {owner.id: owner, bot.id: bot}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        # Files members attach to command options, served at `attachment_base` as Discord's CDN serves them.
        self.attachment_base = "http://127.0.0.1"
        self.attachments: dict[int, bytes] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.commands: dict[int, Command] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.dm_channels: dict[frozenset[int], int] = {}
        # Guild invites by code (tests/sandbox/routes_invites.py).
        self.invites: dict[str, Invite] = {}
        self.transcript = Transcript()
        self.dispatch: Dispatcher = lambda *args, **kwargs: None

    @property
    def bot(self) -> User:
        """Return the bot user."""
        return self.app.bot

    # Lookups that answer like Discord when something is missing.

    def guild(self, guild_id: int | str) -> Guild:
        """Return a guild or raise 404 Unknown Guild."""
        guild = self.guilds.get(_int(guild_id))
        if guild is None:
            raise errors.ApiError(errors.UNKNOWN_GUILD)
        return guild

    def channel(self, channel_id: int | str) -> Channel:
        """Return a live channel or raise 404 Unknown Channel."""
        channel = self.channels.get(_int(channel_id))
        if channel is None or channel.deleted:
            raise errors.ApiError(errors.UNKNOWN_CHANNEL)
        return channel

    def message(self, channel: Channel, message_id: int | str) -> Message:
        """Return a live, non-ephemeral message of a channel or raise 404 Unknown Message."""
        message = self.messages.get(_int(message_id))
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise errors.ApiError(errors.UNKNOWN_MESSAGE)
        return message

    def user(self, user_id: int | str) -> User:
        """Return a user or raise 404 Unknown User."""
        user = self.users.get(_int(user_id))
        if user is None:
            raise errors.ApiError(errors.UNKNOWN_USER)
        return user

    def member(self, guild: Guild, user_id: int | str) -> Member:
        """Return a guild member or raise 404 Unknown Member."""
        member = guild.members.get(_int(user_id))
        if member is None:
            raise errors.ApiError(errors.UNKNOWN_MEMBER)
        return member

    def role(self, guild: Guild, role_id: int | str) -> Role:
        """Return a role or raise 404 Unknown Role."""
        role = guild.roles.get(_int(role_id))
        if role is None:
            raise errors.ApiError(errors.UNKNOWN_ROLE)
        return role

    def bot_member(self, guild: Guild) -> Member:
        """Return the bot's membership of a guild."""
        return guild.members[self.bot.id]

    # Permissions.

    def permissions_in(self, channel: Channel, user_id: int) -> int:
        """Return a user's computed permissions in a guild channel (all for DMs they are in)."""
        if channel.guild_id is None:
            return perms.ALL if user_id in channel.recipient_ids else 0
        guild = self.guild(channel.guild_id)
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return perms.channel_permissions(guild, channel, member)

    def require(self, channel: Channel, user_id: int, needed: int) -> None:
        """Raise 403 Missing Access / Missing Permissions unless the user has every needed bit."""
        have = self.permissions_in(channel, user_id)
        if not have & perms.VIEW_CHANNEL:
            raise errors.ApiError(errors.MISSING_ACCESS)
        if have & needed != needed:
            raise errors.ApiError(errors.MISSING_PERMISSIONS)

    def require_guild(self, guild: Guild, user_id: int, needed: int) -> None:
        """Raise 403 Missing Permissions unless the member has every needed bit guild-wide."""
        member = self.member(guild, user_id)
        if perms.base_permissions(guild, member) & needed != needed:
            raise errors.ApiError(errors.MISSING_PERMISSIONS)

    # Creation and mutation (shared by the REST API and the test actors).

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> User:
        """Create a user."""
        user = User(id=snowflake(), username=username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(
        self, name: str, *, owner: User, bot_permissions: int = perms.DEFAULT_BOT, system_channel: str | None = None
    ) -> Guild:
        """Create a guild owned by `owner`, with @everyone, the bot's managed role and the bot as a member.

        With `system_channel`, the guild already has that text channel as its system channel when the bot joins
        (as a server made from Discord's default template has #general).
        """
        guild = Guild(id=snowflake(), name=name, owner_id=owner.id)
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=perms.DEFAULT_EVERYONE
        )
        bot_role = Role(
            id=snowflake(),
            guild_id=guild.id,
            name=self.bot.display_name,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(guild_id=guild.id, user=owner)
        guild.members[self.bot.id] = Member(guild_id=guild.id, user=self.bot, roles=[bot_role.id])
        if system_channel is not None:
            channel = Channel(id=snowflake(), type=GUILD_TEXT, name=system_channel, guild_id=guild.id)
            guild.channels[channel.id] = self.channels[channel.id] = channel
            self.channel_messages[channel.id] = []
            guild.system_channel_id = channel.id
        self.guilds[guild.id] = guild
        # The gateway builds GUILD_CREATE itself: its member list depends on each session's intents.
        self.dispatch("GUILD_CREATE", {}, guild_id=guild.id, guild_create=True)
        return guild

    def create_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: int = GUILD_TEXT,
        parent: Channel | None = None,
        topic: str | None = None,
        overwrites: list[Overwrite] | None = None,
    ) -> Channel:
        """Create a guild channel (text, voice, stage or category) and tell the bot."""
        position = sum(1 for c in guild.channels.values() if not c.is_thread and c.type == type)
        channel = Channel(
            id=snowflake(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=position,
            parent_id=parent.id if parent else None,
            topic=topic,
        )
        for overwrite in overwrites or []:
            channel.overwrites[overwrite.id] = overwrite
        if parent is not None and not overwrites:
            # New channels in a category start synced with it.
            channel.overwrites = {k: Overwrite(v.id, v.type, v.allow, v.deny) for k, v in parent.overwrites.items()}
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        if guild.system_channel_id is None and type == GUILD_TEXT:
            guild.system_channel_id = channel.id
        self.dispatch("CHANNEL_CREATE", channel.payload(), guild_id=guild.id)
        return channel

    def create_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int = 0,
        mentionable: bool = False,
        hoist: bool = False,
        color: int = 0,
        position: int | None = None,
    ) -> Role:
        """Create a role; like Discord, a new role goes just above @everyone unless a position is given."""
        position = 1 if position is None else position
        shifted = [r for r in guild.roles.values() if r.id != guild.id and r.position >= position]
        for other in shifted:
            other.position += 1
        role = Role(
            id=snowflake(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=position,
            mentionable=mentionable,
            hoist=hoist,
            color=color,
        )
        guild.roles[role.id] = role
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}, guild_id=guild.id)
        for other in shifted:
            self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": other.payload()}, guild_id=guild.id)
        return role

    def update_role(self, guild: Guild, role: Role, **changes: Any) -> Role:
        """Change a role's fields and tell the bot."""
        for key, value in changes.items():
            setattr(role, key, value)
        self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()}, guild_id=guild.id)
        return role

    def add_member(
        self, guild: Guild, user: User, *, roles: list[Role] | None = None, nick: str | None = None
    ) -> Member:
        """Make a user a member of a guild."""
        member = Member(guild_id=guild.id, user=user, roles=[r.id for r in roles or []], nick=nick)
        guild.members[user.id] = member
        payload = member.payload() | {"guild_id": str(guild.id)}
        self.dispatch("GUILD_MEMBER_ADD", payload, guild_id=guild.id)
        return member

    def set_member_roles(self, guild: Guild, member: Member, role_ids: list[int], *, by: str) -> None:
        """Replace a member's roles and tell the bot (and the transcript)."""
        before = set(member.roles)
        member.roles = list(dict.fromkeys(role_ids))
        after = set(member.roles)
        payload = member.payload() | {"guild_id": str(guild.id)}
        # The bot hears about its own member updates without the members intent.
        intent = 0 if member.id == self.bot.id else None
        self.dispatch("GUILD_MEMBER_UPDATE", payload, guild_id=guild.id, intent=intent)
        for role_id in after - before:
            self.transcript.add(ROLE, by, guild.name, f"gave {member.display_name} @{guild.roles[role_id].name}")
        for role_id in before - after:
            name = guild.roles[role_id].name if role_id in guild.roles else role_id
            self.transcript.add(ROLE, by, guild.name, f"took @{name} from {member.display_name}")

    def set_overwrite(self, channel: Channel, overwrite: Overwrite | None, *, target_id: int) -> None:
        """Set (or with None remove) a channel permission overwrite and tell the bot."""
        if overwrite is None:
            channel.overwrites.pop(target_id, None)
        else:
            channel.overwrites[overwrite.id] = overwrite
        self.dispatch("CHANNEL_UPDATE", channel.payload(), guild_id=channel.guild_id)

    def set_voice(self, guild: Guild, member: Member, channel: Channel | None) -> VoiceState:
        """Move a member into a voice channel (None leaves) and send VOICE_STATE_UPDATE."""
        state = guild.voice_states.get(member.id)
        before = state.channel_id if state else None
        if channel is None:
            if state is None:
                raise AssertionError(f"{member.display_name} is not in a voice channel")
            guild.voice_states.pop(member.id)
            state.channel_id = None
        elif state is None:
            state = VoiceState(guild_id=guild.id, user_id=member.id, channel_id=channel.id)
            guild.voice_states[member.id] = state
        else:
            state.channel_id = channel.id
        self.dispatch("VOICE_STATE_UPDATE", state.payload(member), guild_id=guild.id)
        where = f"#{channel.name}" if channel else f"#{guild.channels[before].name}" if before else guild.name
        action = "left" if channel is None else "joined" if before is None else "moved to"
        self.transcript.add(VOICE, member.display_name, where, action, actor_id=member.id)
        return state

    def dm_channel(self, user: User) -> Channel:
        """Return (creating on first use) the DM channel between the bot and a user."""
        key = frozenset({self.bot.id, user.id})
        existing = self.dm_channels.get(key)
        if existing is not None:
            return self.channels[existing]
        channel = Channel(id=snowflake(), type=DM, name=user.username, recipient_ids=[self.bot.id, user.id])
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        self.dm_channels[key] = channel.id
        return channel

    def shares_guild(self, user_id: int) -> bool:
        """Return whether the user is in any guild with the bot."""
        return any(user_id in g.members and self.bot.id in g.members for g in self.guilds.values())

    def display_name(self, user: User, guild_id: int | None) -> str:
        """Return a user's name as shown in a guild (nickname first)."""
        if guild_id is not None:
            member = self.guilds[guild_id].members.get(user.id) if guild_id in self.guilds else None
            if member is not None:
                return member.display_name
        return user.display_name

    def where(self, channel: Channel) -> str:
        """Return a readable channel label for transcripts."""
        if channel.is_dm:
            others = [self.users[u].display_name for u in channel.recipient_ids if u != self.bot.id]
            return "DM " + ",".join(others)
        return f"#{channel.name}"

    def visible_messages(self, channel: Channel) -> list[Message]:
        """Return a channel's live, non-ephemeral messages, oldest first."""
        result = []
        for message_id in self.channel_messages.get(channel.id, []):
            message = self.messages[message_id]
            if not message.deleted and not message.ephemeral:
                result.append(message)
        return result

    def new_interaction_token(self) -> str:
        """Return a fresh interaction token."""
        return "aW50ZXJhY3Rpb24" + new_token()


def _bot_token(bot_id: int) -> str:
    # Real tokens start with the base64 of the bot's id; discord.py does not care, but it reads right.
    head = base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{head}.sandbox.{new_token()[:38]}"


def _int(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        # A malformed id in a URL is simply an unknown object for Discord.
        return -1
