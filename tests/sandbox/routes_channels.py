"""REST routes for channels, messages, pins, threads and thread members."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tests.sandbox import errors, permissions as perms
from tests.sandbox.models import (
    ANNOUNCEMENT_THREAD,
    Channel,
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_FORUM,
    Json,
    Message,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
)
from tests.sandbox.rest import Call, Reply, Router, no_content, ok
from tests.sandbox.routes_guilds import overwrite_from, visible_channel
from tests.sandbox.snowflakes import iso, snowflake, utcnow

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

NOT_TEXT = (400, 50008, "Cannot send messages in a non-text channel")
THREAD_EXISTS = (400, 160004, "A thread has already been created for this message")
_THREAD_FIELDS = ("name", "archived", "locked", "auto_archive_duration", "invitable", "rate_limit_per_user")


def _message(sb: Sandbox, channel: Channel, call: Call) -> Message:
    return sb.state.message(channel, call.params["message_id"])


async def get_channel(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}."""
    channel = visible_channel(sb, call)
    return ok(_channel_payload(sb, channel))


def _channel_payload(sb: Sandbox, channel: Channel) -> Json:
    data = channel.payload(users=sb.state.users, bot_id=sb.state.bot.id)
    if channel.is_thread:
        data["guild_id"] = str(channel.guild_id)
    return data


async def create_message(sb: Sandbox, call: Call) -> Reply:
    """POST /channels/{channel_id}/messages with Discord's permission, DM and thread rules."""
    state = sb.state
    channel = visible_channel(sb, call)
    body = call.json()
    bot = state.bot
    if channel.is_dm:
        other = state.users[next(u for u in channel.recipient_ids if u != bot.id)]
        if other.bot or not other.dms_open or not state.shares_guild(other.id):
            raise errors.ApiError(errors.CANNOT_DM)
    else:
        if channel.type in (GUILD_CATEGORY, GUILD_FORUM):
            raise errors.ApiError(NOT_TEXT)
        needed = perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES
        if body.get("message_reference"):
            needed |= perms.READ_MESSAGE_HISTORY
        state.require(channel, bot.id, needed)
        if channel.is_thread:
            _thread_writable(sb, channel)
        if body.get("tts") and not state.permissions_in(channel, bot.id) & perms.SEND_TTS_MESSAGES:
            body = body | {"tts": False}
    message = sb.messages.create(channel, bot, body, attachments=call.files)
    return ok(sb.messages.payload(message))


def _thread_writable(sb: Sandbox, thread: Channel, *, sending: bool = True) -> None:
    """Apply the archived/locked rules to a write in a thread; sending unarchives it like Discord does."""
    state = sb.state
    manage = bool(state.permissions_in(thread, state.bot.id) & perms.MANAGE_THREADS)
    if thread.locked and not manage:
        raise errors.ApiError(errors.THREAD_LOCKED)
    if thread.archived:
        if thread.locked or not sending:
            raise errors.ApiError(errors.THREAD_ARCHIVED)
        thread.archived = False
        thread.archive_timestamp = utcnow()
        state.dispatch("THREAD_UPDATE", _channel_payload(sb, thread), guild_id=thread.guild_id)


async def list_messages(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}/messages (newest first; empty without Read Message History)."""
    state = sb.state
    channel = visible_channel(sb, call)
    if not state.permissions_in(channel, state.bot.id) & perms.READ_MESSAGE_HISTORY:
        return ok([])
    limit = max(1, min(int(call.query.get("limit", "50") or 50), 100))
    messages = state.visible_messages(channel)
    if "around" in call.query:
        around = int(call.query["around"])
        older = [m for m in messages if m.id <= around][-((limit + 1) // 2) :]
        newer = [m for m in messages if m.id > around][: limit // 2]
        chosen = older + newer
    elif "after" in call.query:
        chosen = [m for m in messages if m.id > int(call.query["after"])][:limit]
    else:
        before = int(call.query.get("before", "0") or 0)
        chosen = [m for m in messages if not before or m.id < before][-limit:]
    return ok([sb.messages.payload(m) for m in reversed(chosen)])


async def get_message(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}/messages/{message_id}."""
    state = sb.state
    channel = visible_channel(sb, call)
    state.require(channel, state.bot.id, perms.READ_MESSAGE_HISTORY)
    return ok(sb.messages.payload(_message(sb, channel, call)))


