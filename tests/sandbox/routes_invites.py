"""REST routes for guild invites, and joining a guild through one (the actor `join_via_invite`).

As Discord documents them: creating an invite needs Create Invite in the channel; listing a channel's invites needs
Manage Channels there, and the guild's, Manage Server; deleting one needs Manage Channels in its channel or Manage
Server; resolving a code needs nothing. Only the lists (and the creator) see the metadata: `uses`, `max_uses`,
`max_age`, `temporary`, `created_at`. An invite with `role_ids` gives those roles to whoever joins through it (the bot
needs Manage Roles and roles below its own to set them). Joining dispatches GUILD_MEMBER_ADD only to sessions with
the privileged members intent, and INVITE_CREATE/INVITE_DELETE only to those with the guild invites intent.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import string
from typing import TYPE_CHECKING

from tests.sandbox import errors, permissions as perms
from tests.sandbox.models import GUILD_CATEGORY, Invite, Json, Member, User
from tests.sandbox.rest import Call, Reply, Router, ok
from tests.sandbox.routes_guilds import bot_guild, visible_channel
from tests.sandbox.snowflakes import iso

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

UNKNOWN_INVITE = (404, 10006, "Unknown Invite")
GUILD_INVITES_INTENT = 1 << 6
_CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 10


def _new_code(sb: Sandbox) -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in sb.state.invites:
            return code


def expires_at(invite: Invite) -> dt.datetime | None:
    """Return when an invite expires (None: never)."""
    return invite.created_at + dt.timedelta(seconds=invite.max_age) if invite.max_age else None


def live_invite(sb: Sandbox, code: str) -> Invite:
    """Return the invite of a code, if it exists and has not expired (404 Unknown Invite otherwise)."""
    invite = sb.state.invites.get(code)
    if invite is None:
        raise errors.ApiError(UNKNOWN_INVITE)
    ends = expires_at(invite)
    if ends is not None and sb.now() >= ends:
        del sb.state.invites[code]
        raise errors.ApiError(UNKNOWN_INVITE)
    return invite


def invite_payload(sb: Sandbox, invite: Invite, *, metadata: bool) -> Json:
    """Return the invite object, with its metadata (uses, limits, creation) for those allowed to see it."""
    state = sb.state
    guild = state.guilds[invite.guild_id]
    channel = state.channels[invite.channel_id]
    ends = expires_at(invite)
    data: Json = {
        "type": 0,
        "code": invite.code,
        "expires_at": iso(ends) if ends else None,
        "guild_id": str(guild.id),
        "guild": {
            "id": str(guild.id),
            "name": guild.name,
            "splash": None,
            "banner": None,
            "description": None,
            "icon": None,
            "features": [],
            "verification_level": 1,
            "vanity_url_code": None,
            "nsfw_level": 0,
            "nsfw": False,
            "premium_subscription_count": 0,
        },
        "channel": {"id": str(channel.id), "type": channel.type, "name": channel.name},
        "inviter": state.users[invite.inviter_id].payload(),
        "flags": 0,
    }
    if metadata:
        data |= {
            "uses": invite.uses,
            "max_uses": invite.max_uses,
            "max_age": invite.max_age,
            "temporary": invite.temporary,
            "created_at": iso(invite.created_at),
        }
    return data


def _role_ids(value: object) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str):
        # The form-data variant of the spec: a comma-separated list.
        return [int(part) for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [int(item) for item in value]
    raise errors.form_error("role_ids", "BASE_TYPE_BAD_TYPE", "Must be a list of role ids.")


async def create_invite(sb: Sandbox, call: Call) -> Reply:
    """POST /channels/{channel_id}/invites (Create Invite; `role_ids` also need Manage Roles and lower roles)."""
    state = sb.state
    channel = visible_channel(sb, call)
    if channel.guild_id is None or channel.is_thread or channel.type == GUILD_CATEGORY:
        raise errors.ApiError(errors.UNKNOWN_CHANNEL)
    state.require(channel, state.bot.id, perms.CREATE_INSTANT_INVITE)
    guild = state.guild(channel.guild_id)
    body = call.json()
    role_ids = _role_ids(body.get("role_ids"))
    if role_ids:
        state.require_guild(guild, state.bot.id, perms.MANAGE_ROLES)
        top = perms.top_role_position(guild, state.bot_member(guild))
        for role_id in role_ids:
            role = state.role(guild, role_id)
            if role.managed or role.id == guild.id or role.position >= top:
                raise errors.ApiError(errors.MISSING_PERMISSIONS)
    max_age = 86400 if body.get("max_age") is None else int(body["max_age"])
    max_uses = int(body.get("max_uses") or 0)
    temporary = bool(body.get("temporary"))
    if not body.get("unique"):
        # Without `unique`, Discord hands back an existing invite with the same settings instead of a new one.
        for existing in state.invites.values():
            if (
                existing.channel_id == channel.id
                and existing.inviter_id == state.bot.id
                and (existing.max_age, existing.max_uses, existing.temporary) == (max_age, max_uses, temporary)
                and existing.role_ids == role_ids
            ):
                return ok(invite_payload(sb, existing, metadata=True))
    invite = Invite(
        code=_new_code(sb),
        guild_id=guild.id,
        channel_id=channel.id,
        inviter_id=state.bot.id,
        max_age=max_age,
        max_uses=max_uses,
        temporary=temporary,
        role_ids=role_ids,
        created_at=sb.now(),
    )
    state.invites[invite.code] = invite
    data = invite_payload(sb, invite, metadata=True)
    state.dispatch("INVITE_CREATE", _event(invite) | data, guild_id=guild.id, intent=GUILD_INVITES_INTENT)
    return ok(data)


async def channel_invites(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}/invites (Manage Channels in the channel)."""
    state = sb.state
    channel = visible_channel(sb, call)
    state.require(channel, state.bot.id, perms.MANAGE_CHANNELS)
    invites = [i for i in list(state.invites.values()) if i.channel_id == channel.id]
    return ok([invite_payload(sb, i, metadata=True) for i in invites if _alive(sb, i)])


