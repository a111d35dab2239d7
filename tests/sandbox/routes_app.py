"""REST routes for the gateway URL, users, DMs, the application and application commands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tests.sandbox import errors
from tests.sandbox.models import Command, Json
from tests.sandbox.rest import Call, Reply, Router, no_content, ok
from tests.sandbox.snowflakes import snowflake
from tests.sandbox.transcript import NOTE

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

_COMMAND_FIELDS = (
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "dm_permission",
    "contexts",
    "integration_types",
    "nsfw",
)


async def get_gateway(sb: Sandbox, call: Call) -> Reply:
    """GET /gateway."""
    return ok({"url": sb.gateway.url})


async def get_gateway_bot(sb: Sandbox, call: Call) -> Reply:
    """GET /gateway/bot: URL, recommended shards and session start limits."""
    limit = {
        "total": 1000,
        "remaining": 1000 - sb.gateway.identify_count,
        "reset_after": 86_400_000,
        "max_concurrency": 1,
    }
    return ok({"url": sb.gateway.url, "shards": sb.recommended_shards, "session_start_limit": limit})


async def get_me(sb: Sandbox, call: Call) -> Reply:
    """GET /users/@me."""
    user = sb.state.bot.payload() | {
        "verified": True,
        "mfa_enabled": False,
        "email": None,
        "bot": True,
        "locale": "en-US",
    }
    return ok(user)


async def get_user(sb: Sandbox, call: Call) -> Reply:
    """GET /users/{user_id}."""
    return ok(sb.state.user(call.params["user_id"]).payload())


async def my_guilds(sb: Sandbox, call: Call) -> Reply:
    """GET /users/@me/guilds."""
    state = sb.state
    return ok(
        [
            {"id": str(g.id), "name": g.name, "icon": None, "owner": False, "permissions": "0", "features": []}
            for g in state.guilds.values()
            if state.bot.id in g.members
        ]
    )


async def create_dm(sb: Sandbox, call: Call) -> Reply:
    """POST /users/@me/channels: open (or reuse) the DM channel with a user."""
    state = sb.state
    user = state.user(call.json().get("recipient_id", ""))
    channel = state.dm_channel(user)
    return ok(channel.payload(users=state.users, bot_id=state.bot.id))


async def get_application(sb: Sandbox, call: Call) -> Reply:
    """GET /oauth2/applications/@me and /applications/@me."""
    return ok(sb.state.app.payload())


# Application commands.


def _scope(sb: Sandbox, call: Call) -> int | None:
    if call.params["application_id"] != str(sb.state.app.id):
        raise errors.ApiError(errors.MISSING_ACCESS)
    if "guild_id" not in call.params:
        return None
    guild = sb.state.guild(call.params["guild_id"])
    if sb.state.bot.id not in guild.members:
        raise errors.ApiError(errors.MISSING_ACCESS)
    return guild.id


def _commands(sb: Sandbox, guild_id: int | None) -> list[Command]:
    return [c for c in sb.state.commands.values() if c.guild_id == guild_id]


def _apply(command: Command, body: Json) -> bool:
    """Copy the fields a request sets onto a command; return whether anything changed."""
    changed = False
    for key in _COMMAND_FIELDS:
        if key in body:
            value = body[key]
            if key == "options":
                value = value or []
            if key == "default_member_permissions" and value is not None:
                value = str(value)
            if getattr(command, key) != value:
                setattr(command, key, value)
                changed = True
    return changed


def _new_command(sb: Sandbox, body: Json, guild_id: int | None) -> Command:
    command = Command(
        id=snowflake(), application_id=sb.state.app.id, name=body["name"], type=body.get("type", 1), guild_id=guild_id
    )
    _apply(command, body)
    sb.state.commands[command.id] = command
    return command


def _record_sync(sb: Sandbox, guild_id: int | None, verb: str) -> None:
    commands = _commands(sb, guild_id)
    where = "global" if guild_id is None else sb.state.guilds[guild_id].name
    names = ", ".join(sorted(f"/{c.name}" if c.type == 1 else c.name for c in commands)) or "(none)"
    sb.state.transcript.add(NOTE, sb.state.bot.display_name, where, f"{verb} commands: {names}")


def _command(sb: Sandbox, call: Call, guild_id: int | None) -> Command:
    raw = call.params["command_id"]
    command = sb.state.commands.get(int(raw)) if raw.isdigit() else None
    if command is None or command.guild_id != guild_id:
        raise errors.ApiError(errors.UNKNOWN_COMMAND)
    return command


async def list_commands(sb: Sandbox, call: Call) -> Reply:
    """GET the global or guild command list."""
    return ok([c.payload() for c in _commands(sb, _scope(sb, call))])


async def bulk_overwrite(sb: Sandbox, call: Call) -> Reply:
    """PUT the whole command list: same name and type keeps its id; missing commands are deleted."""
    guild_id = _scope(sb, call)
    body = call.body if isinstance(call.body, list) else []
    existing = {(c.name, c.type): c for c in _commands(sb, guild_id)}
    result = []
    for item in body:
        key = (item["name"], item.get("type", 1))
        command = existing.pop(key, None)
        if command is None:
            command = _new_command(sb, item, guild_id)
        else:
            # A PUT replaces every field: what the body leaves out goes back to its default.
            defaults = Command(id=0, application_id=0, name=item["name"])
            full = {k: getattr(defaults, k) for k in _COMMAND_FIELDS} | item
            if _apply(command, full):
                command.version = snowflake()
        result.append(command)
    for stale in existing.values():
        del sb.state.commands[stale.id]
    _record_sync(sb, guild_id, "synced")
    return ok([c.payload() for c in result])


async def create_command(sb: Sandbox, call: Call) -> Reply:
    """POST one command: creates it, or updates the one with the same name and type."""
    guild_id = _scope(sb, call)
    body = call.json()
    for command in _commands(sb, guild_id):
        if command.name == body["name"] and command.type == body.get("type", 1):
            if _apply(command, body):
                command.version = snowflake()
            _record_sync(sb, guild_id, "updated")
            return ok(command.payload())
    command = _new_command(sb, body, guild_id)
    _record_sync(sb, guild_id, "created")
    return ok(command.payload(), status=201)


async def get_command(sb: Sandbox, call: Call) -> Reply:
    """GET one command."""
    return ok(_command(sb, call, _scope(sb, call)).payload())


async def edit_command(sb: Sandbox, call: Call) -> Reply:
    """PATCH one command."""
    guild_id = _scope(sb, call)
    command = _command(sb, call, guild_id)
    if _apply(command, call.json()):
        command.version = snowflake()
    _record_sync(sb, guild_id, "edited")
    return ok(command.payload())


async def delete_command(sb: Sandbox, call: Call) -> Reply:
    """DELETE one command."""
    guild_id = _scope(sb, call)
    command = _command(sb, call, guild_id)
    del sb.state.commands[command.id]
    _record_sync(sb, guild_id, "deleted")
    return no_content()


def register(router: Router) -> None:
    """Add the routes of this module."""
    router.add("GET", "/gateway", get_gateway, auth=False)
    router.add("GET", "/gateway/bot", get_gateway_bot)
    router.add("GET", "/users/@me", get_me)
    router.add("GET", "/users/@me/guilds", my_guilds)
    router.add("POST", "/users/@me/channels", create_dm)
    router.add("GET", "/users/{user_id}", get_user)
    router.add("GET", "/oauth2/applications/@me", get_application)
    router.add("GET", "/applications/@me", get_application)
    for base in ("/applications/{application_id}", "/applications/{application_id}/guilds/{guild_id}"):
        router.add("GET", f"{base}/commands", list_commands)
        router.add("PUT", f"{base}/commands", bulk_overwrite)
        router.add("POST", f"{base}/commands", create_command)
        router.add("GET", f"{base}/commands/{{command_id}}", get_command)
        router.add("PATCH", f"{base}/commands/{{command_id}}", edit_command)
        router.add("DELETE", f"{base}/commands/{{command_id}}", delete_command)