async def edit_message(sb: Sandbox, call: Call) -> Reply:
    """PATCH /channels/{channel_id}/messages/{message_id}: authors edit; others may only suppress embeds."""
    state = sb.state
    channel = visible_channel(sb, call)
    message = _message(sb, channel, call)
    body = call.json()
    if message.author.id != state.bot.id:
        if set(body) - {"flags"}:
            raise errors.ApiError(errors.CANNOT_EDIT_OTHERS)
        state.require(channel, state.bot.id, perms.MANAGE_MESSAGES)
    if channel.is_thread:
        _thread_writable(sb, channel, sending=False)
    sb.messages.edit(message, body, actor=state.bot, attachments=call.files)
    return ok(sb.messages.payload(message))


async def delete_message(sb: Sandbox, call: Call) -> Reply:
    """DELETE /channels/{channel_id}/messages/{message_id}: own messages, or any with Manage Messages."""
    state = sb.state
    channel = visible_channel(sb, call)
    message = _message(sb, channel, call)
    if message.author.id != state.bot.id:
        if channel.is_dm:
            raise errors.ApiError(errors.MISSING_PERMISSIONS)
        state.require(channel, state.bot.id, perms.MANAGE_MESSAGES)
    sb.messages.delete(message, actor=state.bot)
    return no_content()


async def pin(sb: Sandbox, call: Call) -> Reply:
    """PUT /channels/{channel_id}/messages/pins/{message_id} (and the older /pins/ route)."""
    return _pin(sb, call, True)


async def unpin(sb: Sandbox, call: Call) -> Reply:
    """DELETE /channels/{channel_id}/messages/pins/{message_id} (and the older /pins/ route)."""
    return _pin(sb, call, False)


def _pin(sb: Sandbox, call: Call, pinned: bool) -> Reply:
    state = sb.state
    channel = visible_channel(sb, call)
    message = _message(sb, channel, call)
    if not channel.is_dm:
        have = state.permissions_in(channel, state.bot.id)
        if not have & (perms.PIN_MESSAGES | perms.MANAGE_MESSAGES):
            raise errors.ApiError(errors.MISSING_PERMISSIONS)
    sb.messages.pin(message, pinned, actor=state.bot)
    return no_content()


async def list_pins(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}/messages/pins: `{items: [{pinned_at, message}], has_more}`."""
    channel = visible_channel(sb, call)
    pinned = sorted((m for m in sb.state.visible_messages(channel) if m.pinned), key=lambda m: m.pinned_at or utcnow())
    limit = max(1, min(int(call.query.get("limit", "50") or 50), 50))
    items = [{"pinned_at": iso(m.pinned_at), "message": sb.messages.payload(m)} for m in reversed(pinned)]
    return ok({"items": items[:limit], "has_more": len(items) > limit})


async def list_pins_legacy(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}/pins: the older list-of-messages form."""
    channel = visible_channel(sb, call)
    pinned = [m for m in sb.state.visible_messages(channel) if m.pinned]
    return ok([sb.messages.payload(m) for m in reversed(pinned)])


async def typing(sb: Sandbox, call: Call) -> Reply:
    """POST /channels/{channel_id}/typing."""
    visible_channel(sb, call)
    return no_content()


# Threads.


def _new_thread(sb: Sandbox, parent: Channel, body: Json, *, thread_id: int, type: int) -> Channel:
    state = sb.state
    bot = state.bot
    thread = Channel(
        id=thread_id,
        type=type,
        name=body["name"],
        guild_id=parent.guild_id,
        parent_id=parent.id,
        owner_id=bot.id,
        auto_archive_duration=body.get("auto_archive_duration") or 1440,
        rate_limit_per_user=body.get("rate_limit_per_user") or 0,
        invitable=body.get("invitable", True) if type == PRIVATE_THREAD else True,
    )
    thread.thread_members[bot.id] = utcnow()
    guild = state.guild(parent.guild_id or 0)
    guild.channels[thread.id] = thread
    state.channels[thread.id] = thread
    state.channel_messages[thread.id] = []
    data = _channel_payload(sb, thread) | {"newly_created": True, "member": _thread_member(thread, bot.id)}
    state.dispatch("THREAD_CREATE", data, guild_id=thread.guild_id)
    kind = "private thread" if type == PRIVATE_THREAD else "thread"
    sb.messages.record_thread(thread, bot, f"started {kind} #{thread.name} in #{parent.name}")
    return thread