async def guild_invites(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/invites (Manage Server)."""
    state = sb.state
    guild = bot_guild(sb, call)
    state.require_guild(guild, state.bot.id, perms.MANAGE_GUILD)
    invites = [i for i in list(state.invites.values()) if i.guild_id == guild.id]
    return ok([invite_payload(sb, i, metadata=True) for i in invites if _alive(sb, i)])


async def get_invite(sb: Sandbox, call: Call) -> Reply:
    """GET /invites/{code}: anyone may resolve a code; the metadata is not shown, the counts only when asked."""
    invite = live_invite(sb, call.params["code"])
    data = invite_payload(sb, invite, metadata=False)
    if call.flag("with_counts"):
        guild = sb.state.guilds[invite.guild_id]
        data["approximate_member_count"] = len(guild.members)
        data["approximate_presence_count"] = 0
    if call.flag("with_expiration"):
        ends = expires_at(invite)
        data["expires_at"] = iso(ends) if ends else None
    return ok(data)


async def delete_invite(sb: Sandbox, call: Call) -> Reply:
    """DELETE /invites/{code} (Manage Channels in its channel, or Manage Server): returns the deleted invite."""
    state = sb.state
    invite = live_invite(sb, call.params["code"])
    guild = state.guild(invite.guild_id)
    channel = state.channels[invite.channel_id]
    have_guild = perms.base_permissions(guild, state.bot_member(guild))
    if not have_guild & perms.MANAGE_GUILD and not state.permissions_in(channel, state.bot.id) & perms.MANAGE_CHANNELS:
        raise errors.ApiError(errors.MISSING_PERMISSIONS)
    data = invite_payload(sb, invite, metadata=False)
    remove_invite(sb, invite)
    return ok(data)


def remove_invite(sb: Sandbox, invite: Invite) -> None:
    """Delete an invite and tell the sessions that asked for invite events."""
    sb.state.invites.pop(invite.code, None)
    sb.state.dispatch("INVITE_DELETE", _event(invite), guild_id=invite.guild_id, intent=GUILD_INVITES_INTENT)


def accept_invite(sb: Sandbox, code: str, user: User) -> Member:
    """Join a guild through an invite as `user`: count the use, give its roles, and spend a limited invite."""
    state = sb.state
    try:
        invite = live_invite(sb, code)
    except errors.ApiError:
        raise AssertionError(f"no live invite with code {code!r}") from None
    guild = state.guild(invite.guild_id)
    if user.id in guild.members:
        raise AssertionError(f"{user.display_name} is already in {guild.name}")
    invite.uses += 1
    roles = [guild.roles[role_id] for role_id in invite.role_ids if role_id in guild.roles]
    member = state.add_member(guild, user, roles=roles)
    if invite.max_uses and invite.uses >= invite.max_uses:
        remove_invite(sb, invite)
    log.debug("sandbox: %s joined %s through invite %s", user.display_name, guild.name, code)
    return member


def _alive(sb: Sandbox, invite: Invite) -> bool:
    try:
        live_invite(sb, invite.code)
    except errors.ApiError:
        return False
    return True


def _event(invite: Invite) -> Json:
    return {"channel_id": str(invite.channel_id), "guild_id": str(invite.guild_id), "code": invite.code}


def register(router: Router) -> None:
    """Add the routes of this module."""
    router.add("POST", "/channels/{channel_id}/invites", create_invite)
    router.add("GET", "/channels/{channel_id}/invites", channel_invites)
    router.add("GET", "/guilds/{guild_id}/invites", guild_invites)
    router.add("GET", "/invites/{code}", get_invite)
    router.add("DELETE", "/invites/{code}", delete_invite)
