"""REST routes for guilds, guild channels, roles, members and member roles."""

from __future__ import annotations

import logging
from typing import Any, TYPE_CHECKING

from tests.sandbox import errors, permissions as perms
from tests.sandbox.models import Channel, GUILD_TEXT, Guild, Json, Overwrite, Role
from tests.sandbox.rest import Call, Reply, Router, no_content, ok
from tests.sandbox.state import FLAG_MEMBERS

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)


def bot_guild(sb: Sandbox, call: Call) -> Guild:
    """Return the guild of the URL, which the bot must be in (404 Unknown Guild otherwise)."""
    guild = sb.state.guild(call.params["guild_id"])
    if sb.state.bot.id not in guild.members:
        raise errors.ApiError(errors.UNKNOWN_GUILD)
    return guild


def visible_channel(sb: Sandbox, call: Call) -> Channel:
    """Return the channel of the URL, which the bot must be able to see (403 Missing Access otherwise)."""
    state = sb.state
    channel = state.channel(call.params["channel_id"])
    if channel.is_dm:
        if state.bot.id not in channel.recipient_ids:
            raise errors.ApiError(errors.MISSING_ACCESS)
    elif not state.permissions_in(channel, state.bot.id) & perms.VIEW_CHANNEL:
        raise errors.ApiError(errors.MISSING_ACCESS)
    return channel


def _check_overwrite_bits(sb: Sandbox, guild: Guild, overwrites: list[Overwrite], have: int, *, creating: bool) -> None:
    """Refuse overwrites allowing or denying what the bot lacks; on a new channel, Manage Roles is for admins only.

    Discord: "only permissions your bot has in the guild [or parent channel] can be allowed/denied"; "setting
    MANAGE_ROLES permission in channels is only possible for guild administrators" (Create Guild Channel).
    """
    if perms.base_permissions(guild, sb.state.bot_member(guild)) & perms.ADMINISTRATOR:
        return
    for overwrite in overwrites:
        bits = overwrite.allow | overwrite.deny
        if bits & ~have or (creating and bits & perms.MANAGE_ROLES):
            raise errors.ApiError(errors.MISSING_PERMISSIONS)


def _check_role_hierarchy(sb: Sandbox, guild: Guild, role: Role) -> None:
    bot_member = sb.state.bot_member(guild)
    if perms.base_permissions(guild, bot_member) & perms.ADMINISTRATOR:
        return
    if role.managed or role.id == guild.id or role.position >= perms.top_role_position(guild, bot_member):
        raise errors.ApiError(errors.MISSING_PERMISSIONS)


async def get_guild(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}."""
    guild = bot_guild(sb, call)
    data = guild.base_payload()
    if call.flag("with_counts"):
        data["approximate_member_count"] = len(guild.members)
        data["approximate_presence_count"] = 0
    return ok(data)


async def list_channels(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/channels."""
    guild = bot_guild(sb, call)
    return ok([c.payload() for c in guild.channels.values() if not c.is_thread and not c.deleted])


async def create_channel(sb: Sandbox, call: Call) -> Reply:
    """POST /guilds/{guild_id}/channels (Manage Channels; overwrites also need Manage Roles)."""
    state = sb.state
    guild = bot_guild(sb, call)
    body = call.json()
    needed = perms.MANAGE_CHANNELS | (perms.MANAGE_ROLES if body.get("permission_overwrites") else 0)
    state.require_guild(guild, state.bot.id, needed)
    parent = state.channel(body["parent_id"]) if body.get("parent_id") else None
    overwrites = [overwrite_from(o) for o in body.get("permission_overwrites") or []]
    _check_overwrite_bits(sb, guild, overwrites, perms.base_permissions(guild, state.bot_member(guild)), creating=True)
    channel = state.create_channel(
        guild,
        body["name"],
        type=body.get("type", GUILD_TEXT),
        parent=parent,
        topic=body.get("topic"),
        overwrites=overwrites,
    )
    return ok(channel.payload(), status=201)


def overwrite_from(data: Json) -> Overwrite:
    """Build an overwrite from its JSON form."""
    return Overwrite(
        id=int(data["id"]),
        type=int(data.get("type", 0)),
        allow=int(data.get("allow") or 0),
        deny=int(data.get("deny") or 0),
    )


async def set_permission(sb: Sandbox, call: Call) -> Reply:
    """PUT /channels/{channel_id}/permissions/{overwrite_id} (Manage Roles in the channel)."""
    state = sb.state
    channel = visible_channel(sb, call)
    state.require(channel, state.bot.id, perms.MANAGE_ROLES)
    body = call.json() | {"id": call.params["overwrite_id"]}
    overwrite = overwrite_from(body)
    guild = state.guild(channel.guild_id or 0)
    have = perms.base_permissions(guild, state.bot_member(guild)) | state.permissions_in(channel, state.bot.id)
    _check_overwrite_bits(sb, guild, [overwrite], have, creating=False)
    state.set_overwrite(channel, overwrite, target_id=overwrite.id)
    return no_content()


async def delete_permission(sb: Sandbox, call: Call) -> Reply:
    """DELETE /channels/{channel_id}/permissions/{overwrite_id}."""
    state = sb.state
    channel = visible_channel(sb, call)
    state.require(channel, state.bot.id, perms.MANAGE_ROLES)
    state.set_overwrite(channel, None, target_id=int(call.params["overwrite_id"]))
    return no_content()


