"""REST routes for guild scheduled events, with Discord's entity and status rules."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from tests.sandbox import errors, permissions as perms
from tests.sandbox.models import GUILD_STAGE_VOICE, GUILD_VOICE, Guild, Json, ScheduledEvent
from tests.sandbox.rest import Call, Reply, Router, no_content, ok
from tests.sandbox.routes_guilds import bot_guild
from tests.sandbox.snowflakes import parse_iso, snowflake
from tests.sandbox.transcript import EVENT

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

STAGE, VOICE, EXTERNAL = 1, 2, 3
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
STATUS_NAMES = {SCHEDULED: "scheduled", ACTIVE: "active", COMPLETED: "completed", CANCELED: "canceled"}
ALLOWED_TRANSITIONS = {(SCHEDULED, ACTIVE), (ACTIVE, COMPLETED), (SCHEDULED, CANCELED)}
# Clients and the sandbox clocks differ a little; Discord is lenient by about this much too.
PAST_TOLERANCE = dt.timedelta(seconds=30)


def _event(sb: Sandbox, guild: Guild, call: Call) -> ScheduledEvent:
    raw = call.params["guild_scheduled_event_id"]
    event = guild.scheduled_events.get(int(raw)) if raw.isdigit() else None
    if event is None:
        raise errors.ApiError(errors.UNKNOWN_EVENT)
    return event


def _check_entity(sb: Sandbox, guild: Guild, entity_type: int, channel_id: object, body: Json, end: object) -> None:
    """Check the channel or location an event needs, and the bot's permission to manage it."""
    state = sb.state
    bot_id = state.bot.id
    if entity_type == EXTERNAL:
        if channel_id is not None:
            raise errors.form_error("channel_id", "GUILD_SCHEDULED_EVENT_CHANNEL_NOT_ALLOWED", "Must be null")
        location = (body.get("entity_metadata") or {}).get("location")
        if not location:
            raise errors.form_error("entity_metadata.location", "BASE_TYPE_REQUIRED", "This field is required")
        if end is None:
            raise errors.form_error("scheduled_end_time", "BASE_TYPE_REQUIRED", "This field is required")
        have = perms.base_permissions(guild, state.bot_member(guild))
        if not have & (perms.MANAGE_EVENTS | perms.CREATE_EVENTS):
            raise errors.ApiError(errors.MISSING_PERMISSIONS)
        return
    if channel_id is None:
        raise errors.form_error("channel_id", "BASE_TYPE_REQUIRED", "This field is required")
    channel = guild.channels.get(int(str(channel_id))) if str(channel_id).isdigit() else None
    wanted = GUILD_STAGE_VOICE if entity_type == STAGE else GUILD_VOICE
    if channel is None or channel.deleted:
        raise errors.ApiError(errors.UNKNOWN_CHANNEL)
    if channel.type != wanted:
        raise errors.form_error("channel_id", "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL_TYPE", "Wrong channel type")
    have = state.permissions_in(channel, bot_id)
    if not have & perms.VIEW_CHANNEL:
        raise errors.ApiError(errors.MISSING_ACCESS)
    if not have & perms.CONNECT or not have & (perms.MANAGE_EVENTS | perms.CREATE_EVENTS):
        raise errors.ApiError(errors.MISSING_PERMISSIONS)


def _times(sb: Sandbox, body: Json, event: ScheduledEvent | None) -> tuple[dt.datetime, dt.datetime | None]:
    start = parse_iso(body["scheduled_start_time"]) if body.get("scheduled_start_time") else None
    if start is None:
        if event is None:
            raise errors.form_error("scheduled_start_time", "BASE_TYPE_REQUIRED", "This field is required")
        start = event.scheduled_start_time
    elif start < sb.now() - PAST_TOLERANCE and (event is None or start != event.scheduled_start_time):
        # Re-sending an unchanged start (say, editing a running event's name) is fine; moving it into the past is not.
        raise errors.form_error(
            "scheduled_start_time", "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST", "Cannot schedule event in the past."
        )
    if "scheduled_end_time" in body:
        end = parse_iso(body["scheduled_end_time"]) if body["scheduled_end_time"] else None
    else:
        end = event.scheduled_end_time if event else None
    if end is not None and end <= start:
        raise errors.form_error(
            "scheduled_end_time", "GUILD_SCHEDULED_EVENT_END_BEFORE_START", "End time must be after the start time."
        )
    return start, end


def _describe(sb: Sandbox, guild: Guild, event: ScheduledEvent) -> str:
    if event.channel_id is not None and event.channel_id in guild.channels:
        place = f"#{guild.channels[event.channel_id].name}"
    else:
        place = (event.entity_metadata or {}).get("location") or "?"
    end = f" to {event.scheduled_end_time.isoformat()}" if event.scheduled_end_time else ""
    return f"{event.name!r} at {place}, {event.scheduled_start_time.isoformat()}{end}, {STATUS_NAMES[event.status]}"


def _record(sb: Sandbox, guild: Guild, event: ScheduledEvent, verb: str) -> None:
    state = sb.state
    text = f"{verb} event {_describe(sb, guild, event)}"
    state.transcript.add(EVENT, state.bot.display_name, guild.name, text, actor_id=state.bot.id, data=event.payload())