def _thread_member(thread: Channel, user_id: int) -> Json:
    return {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": iso(thread.thread_members.get(user_id) or utcnow()),
        "flags": 0,
    }


async def thread_from_message(sb: Sandbox, call: Call) -> Reply:
    """POST /channels/{channel_id}/messages/{message_id}/threads: the thread takes the message's id."""
    state = sb.state
    channel = visible_channel(sb, call)
    if channel.type not in (0, GUILD_ANNOUNCEMENT):
        raise errors.ApiError(NOT_TEXT)
    state.require(channel, state.bot.id, perms.CREATE_PUBLIC_THREADS | perms.READ_MESSAGE_HISTORY)
    message = _message(sb, channel, call)
    if message.thread_id is not None:
        raise errors.ApiError(THREAD_EXISTS)
    kind = ANNOUNCEMENT_THREAD if channel.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD
    thread = _new_thread(sb, channel, call.json(), thread_id=message.id, type=kind)
    message.thread_id = thread.id
    sb.messages.announce("MESSAGE_UPDATE", message)
    return ok(_channel_payload(sb, thread), status=201)


async def thread_without_message(sb: Sandbox, call: Call) -> Reply:
    """POST /channels/{channel_id}/threads: public (11) or private (12, the default) thread."""
    state = sb.state
    channel = visible_channel(sb, call)
    if channel.type not in (0, GUILD_ANNOUNCEMENT):
        raise errors.ApiError(NOT_TEXT)
    body = call.json()
    kind = body.get("type") or PRIVATE_THREAD
    needed = perms.CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else perms.CREATE_PUBLIC_THREADS
    state.require(channel, state.bot.id, needed)
    thread = _new_thread(sb, channel, body, thread_id=snowflake(), type=kind)
    return ok(_channel_payload(sb, thread), status=201)


async def edit_channel(sb: Sandbox, call: Call) -> Reply:
    """PATCH /channels/{channel_id}: thread archive/lock/rename, or guild channel settings."""
    state = sb.state
    channel = visible_channel(sb, call)
    body = call.json()
    if channel.is_dm:
        raise errors.ApiError(errors.MISSING_PERMISSIONS)
    if not channel.is_thread:
        needed = perms.MANAGE_CHANNELS | (perms.MANAGE_ROLES if "permission_overwrites" in body else 0)
        state.require(channel, state.bot.id, needed)
        for key in ("name", "topic", "nsfw", "rate_limit_per_user", "position", "user_limit", "bitrate"):
            if key in body and body[key] is not None:
                setattr(channel, key, body[key])
        if "permission_overwrites" in body:
            overwrites = [overwrite_from(item) for item in body["permission_overwrites"] or []]
            channel.overwrites = {o.id: o for o in overwrites}
        state.dispatch("CHANNEL_UPDATE", channel.payload(), guild_id=channel.guild_id)
        return ok(_channel_payload(sb, channel))
    manage = bool(state.permissions_in(channel, state.bot.id) & perms.MANAGE_THREADS)
    owner = channel.owner_id == state.bot.id
    needs_manage = "locked" in body or "invitable" in body or not owner or channel.locked
    if needs_manage and not manage:
        raise errors.ApiError(errors.MISSING_PERMISSIONS)
    changes = []
    for key in _THREAD_FIELDS:
        if key in body and body[key] is not None and getattr(channel, key) != body[key]:
            setattr(channel, key, body[key])
            changes.append(f"{key}={body[key]}")
    if "archived" in body:
        channel.archive_timestamp = utcnow()
    state.dispatch("THREAD_UPDATE", _channel_payload(sb, channel), guild_id=channel.guild_id)
    if changes:
        sb.messages.record_thread(channel, state.bot, "set " + ", ".join(changes))
    return ok(_channel_payload(sb, channel))


async def delete_channel(sb: Sandbox, call: Call) -> Reply:
    """DELETE /channels/{channel_id}: Manage Threads for threads, Manage Channels otherwise."""
    state = sb.state
    channel = visible_channel(sb, call)
    data = _channel_payload(sb, channel)
    if channel.is_dm:
        return ok(data)
    state.require(channel, state.bot.id, perms.MANAGE_THREADS if channel.is_thread else perms.MANAGE_CHANNELS)
    channel.deleted = True
    if channel.is_thread:
        event = {
            "id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "parent_id": str(channel.parent_id),
            "type": channel.type,
        }
        state.dispatch("THREAD_DELETE", event, guild_id=channel.guild_id)
        sb.messages.record_thread(channel, state.bot, f"deleted thread #{channel.name}")
    else:
        state.dispatch("CHANNEL_DELETE", data, guild_id=channel.guild_id)
    return ok(data)