async def list_roles(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/roles."""
    guild = bot_guild(sb, call)
    return ok([r.payload() for r in sorted(guild.roles.values(), key=lambda r: r.position)])


async def get_role(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/roles/{role_id}."""
    guild = bot_guild(sb, call)
    return ok(sb.state.role(guild, call.params["role_id"]).payload())


async def create_role(sb: Sandbox, call: Call) -> Reply:
    """POST /guilds/{guild_id}/roles (Manage Roles)."""
    state = sb.state
    guild = bot_guild(sb, call)
    state.require_guild(guild, state.bot.id, perms.MANAGE_ROLES)
    body = call.json()
    role = state.create_role(
        guild,
        body.get("name") or "new role",
        permissions=int(body.get("permissions") or 0),
        mentionable=bool(body.get("mentionable")),
        hoist=bool(body.get("hoist")),
        color=int(body.get("color") or 0),
    )
    return ok(role.payload())


async def edit_role(sb: Sandbox, call: Call) -> Reply:
    """PATCH /guilds/{guild_id}/roles/{role_id} (Manage Roles, below the bot's top role)."""
    state = sb.state
    guild = bot_guild(sb, call)
    state.require_guild(guild, state.bot.id, perms.MANAGE_ROLES)
    role = state.role(guild, call.params["role_id"])
    _check_role_hierarchy(sb, guild, role)
    body = call.json()
    changes: dict[str, Any] = {
        k: body[k] for k in ("name", "mentionable", "hoist", "color") if k in body and body[k] is not None
    }
    if body.get("permissions") is not None:
        changes["permissions"] = int(body["permissions"])
    state.update_role(guild, role, **changes)
    return ok(role.payload())


async def get_member(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/members/{user_id}."""
    guild = bot_guild(sb, call)
    return ok(sb.state.member(guild, call.params["user_id"]).payload())


async def list_members(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/members: needs the members intent switched on for the application."""
    guild = bot_guild(sb, call)
    if not sb.state.app.flags & FLAG_MEMBERS:
        raise errors.ApiError(errors.MISSING_ACCESS)
    after = int(call.query.get("after", "0") or 0)
    limit = min(int(call.query.get("limit", "1") or 1), 1000)
    members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)[:limit]
    return ok([m.payload() for m in members])


async def edit_member(sb: Sandbox, call: Call) -> Reply:
    """PATCH /guilds/{guild_id}/members/{user_id}: nick (Manage Nicknames) and roles (Manage Roles)."""
    state = sb.state
    guild = bot_guild(sb, call)
    member = state.member(guild, call.params["user_id"])
    body = call.json()
    if "nick" in body:
        if member.id != state.bot.id:
            state.require_guild(guild, state.bot.id, perms.MANAGE_NICKNAMES)
        member.nick = body["nick"] or None
    roles = member.roles
    if body.get("roles") is not None:
        state.require_guild(guild, state.bot.id, perms.MANAGE_ROLES)
        roles = [int(r) for r in body["roles"]]
        for role_id in set(roles) ^ set(member.roles):
            _check_role_hierarchy(sb, guild, state.role(guild, role_id))
    state.set_member_roles(guild, member, roles, by=state.bot.display_name)
    return ok(member.payload())


async def add_member_role(sb: Sandbox, call: Call) -> Reply:
    """PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}."""
    return _change_role(sb, call, add=True)


async def remove_member_role(sb: Sandbox, call: Call) -> Reply:
    """DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}."""
    return _change_role(sb, call, add=False)


def _change_role(sb: Sandbox, call: Call, *, add: bool) -> Reply:
    state = sb.state
    guild = bot_guild(sb, call)
    member = state.member(guild, call.params["user_id"])
    role = state.role(guild, call.params["role_id"])
    state.require_guild(guild, state.bot.id, perms.MANAGE_ROLES)
    _check_role_hierarchy(sb, guild, role)
    if add and role.id not in member.roles:
        state.set_member_roles(guild, member, [*member.roles, role.id], by=state.bot.display_name)
    elif not add and role.id in member.roles:
        state.set_member_roles(guild, member, [r for r in member.roles if r != role.id], by=state.bot.display_name)
    return no_content()


async def active_threads(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/threads/active."""
    state = sb.state
    guild = bot_guild(sb, call)
    threads = [
        c
        for c in guild.channels.values()
        if c.is_thread and not c.deleted and not c.archived and state.permissions_in(c, state.bot.id)
    ]
    members = [
        {
            "id": str(t.id),
            "user_id": str(state.bot.id),
            "join_timestamp": t.thread_members[state.bot.id].isoformat(),
            "flags": 0,
        }
        for t in threads
        if state.bot.id in t.thread_members
    ]
    return ok({"threads": [t.payload() for t in threads], "members": members})


def register(router: Router) -> None:
    """Add the routes of this module."""
    router.add("GET", "/guilds/{guild_id}", get_guild)
    router.add("GET", "/guilds/{guild_id}/channels", list_channels)
    router.add("POST", "/guilds/{guild_id}/channels", create_channel)
    router.add("GET", "/guilds/{guild_id}/roles", list_roles)
    router.add("POST", "/guilds/{guild_id}/roles", create_role)
    router.add("GET", "/guilds/{guild_id}/roles/{role_id}", get_role)
    router.add("PATCH", "/guilds/{guild_id}/roles/{role_id}", edit_role)
    router.add("GET", "/guilds/{guild_id}/members", list_members)
    router.add("GET", "/guilds/{guild_id}/members/{user_id}", get_member)
    router.add("PATCH", "/guilds/{guild_id}/members/{user_id}", edit_member)
    router.add("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", add_member_role)
    router.add("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", remove_member_role)
    router.add("GET", "/guilds/{guild_id}/threads/active", active_threads)
    router.add("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", set_permission)
    router.add("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", delete_permission)