async def create_event(sb: Sandbox, call: Call) -> Reply:
    """POST /guilds/{guild_id}/scheduled-events."""
    state = sb.state
    guild = bot_guild(sb, call)
    body = call.json()
    start, end = _times(sb, body, None)
    entity_type = body.get("entity_type")
    if entity_type not in (STAGE, VOICE, EXTERNAL):
        raise errors.form_error("entity_type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3).")
    if body.get("privacy_level") != 2:
        raise errors.form_error("privacy_level", "BASE_TYPE_CHOICES", "Value must be one of (2,).")
    _check_entity(sb, guild, entity_type, body.get("channel_id"), body, end)
    event = ScheduledEvent(
        id=snowflake(),
        guild_id=guild.id,
        name=body["name"],
        scheduled_start_time=start,
        scheduled_end_time=end,
        entity_type=entity_type,
        channel_id=int(body["channel_id"]) if entity_type != EXTERNAL else None,
        creator_id=state.bot.id,
        description=body.get("description"),
        entity_metadata=body.get("entity_metadata") if entity_type == EXTERNAL else None,
        image=body.get("image"),
        recurrence_rule=body.get("recurrence_rule"),
    )
    guild.scheduled_events[event.id] = event
    payload = event.payload(state.bot)
    state.dispatch("GUILD_SCHEDULED_EVENT_CREATE", payload, guild_id=guild.id)
    _record(sb, guild, event, "created")
    return ok(payload)


async def edit_event(sb: Sandbox, call: Call) -> Reply:
    """PATCH /guilds/{guild_id}/scheduled-events/{id}: fields, and status only along allowed transitions."""
    state = sb.state
    guild = bot_guild(sb, call)
    event = _event(sb, guild, call)
    body = call.json()
    status = body.get("status", event.status)
    if event.status in (COMPLETED, CANCELED):
        raise errors.form_error("status", "GUILD_SCHEDULED_EVENT_INVALID_STATUS", "Cannot modify a finished event.")
    if status != event.status and (event.status, status) not in ALLOWED_TRANSITIONS:
        raise errors.form_error(
            "status",
            "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
            f"Cannot change status from {STATUS_NAMES[event.status]} to {STATUS_NAMES.get(status, status)}.",
        )
    start, end = _times(sb, body, event)
    entity_type = body.get("entity_type", event.entity_type)
    channel_id = body.get("channel_id", event.channel_id)
    merged = {"entity_metadata": body.get("entity_metadata", event.entity_metadata)}
    _check_entity(sb, guild, entity_type, channel_id, merged, end)
    before = STATUS_NAMES[event.status]
    event.scheduled_start_time, event.scheduled_end_time = start, end
    event.entity_type = entity_type
    event.channel_id = int(channel_id) if channel_id is not None and entity_type != EXTERNAL else None
    event.entity_metadata = merged["entity_metadata"] if entity_type == EXTERNAL else None
    for key in ("name", "description", "image", "recurrence_rule"):
        if key in body:
            setattr(event, key, body[key])
    event.status = status
    payload = event.payload(state.users.get(event.creator_id or 0))
    state.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", payload, guild_id=guild.id)
    verb = "edited" if before == STATUS_NAMES[status] else f"moved from {before} to {STATUS_NAMES[status]}"
    _record(sb, guild, event, verb)
    return ok(payload)


async def delete_event(sb: Sandbox, call: Call) -> Reply:
    """DELETE /guilds/{guild_id}/scheduled-events/{id}."""
    state = sb.state
    guild = bot_guild(sb, call)
    event = _event(sb, guild, call)
    if event.creator_id != state.bot.id:
        state.require_guild(guild, state.bot.id, perms.MANAGE_EVENTS)
    del guild.scheduled_events[event.id]
    state.dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload(), guild_id=guild.id)
    _record(sb, guild, event, "deleted")
    return no_content()


async def list_events(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/scheduled-events."""
    guild = bot_guild(sb, call)
    creators = sb.state.users
    return ok([e.payload(creators.get(e.creator_id or 0)) for e in guild.scheduled_events.values()])


async def get_event(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/scheduled-events/{id}."""
    guild = bot_guild(sb, call)
    event = _event(sb, guild, call)
    return ok(event.payload(sb.state.users.get(event.creator_id or 0)))


async def event_users(sb: Sandbox, call: Call) -> Reply:
    """GET /guilds/{guild_id}/scheduled-events/{id}/users."""
    state = sb.state
    guild = bot_guild(sb, call)
    event = _event(sb, guild, call)
    result = []
    for user_id in sorted(event.subscribers):
        entry: Json = {"guild_scheduled_event_id": str(event.id), "user": state.users[user_id].payload()}
        if call.flag("with_member") and user_id in guild.members:
            entry["member"] = guild.members[user_id].payload(with_user=False)
        result.append(entry)
    return ok(result)


def register(router: Router) -> None:
    """Add the routes of this module."""
    base = "/guilds/{guild_id}/scheduled-events"
    router.add("GET", base, list_events)
    router.add("POST", base, create_event)
    router.add("GET", base + "/{guild_scheduled_event_id}", get_event)
    router.add("PATCH", base + "/{guild_scheduled_event_id}", edit_event)
    router.add("DELETE", base + "/{guild_scheduled_event_id}", delete_event)
    router.add("GET", base + "/{guild_scheduled_event_id}/users", event_users)
