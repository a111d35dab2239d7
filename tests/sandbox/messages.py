"""Messages: creation with nonces and allowed mentions, edits, deletes, pins and their payloads."""

from __future__ import annotations

import copy
import logging
import re
import time
from typing import Any

from tests.sandbox import errors, permissions as perms
from tests.sandbox.models import Channel, FLAG_EPHEMERAL, Interaction, Json, Message, User
from tests.sandbox.snowflakes import iso, snowflake, utcnow
from tests.sandbox.state import SandboxState
from tests.sandbox.transcript import DELETE, EDIT, MESSAGE, PIN, Pings, THREAD, describe_message

log = logging.getLogger(__name__)

USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")
DEFAULT_NONCE_WINDOW = 300.0
MAX_PINS = 250
# Message flags a sender may set (suppress embeds, ephemeral, suppress notifications, components v2).
_SETTABLE_FLAGS = (1 << 2) | FLAG_EPHEMERAL | (1 << 12) | (1 << 15)


class Messages:
    """Create, edit and delete messages as Discord does, and tell the gateway and the transcript."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.nonce_window = DEFAULT_NONCE_WINDOW
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}

    # Payloads.

    def payload(self, message: Message, *, gateway: bool = False) -> Json:
        """Return the message object (the gateway variant carries guild_id and member fields)."""
        state = self.state
        data: Json = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": message.author.payload(),
            "content": message.content,
            "timestamp": iso(message.created_at),
            "edited_timestamp": iso(message.edited_at),
            "tts": message.tts,
            "mention_everyone": message.mention_everyone,
            "mentions": [self._mention_payload(uid, message.guild_id, gateway) for uid in message.mentions],
            "mention_roles": [str(r) for r in message.mention_roles],
            "attachments": copy.deepcopy(message.attachments),
            "embeds": copy.deepcopy(message.embeds),
            "pinned": message.pinned,
            "type": message.type,
            "flags": message.flags,
            "components": copy.deepcopy(message.components),
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            guild = state.guilds.get(message.guild_id)
            member = guild.members.get(message.author.id) if guild else None
            if gateway and member is not None and message.webhook_id is None:
                data["member"] = member.payload(with_user=False)
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
        if message.application_id is not None:
            data["application_id"] = str(message.application_id)
        if message.interaction_metadata is not None:
            data["interaction_metadata"] = copy.deepcopy(message.interaction_metadata)
        if message.message_reference is not None:
            data["message_reference"] = dict(message.message_reference)
            ref = state.messages.get(int(message.message_reference["message_id"]))
            data["referenced_message"] = self.payload(ref) if ref and not ref.deleted else None
        if message.thread_id is not None and message.thread_id in state.channels:
            data["thread"] = state.channels[message.thread_id].payload()
        channel = state.channels.get(message.channel_id)
        if channel is not None and channel.is_thread:
            data["position"] = state.channel_messages[channel.id].index(message.id)
        return data

    def _mention_payload(self, user_id: int, guild_id: int | None, gateway: bool) -> Json:
        user = self.state.users[user_id]
        data = user.payload()
        if gateway and guild_id is not None:
            member = self.state.guilds[guild_id].members.get(user_id)
            if member is not None:
                data["member"] = member.payload(with_user=False)
        return data

    # Creation.

    def create(
        self,
        channel: Channel,
        author: User,
        body: Json,
        *,
        interaction: Interaction | None = None,
        message_type: int = 0,
        flags: int | None = None,
        attachments: list[Json] | None = None,
    ) -> Message:
        """Create a message from a validated request body and announce it."""
        state = self.state
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._earlier(author.id, nonce)
            if earlier is not None:
                log.debug("nonce %r reused by %s: returning message %s", nonce, author.id, earlier.id)
                return earlier
        content = body.get("content") or ""
        embeds = [_normalise_embed(e) for e in body.get("embeds") or []]
        components = _with_component_ids(body.get("components") or [])
        files = attachments or []
        if not (content or embeds or components or files or body.get("sticker_ids") or body.get("poll")):
            raise errors.ApiError(errors.EMPTY_MESSAGE)
        reference = self._reference(channel, body.get("message_reference"))
        message = Message(
            id=snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=content,
            embeds=embeds,
            components=components,
            attachments=files,
            flags=(body.get("flags") or 0) & _SETTABLE_FLAGS if flags is None else flags,
            type=message_type if reference is None or message_type else 19,
            tts=bool(body.get("tts")),
            nonce=nonce,
            message_reference=reference,
        )
        if interaction is not None:
            message.webhook_id = state.app.id
            message.application_id = state.app.id
            message.interaction_metadata = interaction_metadata(interaction)
            if message.ephemeral:
                message.ephemeral_to = interaction.user.id
        reply_author = state.messages[int(reference["message_id"])].author.id if reference else None
        pings = self.resolve_pings(channel, author.id, content, body.get("allowed_mentions"), reply_author)
        message.mentions, message.mention_roles = pings.users, pings.roles
        message.mention_everyone = pings.everyone or pings.here
        state.messages[message.id] = message
        state.channel_messages.setdefault(channel.id, []).append(message.id)
        if nonce is not None:
            self._nonces[(author.id, str(nonce))] = (message.id, time.monotonic())
        if not message.ephemeral:
            channel.last_message_id = message.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
            self.announce("MESSAGE_CREATE", message)
        self.record(MESSAGE, message, pings=pings)
        return message

    def _earlier(self, author_id: int, nonce: int | str) -> Message | None:
        found = self._nonces.get((author_id, str(nonce)))
        if found is None or time.monotonic() - found[1] > self.nonce_window:
            return None
        message = self.state.messages.get(found[0])
        return None if message is None or message.deleted else message

    def _reference(self, channel: Channel, reference: Json | None) -> Json | None:
        if not reference or reference.get("type", 0) != 0 or reference.get("message_id") is None:
            return None
        target = self.state.messages.get(int(reference["message_id"]))
        if target is None or target.deleted or target.channel_id != int(reference.get("channel_id") or channel.id):
            if reference.get("fail_if_not_exists", True):
                raise errors.form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            return None
        ref: Json = {"type": 0, "message_id": str(target.id), "channel_id": str(target.channel_id)}
        if target.guild_id is not None:
            ref["guild_id"] = str(target.guild_id)
        return ref

    def resolve_pings(
        self, channel: Channel, author_id: int, content: str, allowed: Json | None, reply_author: int | None
    ) -> Pings:
        """Decide who a message pings from its content and allowed_mentions, by Discord's rules."""
        state = self.state
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            user_list: set[str] | None = None
            role_list: set[str] | None = None
            replied_user = True
        else:
            parse = set(allowed.get("parse") or [])
            user_list = {str(u) for u in allowed.get("users") or []}
            role_list = {str(r) for r in allowed.get("roles") or []}
            replied_user = bool(allowed.get("replied_user", False))
            if "users" in parse and user_list:
                raise errors.form_error(
                    "allowed_mentions", "ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "parse:[users] conflicts"
                )
            if "roles" in parse and role_list:
                raise errors.form_error(
                    "allowed_mentions", "ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "parse:[roles] conflicts"
                )
        pings = Pings()
        for raw in dict.fromkeys(USER_MENTION.findall(content)):
            uid = int(raw)
            if uid in state.users and ("users" in parse or (user_list is not None and raw in user_list)):
                pings.users.append(uid)
        if reply_author is not None and replied_user and reply_author not in pings.users and reply_author != author_id:
            pings.users.append(reply_author)
        guild = state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        if guild is not None:
            can_mention_all = bool(state.permissions_in(channel, author_id) & perms.MENTION_EVERYONE)
            for raw in dict.fromkeys(ROLE_MENTION.findall(content)):
                role = guild.roles.get(int(raw))
                allowed_role = "roles" in parse or (role_list is not None and raw in role_list)
                if role is not None and allowed_role and (role.mentionable or can_mention_all):
                    pings.roles.append(role.id)
            if "everyone" in parse and can_mention_all:
                pings.everyone = "@everyone" in content
                pings.here = "@here" in content
            recipients = set(pings.users)
            for member in guild.members.values():
                if pings.everyone or pings.here or set(member.roles) & set(pings.roles):
                    recipients.add(member.id)
            recipients.discard(author_id)
            pings.user_ids = recipients
        else:
            pings.user_ids = {u for u in pings.users if u in channel.recipient_ids and u != author_id}
        return pings

    # Changes.

    def edit(
        self,
        message: Message,
        body: Json,
        *,
        actor: User,
        record_as: str | None = None,
        attachments: list[Json] | None = None,
    ) -> Message:
        """Apply an edit (content, embeds, components, flags, allowed_mentions) and announce it."""
        channel = self.state.channels[message.channel_id]
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = [_normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            message.components = _with_component_ids(body["components"] or [])
        if "attachments" in body and body["attachments"] is not None:
            keep = {str(a.get("id")) for a in body["attachments"]}
            message.attachments = [a for a in message.attachments if str(a.get("id")) in keep]
        message.attachments.extend(attachments or [])
        if body.get("flags") is not None:
            # Only suppress-embeds can change after sending; ephemeral and v2 flags stay as they were.
            message.flags = (message.flags & ~(1 << 2)) | (body["flags"] & (1 << 2))
        message.flags &= ~(1 << 7)
        message.edited_at = utcnow()
        pings = None
        if "content" in body or "allowed_mentions" in body:
            pings = self.resolve_pings(channel, message.author.id, message.content, body.get("allowed_mentions"), None)
            # Discord only notifies new user mentions on edit, but the message's mention fields follow the rules.
            message.mentions, message.mention_roles = pings.users, pings.roles
            message.mention_everyone = pings.everyone or pings.here
        if not message.ephemeral:
            self.announce("MESSAGE_UPDATE", message)
        self.record(record_as or EDIT, message, pings=pings, actor=actor)
        return message

    def delete(self, message: Message, *, actor: User) -> None:
        """Delete a message and announce it."""
        message.deleted = True
        if not message.ephemeral:
            data: Json = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            self.state.dispatch("MESSAGE_DELETE", data, guild_id=message.guild_id, dm=message.guild_id is None)
        self.record(DELETE, message, actor=actor, text=f"deleted message {message.id}")

    def pin(self, message: Message, pinned: bool, *, actor: User) -> None:
        """Pin or unpin a message and announce the channel's new pin state."""
        channel = self.state.channels[message.channel_id]
        if pinned and not message.pinned:
            count = sum(1 for m in self.state.visible_messages(channel) if m.pinned)
            if count >= MAX_PINS:
                raise errors.ApiError(errors.MAX_PINS)
        if message.pinned == pinned:
            return
        message.pinned = pinned
        message.pinned_at = utcnow() if pinned else None
        channel.last_pin_timestamp = utcnow() if pinned else channel.last_pin_timestamp
        self.announce("MESSAGE_UPDATE", message)
        data: Json = {"channel_id": str(channel.id), "last_pin_timestamp": iso(channel.last_pin_timestamp)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.state.dispatch("CHANNEL_PINS_UPDATE", data, guild_id=channel.guild_id, dm=channel.guild_id is None)
        verb = "pinned" if pinned else "unpinned"
        self.record(PIN, message, actor=actor, text=f"{verb} message {message.id}")

    def record_thread(self, channel: Channel, actor: User, text: str) -> None:
        """Add a thread entry to the transcript."""
        name = self.state.display_name(actor, channel.guild_id)
        self.state.transcript.add(THREAD, name, f"#{channel.name}", text, actor_id=actor.id, channel_id=channel.id)

    # Gateway and transcript.

    def announce(self, event: str, message: Message) -> None:
        """Send MESSAGE_CREATE/UPDATE for a message, with what intent filtering needs to know."""
        state = self.state
        mentions_bot = state.bot.id in message.mentions
        state.dispatch(
            event,
            self.payload(message, gateway=True),
            guild_id=message.guild_id,
            dm=message.guild_id is None,
            author_id=message.author.id,
            mentions_bot=mentions_bot,
        )

    def record(
        self,
        kind: str,
        message: Message,
        *,
        pings: Pings | None = None,
        actor: User | None = None,
        text: str | None = None,
    ) -> None:
        """Add a message entry (with its pings) to the transcript."""
        state = self.state
        channel = state.channels[message.channel_id]
        who = actor or message.author
        if channel.is_dm:
            to_user: int | None = next((u for u in channel.recipient_ids if u != who.id), None)
        else:
            to_user = message.ephemeral_to
        state.transcript.add(
            kind,
            state.display_name(who, message.guild_id),
            state.where(channel),
            text if text is not None else describe_message(message.content, message.embeds, message.components),
            actor_id=who.id,
            channel_id=channel.id,
            message_id=message.id,
            to_user_id=to_user,
            to=state.display_name(state.users[to_user], message.guild_id) if to_user is not None else "",
            ephemeral=message.ephemeral,
            pings=pings if pings else None,
            data=self.payload(message),
        )


def interaction_metadata(interaction: Interaction) -> Json:
    """Return the `interaction_metadata` object of a message created by an interaction response."""
    data: Json = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": interaction.user.payload(),
        "authorizing_integration_owners": {"0": str(interaction.guild_id or 0)},
    }
    if interaction.type == 2:
        data["name"] = interaction.data.get("name")
        data["command_type"] = interaction.data.get("type", 1)
    if interaction.message_id is not None:
        data["interacted_message_id"] = str(interaction.message_id)
    if interaction.original_message_id is not None:
        data["original_response_message_id"] = str(interaction.original_message_id)
    return data


def _normalise_embed(embed: Any) -> Json:
    data = dict(embed) if isinstance(embed, dict) else {}
    data.setdefault("type", "rich")
    data["content_scan_version"] = 0
    return data


def _with_component_ids(components: list[Json]) -> list[Json]:
    """Copy components, numbering those without an `id` in tree order as Discord does."""
    result = copy.deepcopy(components)
    counter = [0]

    def used(items: list[Json]) -> None:
        for item in items:
            if isinstance(item.get("id"), int):
                counter[0] = max(counter[0], item["id"])
            used(_children(item))

    def number(items: list[Json]) -> None:
        for item in items:
            if item.get("id") is None:
                counter[0] += 1
                item["id"] = counter[0]
            number(_children(item))

    used(result)
    number(result)
    return result


def _children(item: Json) -> list[Json]:
    children = list(item.get("components") or [])
    for key in ("component", "accessory"):
        if isinstance(item.get(key), dict):
            children.append(item[key])
    return children


def walk_components(components: list[Json]) -> list[Json]:
    """Return every component in a tree, depth first."""
    found: list[Json] = []
    for item in components:
        found.append(item)
        found.extend(walk_components(_children(item)))
    return found
