"""Interactions: creating them for the bot, the 3-second rule, callbacks, follow-ups and @original."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tests.sandbox import errors
from tests.sandbox.messages import interaction_metadata
from tests.sandbox.models import Channel, FLAG_EPHEMERAL, FLAG_LOADING, Guild, Interaction, Json, Message, User
from tests.sandbox.rest import Call, Reply, Router, no_content, ok
from tests.sandbox.snowflakes import snowflake
from tests.sandbox.transcript import FAILED, MESSAGE, RESPONSE, describe_components

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
# Which callback types each interaction type accepts (PING, APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL).
ALLOWED_CALLBACKS = {1: {1}, 2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
CALLBACK_NAMES = {
    1: "pong",
    4: "message",
    5: "deferred (thinking)",
    6: "deferred update",
    7: "update message",
    8: "autocomplete",
    9: "modal",
}
_SETTABLE_FLAGS = (1 << 2) | FLAG_EPHEMERAL | (1 << 12) | (1 << 15)


class Interactions:
    """Creates interactions, enforces Discord's response rules and lets tests wait for answers."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.deadline = 3.0
        self.token_ttl = 15 * 60.0
        self._answered: dict[int, asyncio.Event] = {}
        self._timers: list[asyncio.TimerHandle] = []

    def create(
        self,
        *,
        type: int,
        user: User,
        guild: Guild | None,
        channel: Channel,
        data: Json,
        message: Message | None = None,
        modal_source: Interaction | None = None,
        label: str = "",
    ) -> Interaction:
        """Create an interaction, send INTERACTION_CREATE and start its 3-second clock."""
        state = self.sb.state
        loop = asyncio.get_running_loop()
        interaction = Interaction(
            id=snowflake(),
            token=state.new_interaction_token(),
            type=type,
            user=user,
            guild_id=guild.id if guild else None,
            channel_id=channel.id,
            data=data,
            payload={},
            created=loop.time(),
            message_id=message.id if message else None,
            modal_source=modal_source,
            label=label,
        )
        interaction.payload = self._payload(interaction, guild, channel, message)
        state.interactions[interaction.id] = interaction
        state.interactions_by_token[interaction.token] = interaction
        self._answered[interaction.id] = asyncio.Event()
        self._timers.append(loop.call_later(self.deadline, self._expire, interaction))
        state.dispatch("INTERACTION_CREATE", interaction.payload, guild_id=interaction.guild_id, intent=0)
        return interaction

    def _payload(
        self, interaction: Interaction, guild: Guild | None, channel: Channel, message: Message | None
    ) -> Json:
        state = self.sb.state
        user = interaction.user
        channel_data = channel.payload(users=state.users, bot_id=state.bot.id)
        data: Json = {
            "id": str(interaction.id),
            "application_id": str(state.app.id),
            "type": interaction.type,
            "data": interaction.data,
            "token": interaction.token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
        }
        if guild is not None:
            member = state.member(guild, user.id)
            member_perms = state.permissions_in(channel, user.id)
            channel_data["permissions"] = str(member_perms)
            data.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                    "guild_locale": guild.preferred_locale,
                    "member": member.payload(permissions=member_perms),
                    "app_permissions": str(state.permissions_in(channel, state.bot.id)),
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                }
            )
        else:
            data.update(
                {
                    "user": user.payload(),
                    "app_permissions": str((1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16)),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        data["channel"] = channel_data
        if message is not None:
            data["message"] = self.sb.messages.payload(message)
        return data

    def _expire(self, interaction: Interaction) -> None:
        if interaction.response_type is None and not interaction.failed:
            interaction.failed = True
            state = self.sb.state
            channel = state.channels[interaction.channel_id]
            state.transcript.add(
                FAILED,
                state.display_name(interaction.user, interaction.guild_id),
                state.where(channel),
                f"sees 'This interaction failed' for {interaction.label} (no response within {self.deadline:g} s)",
                actor_id=interaction.user.id,
                channel_id=channel.id,
                to_user_id=interaction.user.id,
                to=state.display_name(interaction.user, interaction.guild_id),
            )
            self._answered[interaction.id].set()

    async def wait_answered(self, interaction: Interaction, timeout: float) -> None:
        """Wait until the interaction got its initial response or failed."""
        event = self._answered[interaction.id]
        await asyncio.wait_for(event.wait(), timeout)

    def close(self) -> None:
        """Cancel pending deadline timers."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # Callback and webhook handling.

    def _live(self, interaction_id: str, token: str) -> Interaction:
        state = self.sb.state
        interaction = state.interactions.get(int(interaction_id)) if interaction_id.isdigit() else None
        if interaction is None or interaction.token != token:
            raise errors.ApiError(errors.UNKNOWN_INTERACTION)
        return interaction

    def _by_webhook(self, webhook_id: str, token: str) -> Interaction:
        state = self.sb.state
        interaction = state.interactions_by_token.get(token)
        if webhook_id != str(state.app.id) or interaction is None:
            raise errors.ApiError(errors.UNKNOWN_WEBHOOK)
        if asyncio.get_running_loop().time() - interaction.created > self.token_ttl:
            raise errors.ApiError(errors.INVALID_WEBHOOK_TOKEN)
        if interaction.response_type is None:
            # The webhook only exists once the interaction has been acknowledged.
            raise errors.ApiError(errors.UNKNOWN_WEBHOOK)
        return interaction

    def _message_of(self, interaction: Interaction, message_id: str) -> Message:
        state = self.sb.state
        if message_id == "@original":
            wanted = interaction.original_message_id
        else:
            wanted = int(message_id) if message_id.isdigit() else None
            if wanted not in interaction.followup_ids and wanted != interaction.original_message_id:
                wanted = None
        message = state.messages.get(wanted) if wanted is not None else None
        if message is None or message.deleted:
            raise errors.ApiError(errors.UNKNOWN_MESSAGE)
        return message

    async def callback(self, call: Call) -> Reply:
        """POST /interactions/{id}/{token}/callback: the one initial response."""
        sb = self.sb
        state = sb.state
        interaction = self._live(call.params["interaction_id"], call.params["interaction_token"])
        if interaction.response_type is not None:
            raise errors.ApiError(errors.ALREADY_ACKNOWLEDGED)
        if interaction.failed or asyncio.get_running_loop().time() - interaction.created > self.deadline:
            self._expire(interaction)
            raise errors.ApiError(errors.UNKNOWN_INTERACTION)
        body = call.json()
        kind = body.get("type")
        data = body.get("data") or {}
        if kind not in ALLOWED_CALLBACKS.get(interaction.type, set()) or (
            kind in (6, 7) and interaction.message_id is None
        ):
            raise errors.form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")
        channel = state.channels[interaction.channel_id]
        who = state.display_name(state.bot, interaction.guild_id)
        message: Message | None = None
        ephemeral = bool(data.get("flags", 0) & FLAG_EPHEMERAL) if kind in (4, 5) else False
        if kind == 4:
            message_type = 20 if interaction.type == 2 else 0
            flags = (data.get("flags") or 0) & _SETTABLE_FLAGS
            message = sb.messages.create(
                channel,
                state.bot,
                data,
                interaction=interaction,
                message_type=message_type,
                flags=flags,
                attachments=call.files,
            )
            interaction.original_message_id = message.id
        elif kind == 5:
            message = self._loading_message(interaction, channel, ephemeral)
            interaction.original_message_id = message.id
            interaction.loading = True
        elif kind in (6, 7):
            target = state.messages[interaction.message_id]  # type: ignore[index]
            interaction.original_message_id = target.id
            if kind == 7:
                message = sb.messages.edit(target, data, actor=state.bot, attachments=call.files)
            else:
                message = target
        interaction.response_type = kind
        interaction.response_data = data
        interaction.ephemeral = ephemeral
        if kind in (5, 6, 8, 9):
            self._record_response(interaction, channel, who, data)
        self._answered[interaction.id].set()
        if not call.flag("with_response"):
            return no_content()
        summary: Json = {"id": str(interaction.id), "type": interaction.type}
        if message is not None and kind in (4, 5, 7):
            summary["response_message_id"] = str(message.id)
            summary["response_message_loading"] = kind == 5
            summary["response_message_ephemeral"] = message.ephemeral
        result: Json = {"interaction": summary}
        if message is not None and kind in (4, 7):
            result["resource"] = {"type": kind, "message": sb.messages.payload(message)}
        return ok(result)

    def _loading_message(self, interaction: Interaction, channel: Channel, ephemeral: bool) -> Message:
        sb = self.sb
        state = sb.state
        message = Message(
            id=snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=state.bot,
            flags=FLAG_LOADING | (FLAG_EPHEMERAL if ephemeral else 0),
            type=20 if interaction.type == 2 else 0,
            webhook_id=state.app.id,
            application_id=state.app.id,
            ephemeral_to=interaction.user.id if ephemeral else None,
        )
        message.interaction_metadata = interaction_metadata(interaction)
        state.messages[message.id] = message
        state.channel_messages.setdefault(channel.id, []).append(message.id)
        if not ephemeral:
            channel.last_message_id = message.id
            sb.messages.announce("MESSAGE_CREATE", message)
        return message

    def _record_response(self, interaction: Interaction, channel: Channel, who: str, data: Json) -> None:
        state = self.sb.state
        kind = interaction.response_type
        if kind == 8:
            choices = data.get("choices") or []
            shown = ", ".join(f"{c.get('name')}={c.get('value')!r}" for c in choices) if choices else "none"
            text = f"autocomplete for {interaction.label}: {shown}"
        elif kind == 9:
            text = f"opened modal {data.get('title')!r} ({data.get('custom_id')}) for {interaction.label}: "
            text += describe_components(data.get("components") or [])
        else:
            text = f"{CALLBACK_NAMES.get(kind or 0, kind)} for {interaction.label}"
        state.transcript.add(
            RESPONSE,
            who,
            state.where(channel),
            text,
            actor_id=state.bot.id,
            channel_id=channel.id,
            to_user_id=interaction.user.id,
            to=state.display_name(interaction.user, interaction.guild_id),
            ephemeral=interaction.ephemeral or kind in (8, 9),
            data={"type": kind, "data": data},
        )

    async def execute(self, call: Call) -> Reply:
        """POST /webhooks/{application_id}/{token}: a follow-up message."""
        sb = self.sb
        state = sb.state
        interaction = self._by_webhook(call.params["webhook_id"], call.params["webhook_token"])
        body = call.json()
        channel = state.channels[interaction.channel_id]
        original = state.messages.get(interaction.original_message_id or 0)
        if interaction.loading and original is not None and original.flags & FLAG_LOADING and not original.deleted:
            # The first follow-up after a deferred response replaces the "thinking" message.
            interaction.loading = False
            message = sb.messages.edit(original, body, actor=state.bot, record_as=MESSAGE, attachments=call.files)
        else:
            flags = (body.get("flags") or 0) & _SETTABLE_FLAGS
            message = sb.messages.create(
                channel, state.bot, body, interaction=interaction, flags=flags, attachments=call.files
            )
            interaction.followup_ids.append(message.id)
        if call.flag("wait"):
            return ok(sb.messages.payload(message))
        return no_content()

    async def get_message(self, call: Call) -> Reply:
        """GET /webhooks/{application_id}/{token}/messages/{message_id or @original}."""
        interaction = self._by_webhook(call.params["webhook_id"], call.params["webhook_token"])
        message = self._message_of(interaction, call.params.get("message_id", "@original"))
        return ok(self.sb.messages.payload(message))

    async def edit_message(self, call: Call) -> Reply:
        """PATCH /webhooks/{application_id}/{token}/messages/{message_id or @original}."""
        sb = self.sb
        interaction = self._by_webhook(call.params["webhook_id"], call.params["webhook_token"])
        message = self._message_of(interaction, call.params.get("message_id", "@original"))
        was_loading = bool(message.flags & FLAG_LOADING)
        if message.id == interaction.original_message_id:
            interaction.loading = False
        record_as = MESSAGE if was_loading else None
        message = sb.messages.edit(
            message, call.json(), actor=sb.state.bot, record_as=record_as, attachments=call.files
        )
        return ok(sb.messages.payload(message))

    async def delete_message(self, call: Call) -> Reply:
        """DELETE /webhooks/{application_id}/{token}/messages/{message_id or @original}."""
        sb = self.sb
        interaction = self._by_webhook(call.params["webhook_id"], call.params["webhook_token"])
        message = self._message_of(interaction, call.params.get("message_id", "@original"))
        sb.messages.delete(message, actor=sb.state.bot)
        return no_content()


def register(router: Router) -> None:
    """Add the interaction callback and interaction-webhook routes."""

    async def callback(sb: Sandbox, call: Call) -> Reply:
        return await sb.interactions.callback(call)

    async def execute(sb: Sandbox, call: Call) -> Reply:
        return await sb.interactions.execute(call)

    async def get_message(sb: Sandbox, call: Call) -> Reply:
        return await sb.interactions.get_message(call)

    async def edit_message(sb: Sandbox, call: Call) -> Reply:
        return await sb.interactions.edit_message(call)

    async def delete_message(sb: Sandbox, call: Call) -> Reply:
        return await sb.interactions.delete_message(call)

    router.add("POST", "/interactions/{interaction_id}/{interaction_token}/callback", callback, auth=False)
    router.add("POST", "/webhooks/{webhook_id}/{webhook_token}", execute, auth=False)
    for template in (
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    ):
        router.add("GET", template, get_message, auth=False)
        router.add("PATCH", template, edit_message, auth=False)
        router.add("DELETE", template, delete_message, auth=False)