async def join_thread(sb: Sandbox, call: Call) -> Reply:
    """PUT /channels/{channel_id}/thread-members/@me or /{user_id}."""
    state = sb.state
    thread = _thread(sb, call)
    user_id = state.bot.id if call.params.get("user_id") in (None, "@me") else int(call.params["user_id"])
    if thread.archived:
        raise errors.ApiError(errors.THREAD_ARCHIVED)
    if user_id != state.bot.id:
        state.require(thread, state.bot.id, perms.SEND_MESSAGES_IN_THREADS)
        state.member(state.guild(thread.guild_id or 0), user_id)
        if thread.type == PRIVATE_THREAD and not thread.invitable and thread.owner_id != state.bot.id:
            state.require(thread, state.bot.id, perms.MANAGE_THREADS)
    if user_id in thread.thread_members:
        return no_content()
    thread.thread_members[user_id] = utcnow()
    member = _thread_member(thread, user_id)
    update = {
        "id": str(thread.id),
        "guild_id": str(thread.guild_id),
        "member_count": len(thread.thread_members),
        "added_members": [member],
    }
    state.dispatch("THREAD_MEMBERS_UPDATE", update, guild_id=thread.guild_id)
    if user_id == state.bot.id:
        state.dispatch("THREAD_MEMBER_UPDATE", member | {"guild_id": str(thread.guild_id)}, guild_id=thread.guild_id)
    return no_content()


async def leave_thread(sb: Sandbox, call: Call) -> Reply:
    """DELETE /channels/{channel_id}/thread-members/@me or /{user_id} (others need Manage Threads)."""
    state = sb.state
    thread = _thread(sb, call)
    user_id = state.bot.id if call.params.get("user_id") in (None, "@me") else int(call.params["user_id"])
    if user_id != state.bot.id and not (thread.type == PRIVATE_THREAD and thread.owner_id == state.bot.id):
        state.require(thread, state.bot.id, perms.MANAGE_THREADS)
    if thread.thread_members.pop(user_id, None) is not None:
        update = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": len(thread.thread_members),
            "removed_member_ids": [str(user_id)],
        }
        state.dispatch("THREAD_MEMBERS_UPDATE", update, guild_id=thread.guild_id)
    return no_content()


async def list_thread_members(sb: Sandbox, call: Call) -> Reply:
    """GET /channels/{channel_id}/thread-members."""
    thread = _thread(sb, call)
    return ok([_thread_member(thread, uid) for uid in thread.thread_members])


def _thread(sb: Sandbox, call: Call) -> Channel:
    channel = visible_channel(sb, call)
    if not channel.is_thread:
        raise errors.ApiError(errors.UNKNOWN_CHANNEL)
    return channel


def register(router: Router) -> None:
    """Add the routes of this module."""
    router.add("GET", "/channels/{channel_id}", get_channel)
    router.add("PATCH", "/channels/{channel_id}", edit_channel)
    router.add("DELETE", "/channels/{channel_id}", delete_channel)
    router.add("GET", "/channels/{channel_id}/messages", list_messages)
    router.add("POST", "/channels/{channel_id}/messages", create_message)
    router.add("GET", "/channels/{channel_id}/messages/pins", list_pins)
    router.add("GET", "/channels/{channel_id}/pins", list_pins_legacy)
    router.add("GET", "/channels/{channel_id}/messages/{message_id}", get_message)
    router.add("PATCH", "/channels/{channel_id}/messages/{message_id}", edit_message)
    router.add("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message)
    for template in ("/channels/{channel_id}/messages/pins/{message_id}", "/channels/{channel_id}/pins/{message_id}"):
        router.add("PUT", template, pin)
        router.add("DELETE", template, unpin)
    router.add("POST", "/channels/{channel_id}/typing", typing)
    router.add("POST", "/channels/{channel_id}/messages/{message_id}/threads", thread_from_message)
    router.add("POST", "/channels/{channel_id}/threads", thread_without_message)
    router.add("GET", "/channels/{channel_id}/thread-members", list_thread_members)
    for template in ("/channels/{channel_id}/thread-members/@me", "/channels/{channel_id}/thread-members/{user_id}"):
        router.add("PUT", template, join_thread)
        router.add("DELETE", template, leave_thread)
