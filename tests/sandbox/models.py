"""Plain data classes for the sandbox's Discord objects, and their API v10 payloads."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from tests.sandbox.snowflakes import iso, snowflake, utcnow

log = logging.getLogger(__name__)

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_STAGE_VOICE = 13
GUILD_FORUM = 15
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
VOICE_TYPES = frozenset({GUILD_VOICE, GUILD_STAGE_VOICE})

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

Json = dict[str, Any]


@dataclass
class User:
    """A Discord user (a person or a bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    # Whether the user accepts DMs from server members (the privacy switch a test can flip).
    dms_open: bool = True

    @property
    def display_name(self) -> str:
        """Return the name people see."""
        return self.global_name or self.username

    def payload(self) -> Json:
        """Return the user object."""
        data: Json = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Application:
    """The bot's application."""

    id: int
    name: str
    bot: User
    owner: User
    token: str
    flags: int = 0
    description: str = ""
    verify_key: str = field(default_factory=lambda: secrets.token_hex(32))

    def payload(self) -> Json:
        """Return the application object as GET /oauth2/applications/@me answers it."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": self.description,
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": self.verify_key,
            "flags": self.flags,
            "owner": self.owner.payload(),
            "team": None,
            "bot": self.bot.payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": 0,
            "tags": [],
            "integration_types_config": {"0": {}},
        }


@dataclass
class Role:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    mentionable: bool = False
    hoist: bool = False
    managed: bool = False
    color: int = 0
    bot_id: int | None = None

    def payload(self) -> Json:
        """Return the role object."""
        data: Json = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> Json:
        """Return the overwrite object."""
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    """A guild channel, a thread or a DM channel."""

    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    last_message_id: int | None = None
    last_pin_timestamp: dt.datetime | None = None
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    recipient_ids: list[int] = field(default_factory=list)
    # Thread-only fields.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: dt.datetime | None = None
    message_count: int = 0
    total_message_sent: int = 0
    thread_members: dict[int, dt.datetime] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=utcnow)
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        """Return whether this channel is a thread."""
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        """Return whether this is a DM channel."""
        return self.type == DM

    @property
    def label(self) -> str:
        """Return a short readable name for transcripts."""
        if self.is_dm:
            return f"DM:{self.name or self.id}"
        return f"#{self.name}"

    def payload(self, *, users: dict[int, User] | None = None, bot_id: int | None = None) -> Json:
        """Return the channel object; DM channels need `users` to list their recipients."""
        data: Json = {"id": str(self.id), "type": self.type, "flags": 0}
        if self.is_dm:
            recipients = [uid for uid in self.recipient_ids if uid != bot_id]
            data["recipients"] = [users[uid].payload() for uid in recipients] if users else []
            data["last_message_id"] = _opt_id(self.last_message_id)
            return data
        data.update(
            {
                "guild_id": str(self.guild_id),
                "name": self.name,
                "position": self.position,
                "parent_id": _opt_id(self.parent_id),
                "nsfw": self.nsfw,
                "permission_overwrites": [ow.payload() for ow in self.overwrites.values()],
                "rate_limit_per_user": self.rate_limit_per_user,
            }
        )
        if self.type in (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM):
            data["topic"] = self.topic
            data["last_message_id"] = _opt_id(self.last_message_id)
            data["last_pin_timestamp"] = iso(self.last_pin_timestamp)
            data["default_auto_archive_duration"] = 1440
        elif self.type in VOICE_TYPES:
            data.update(
                {
                    "bitrate": self.bitrate,
                    "user_limit": self.user_limit,
                    "rtc_region": None,
                    "video_quality_mode": 1,
                    "last_message_id": _opt_id(self.last_message_id),
                    "topic": self.topic,
                }
            )
        elif self.is_thread:
            data.pop("permission_overwrites")
            data.pop("position")
            data.update(
                {
                    "owner_id": str(self.owner_id),
                    "last_message_id": _opt_id(self.last_message_id),
                    "message_count": self.message_count,
                    "member_count": min(len(self.thread_members), 50),
                    "total_message_sent": self.total_message_sent,
                    "thread_metadata": {
                        "archived": self.archived,
                        "auto_archive_duration": self.auto_archive_duration,
                        "archive_timestamp": iso(self.archive_timestamp or self.created_at),
                        "locked": self.locked,
                        "invitable": self.invitable,
                        "create_timestamp": iso(self.created_at),
                    },
                    "applied_tags": [],
                }
            )
        return data


@dataclass
class Member:
    """A user's membership of a guild."""

    guild_id: int
    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: dt.datetime = field(default_factory=utcnow)

    @property
    def id(self) -> int:
        """Return the user id."""
        return self.user.id

    @property
    def display_name(self) -> str:
        """Return the name people see in this guild."""
        return self.nick or self.user.display_name

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> Json:
        """Return the guild member object."""
        data: Json = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class VoiceState:
    """A member's presence in a voice channel."""

    guild_id: int
    user_id: int
    channel_id: int | None
    session_id: str = field(default_factory=lambda: secrets.token_hex(16))

    def payload(self, member: Member | None = None) -> Json:
        """Return the voice state object."""
        data: Json = {
            "guild_id": str(self.guild_id),
            "channel_id": _opt_id(self.channel_id),
            "user_id": str(self.user_id),
            "session_id": self.session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_stream": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        if member is not None:
            data["member"] = member.payload()
        return data


@dataclass
class Message:
    """A message in a guild channel, thread or DM; ephemeral ones are seen by one user only."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    attachments: list[Json] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    nonce: int | str | None = None
    pinned: bool = False
    pinned_at: dt.datetime | None = None
    edited_at: dt.datetime | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: Json | None = None
    message_reference: Json | None = None
    thread_id: int | None = None
    ephemeral_to: int | None = None
    deleted: bool = False
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def ephemeral(self) -> bool:
        """Return whether only one user sees this message."""
        return bool(self.flags & FLAG_EPHEMERAL)


@dataclass
class Command:
    """An application command the bot registered (globally or for one guild)."""

    id: int
    application_id: int
    name: str
    type: int = 1
    description: str = ""
    guild_id: int | None = None
    options: list[Json] = field(default_factory=list)
    default_member_permissions: str | None = None
    contexts: list[int] | None = None
    integration_types: list[int] | None = None
    nsfw: bool = False
    name_localizations: Json | None = None
    description_localizations: Json | None = None
    dm_permission: bool | None = None
    version: int = field(default_factory=snowflake)

    def payload(self) -> Json:
        """Return the application command object."""
        data: Json = {
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            "type": self.type,
            "name": self.name,
            "name_localizations": self.name_localizations,
            "description": self.description,
            "description_localizations": self.description_localizations,
            "default_member_permissions": self.default_member_permissions,
            "nsfw": self.nsfw,
            "contexts": self.contexts,
            "integration_types": self.integration_types if self.integration_types is not None else [0],
        }
        if self.options:
            data["options"] = self.options
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        else:
            data["dm_permission"] = self.dm_permission if self.dm_permission is not None else True
        return data


@dataclass
class ScheduledEvent:
    """A guild scheduled event."""

    id: int
    guild_id: int
    name: str
    scheduled_start_time: dt.datetime
    entity_type: int
    privacy_level: int = 2
    status: int = 1
    channel_id: int | None = None
    creator_id: int | None = None
    description: str | None = None
    scheduled_end_time: dt.datetime | None = None
    entity_metadata: Json | None = None
    image: str | None = None
    recurrence_rule: Json | None = None
    subscribers: set[int] = field(default_factory=set)

    def payload(self, creator: User | None = None) -> Json:
        """Return the guild scheduled event object."""
        data: Json = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": _opt_id(self.channel_id),
            "creator_id": _opt_id(self.creator_id),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": iso(self.scheduled_start_time),
            "scheduled_end_time": iso(self.scheduled_end_time),
            "privacy_level": self.privacy_level,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": None,
            "entity_metadata": self.entity_metadata,
            "user_count": len(self.subscribers),
            "image": self.image,
            "recurrence_rule": self.recurrence_rule,
        }
        if creator is not None:
            data["creator"] = creator.payload()
        return data


@dataclass
class Guild:
    """A guild with everything in it."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)
    scheduled_events: dict[int, ScheduledEvent] = field(default_factory=dict)
    preferred_locale: str = "en-US"
    system_channel_id: int | None = None
    joined_at: dt.datetime = field(default_factory=utcnow)

    @property
    def everyone(self) -> Role:
        """Return the @everyone role."""
        return self.roles[self.id]

    def base_payload(self) -> Json:
        """Return the guild object without the GUILD_CREATE extras."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [role.payload() for role in sorted(self.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": _opt_id(self.system_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "max_presences": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "region": "deprecated",
            "incidents_data": None,
        }


@dataclass
class Interaction:
    """An interaction a member started, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user: User
    guild_id: int | None
    channel_id: int
    data: Json
    payload: Json
    created: float
    message_id: int | None = None
    modal_source: Interaction | None = None
    response_type: int | None = None
    response_data: Json | None = None
    original_message_id: int | None = None
    loading: bool = False
    ephemeral: bool = False
    followup_ids: list[int] = field(default_factory=list)
    failed: bool = False
    label: str = ""


def _opt_id(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class Invite:
    """A guild channel invite and its metadata (who made it, how often it was used, the roles it gives)."""

    code: str
    guild_id: int
    channel_id: int
    inviter_id: int
    max_age: int = 86400
    max_uses: int = 0
    temporary: bool = False
    uses: int = 0
    role_ids: list[int] = field(default_factory=list)
    created_at: dt.datetime = field(default_factory=utcnow)
