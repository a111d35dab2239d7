"""The test API: build a server, then act as the people in it (commands, clicks, modals, voice, messages)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, TYPE_CHECKING

from tests.sandbox import options as command_options, permissions as perms
from tests.sandbox.handles import InteractionHandle, MODAL
from tests.sandbox.messages import walk_components
from tests.sandbox.models import (
    Channel,
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    Guild,
    Json,
    Member,
    Message,
    Overwrite,
    Role,
    ScheduledEvent,
    User,
    VOICE_TYPES,
)
from tests.sandbox.routes_invites import accept_invite
from tests.sandbox.transcript import AUTOCOMPLETE, CLICK, COMMAND, MODAL_SUBMIT, NOTE, SELECT

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox
    from tests.sandbox.state import SandboxState

log = logging.getLogger(__name__)

CHANNEL_KINDS = {
    "text": GUILD_TEXT,
    "voice": GUILD_VOICE,
    "stage": GUILD_STAGE_VOICE,
    "category": GUILD_CATEGORY,
    "announcement": GUILD_ANNOUNCEMENT,
}
SELECT_TYPES = {3, 5, 6, 7, 8}
TEXT_INPUT = 4


class Actors:
    """Everything a test does as a server admin or a member; misuse fails with a clear AssertionError."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    @property
    def _state(self) -> SandboxState:
        return self.sb.state

    # Building the world.

    async def create_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: User | None = None,
        bot_permissions: Any = perms.DEFAULT_BOT,
        everyone_permissions: Any = None,
        system_channel: str | None = None,
    ) -> Guild:
        """Create a guild (with @everyone, the bot's managed role, and a system channel if named); add the bot."""
        state = self._state
        owner = owner or state.add_user("owner", global_name="Server Owner")
        guild = state.create_guild(
            name, owner=owner, bot_permissions=perms.as_int(bot_permissions), system_channel=system_channel
        )
        if everyone_permissions is not None:
            guild.everyone.permissions = perms.as_int(everyone_permissions)
        return guild

    async def create_channel(
        self,
        guild: Guild,
        name: str,
        *,
        kind: str = "text",
        category: Channel | None = None,
        topic: str | None = None,
    ) -> Channel:
        """Create a text, voice, stage, category or announcement channel."""
        if kind not in CHANNEL_KINDS:
            raise AssertionError(f"kind must be one of {sorted(CHANNEL_KINDS)}, got {kind!r}")
        if category is not None and category.type != GUILD_CATEGORY:
            raise AssertionError(f"#{category.name} is not a category")
        return self._state.create_channel(guild, name, type=CHANNEL_KINDS[kind], parent=category, topic=topic)

    async def create_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: Any = 0,
        mentionable: bool = False,
        hoist: bool = False,
        position: int | None = None,
    ) -> Role:
        """Create a role (just above @everyone unless a position is given)."""
        return self._state.create_role(
            guild, name, permissions=perms.as_int(permissions), mentionable=mentionable, hoist=hoist, position=position
        )

    async def edit_role(self, guild: Guild, role: Role, **changes: Any) -> Role:
        """Change a role (name, permissions, mentionable, hoist, color) as an admin would."""
        if "permissions" in changes:
            changes["permissions"] = perms.as_int(changes["permissions"])
        unknown = set(changes) - {"name", "permissions", "mentionable", "hoist", "color", "position"}
        if unknown:
            raise AssertionError(f"cannot change {sorted(unknown)} on a role")
        return self._state.update_role(guild, role, **changes)

    async def create_member(
        self,
        guild: Guild,
        username: str,
        *,
        display_name: str | None = None,
        roles: Iterable[Role] = (),
        nick: str | None = None,
        dms_open: bool = True,
    ) -> Member:
        """Create a user and make them a member of the guild."""
        state = self._state
        user = state.add_user(username, global_name=display_name or username.capitalize())
        user.dms_open = dms_open
        return state.add_member(guild, user, roles=list(roles), nick=nick)

    async def join_guild(self, guild: Guild, user: User, *, roles: Iterable[Role] = ()) -> Member:
        """Make an existing user a member of another guild."""
        if user.id in guild.members:
            raise AssertionError(f"{user.display_name} is already in {guild.name}")
        return self._state.add_member(guild, user, roles=list(roles))

    async def join_via_invite(self, code: str, user: User | str) -> Member:
        """Join the invite's guild through it as `user` (a username makes a new user), as Discord's client would."""
        if isinstance(user, str):
            user = self._state.add_user(user, global_name=user.capitalize())
        return accept_invite(self.sb, code, user)

    async def set_roles(self, member: Member, roles: Iterable[Role]) -> None:
        """Replace a member's roles, as an admin would in the server settings."""
        guild = self._state.guild(member.guild_id)
        self._state.set_member_roles(guild, member, [r.id for r in roles], by="admin")

    async def set_overwrite(
        self, channel: Channel, target: Role | Member | Guild, *, allow: Any = 0, deny: Any = 0
    ) -> None:
        """Set a channel permission overwrite for a role, a member or @everyone (pass the guild)."""
        if channel.guild_id is None:
            raise AssertionError("DM channels have no permission overwrites")
        # @everyone's overwrite is a role overwrite keyed by the guild id.
        kind = 0 if isinstance(target, (Guild, Role)) else 1
        overwrite = Overwrite(id=target.id, type=kind, allow=perms.as_int(allow), deny=perms.as_int(deny))
        self._state.set_overwrite(channel, overwrite, target_id=overwrite.id)

    async def remove_overwrite(self, channel: Channel, target: Role | Member | Guild) -> None:
        """Remove a channel permission overwrite."""
        self._state.set_overwrite(channel, None, target_id=target.id)

    async def set_bot_permissions(self, guild: Guild, permissions: Any) -> None:
        """Change the permissions of the bot's managed role."""
        role = next(r for r in guild.roles.values() if r.bot_id == self._state.bot.id)
        self._state.update_role(guild, role, permissions=perms.as_int(permissions))

    async def set_dms_open(self, who: Member | User, open_: bool) -> None:
        """Switch a user's 'allow DMs from server members' privacy setting."""
        user = who.user if isinstance(who, Member) else who
        user.dms_open = open_

    # Acting: application commands.

    def _where(self, guild: Guild | None, who: Member | User, channel: Channel | None) -> tuple[User, Channel]:
        state = self._state
        user = who.user if isinstance(who, Member) else who
        if guild is None:
            return user, channel or state.dm_channel(user)
        if user.id not in guild.members:
            raise AssertionError(f"{user.display_name} is not a member of {guild.name}")
        if channel is None:
            texts = [c for c in guild.channels.values() if c.type == GUILD_TEXT and not c.deleted]
            if not texts:
                raise AssertionError(f"{guild.name} has no text channel; pass channel=")
            channel = next((c for c in texts if c.id == guild.system_channel_id), texts[0])
        if channel.guild_id != guild.id:
            raise AssertionError(f"#{channel.name} is not in {guild.name}")
        if not state.permissions_in(channel, user.id) & perms.VIEW_CHANNEL:
            raise AssertionError(f"{user.display_name} cannot see #{channel.name}")
        return user, channel

    async def invoke(
        self,
        guild: Guild | None,
        member: Member | User,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: Channel | None = None,
    ) -> InteractionHandle:
        """Use a slash command the bot synced ('group sub' for subcommands), with validated options."""
        state = self._state
        user, where = self._where(guild, member, channel)
        names = command.strip().lstrip("/").split()
        found = command_options.find_command(state, names[0], guild)
        command_options.check_visible(state, found, guild, where, user)
        if not state.permissions_in(where, user.id) & perms.USE_APPLICATION_COMMANDS and guild is not None:
            raise AssertionError(f"{user.display_name} lacks Use Application Commands in #{where.name}")
        built = command_options.build(
            state, found, names[1:], dict(options or {}), guild=guild, channel=where, user=user
        )
        who = state.display_name(user, guild.id if guild else None)
        state.transcript.add(
            COMMAND, who, state.where(where), f"used {built.label}", actor_id=user.id, channel_id=where.id
        )
        interaction = self.sb.interactions.create(
            type=2, user=user, guild=guild, channel=where, data=built.data, label=built.label
        )
        return InteractionHandle(self.sb, interaction)

    async def autocomplete(
        self,
        guild: Guild | None,
        member: Member | User,
        command: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        channel: Channel | None = None,
        timeout: float | None = None,
    ) -> list[Json]:
        """Type into an autocomplete option and return the choices the bot offers."""
        state = self._state
        user, where = self._where(guild, member, channel)
        names = command.strip().lstrip("/").split()
        found = command_options.find_command(state, names[0], guild)
        command_options.check_visible(state, found, guild, where, user)
        values = dict(options)
        values.setdefault(focused, "")
        built = command_options.build(
            state, found, names[1:], values, guild=guild, channel=where, user=user, focused=focused
        )
        who = state.display_name(user, guild.id if guild else None)
        state.transcript.add(AUTOCOMPLETE, who, state.where(where), f"typing in {built.label}", actor_id=user.id)
        interaction = self.sb.interactions.create(
            type=4, user=user, guild=guild, channel=where, data=built.data, label=built.label
        )
        handle = InteractionHandle(self.sb, interaction)
        await handle.response(timeout=timeout)
        return handle.choices or []

    # Acting: components and modals.

    def _message_guild(self, message: Message, who: Member | User) -> tuple[User, Channel, Guild | None]:
        state = self._state
        user = who.user if isinstance(who, Member) else who
        if message.deleted:
            raise AssertionError(f"message {message.id} was deleted")
        channel = state.channels[message.channel_id]
        if message.ephemeral and message.ephemeral_to != user.id:
            raise AssertionError(f"{user.display_name} cannot see that ephemeral message")
        guild = state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        if guild is not None:
            self._where(guild, user, channel)
        elif user.id not in channel.recipient_ids:
            raise AssertionError(f"{user.display_name} is not in that DM")
        return user, channel, guild

    async def click(
        self, member: Member | User, message: Message, *, label: str | None = None, custom_id: str | None = None
    ) -> InteractionHandle:
        """Click a button on a message, found by its label or custom_id."""
        if (label is None) == (custom_id is None):
            raise AssertionError("click needs exactly one of label= or custom_id=")
        user, channel, guild = self._message_guild(message, member)
        buttons = [c for c in walk_components(message.components) if c.get("type") == 2]
        matches = [
            b
            for b in buttons
            if (label is not None and b.get("label") == label)
            or (custom_id is not None and b.get("custom_id") == custom_id)
        ]
        if not matches:
            shown = [b.get("label") or b.get("custom_id") for b in buttons]
            raise AssertionError(f"no button {label or custom_id!r} on message {message.id}; buttons: {shown}")
        button = matches[0]
        if button.get("disabled"):
            raise AssertionError(f"button {label or custom_id!r} is disabled")
        if button.get("style") in (5, 6) or "custom_id" not in button:
            raise AssertionError(f"button {label or custom_id!r} is a link/premium button: it sends no interaction")
        data = {"custom_id": button["custom_id"], "component_type": 2, "id": button.get("id")}
        text = f"clicked [{button.get('label') or button['custom_id']}] on message {message.id}"
        return self._component(user, channel, guild, message, data, CLICK, text)

    async def select(
        self, member: Member | User, message: Message, values: Iterable[Any], *, custom_id: str | None = None
    ) -> InteractionHandle:
        """Choose values in a select menu of a message (string values, or users/roles/channels)."""
        user, channel, guild = self._message_guild(message, member)
        selects = [c for c in walk_components(message.components) if c.get("type") in SELECT_TYPES]
        if custom_id is not None:
            selects = [s for s in selects if s.get("custom_id") == custom_id]
        if len(selects) != 1:
            ids = [s.get("custom_id") for s in selects]
            raise AssertionError(f"need exactly one matching select on message {message.id}, found {ids}")
        menu = selects[0]
        if menu.get("disabled"):
            raise AssertionError(f"select {menu.get('custom_id')} is disabled")
        chosen, resolved = self._select_values(menu, list(values), guild, channel, user)
        data: Json = {
            "custom_id": menu["custom_id"],
            "component_type": menu["type"],
            "values": chosen,
            "id": menu.get("id"),
        }
        if resolved:
            data["resolved"] = resolved
        text = f"chose {chosen} in select {menu['custom_id']} on message {message.id}"
        return self._component(user, channel, guild, message, data, SELECT, text)

    def _select_values(
        self, menu: Json, values: list[Any], guild: Guild | None, channel: Channel, user: User
    ) -> tuple[list[str], Json]:
        low, high = menu.get("min_values", 1), menu.get("max_values", 1)
        if not low <= len(values) <= high:
            raise AssertionError(f"select {menu.get('custom_id')} takes {low}-{high} values, got {len(values)}")
        if menu["type"] == 3:
            allowed = [o["value"] for o in menu.get("options", [])]
            for value in values:
                if value not in allowed:
                    raise AssertionError(f"{value!r} is not an option of select {menu.get('custom_id')}: {allowed}")
            return [str(v) for v in values], {}
        resolved: dict[str, dict[str, Json]] = {}
        builder = command_options._Builder(self._state, guild, channel, user, resolved)
        spec = {"name": menu.get("custom_id"), "type": 0, "channel_types": menu.get("channel_types")}
        chosen = []
        for value in values:
            if menu["type"] == 5 or (menu["type"] == 7 and not isinstance(value, Role)):
                chosen.append(str(builder._user("select", value)))
            elif menu["type"] == 6 or menu["type"] == 7:
                chosen.append(str(builder._role("select", value)))
            else:
                chosen.append(str(builder._channel("select", spec, value)))
        return chosen, resolved

    def _component(
        self, user: User, channel: Channel, guild: Guild | None, message: Message, data: Json, kind: str, text: str
    ) -> InteractionHandle:
        state = self._state
        who = state.display_name(user, guild.id if guild else None)
        state.transcript.add(kind, who, state.where(channel), text, actor_id=user.id, channel_id=channel.id)
        label = f"[{data.get('custom_id')}]"
        interaction = self.sb.interactions.create(
            type=3, user=user, guild=guild, channel=channel, data=data, message=message, label=label
        )
        return InteractionHandle(self.sb, interaction)

    async def submit_modal(self, opened: InteractionHandle, values: Mapping[str, Any]) -> InteractionHandle:
        """Fill in and submit the modal the bot opened in answer to `opened` (keys: custom_id or label)."""
        state = self._state
        source = opened.interaction
        if source.response_type != MODAL:
            await opened.response()
        modal = opened.modal
        if modal is None:
            raise AssertionError(f"the bot did not open a modal for {source.label}")
        remaining = dict(values)
        components = [self._fill(c, remaining, None) for c in modal.get("components") or []]
        if remaining:
            raise AssertionError(f"modal {modal.get('title')!r} has no field(s) {sorted(remaining)}")
        data = {"custom_id": modal["custom_id"], "components": [c for c in components if c is not None]}
        channel = state.channels[source.channel_id]
        guild = state.guilds.get(source.guild_id) if source.guild_id is not None else None
        message = state.messages.get(source.message_id) if source.message_id is not None else None
        who = state.display_name(source.user, source.guild_id)
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        state.transcript.add(
            MODAL_SUBMIT,
            who,
            state.where(channel),
            f"submitted modal {modal.get('title')!r}: {shown}",
            actor_id=source.user.id,
            channel_id=channel.id,
        )
        interaction = self.sb.interactions.create(
            type=5,
            user=source.user,
            guild=guild,
            channel=channel,
            data=data,
            message=message,
            modal_source=source,
            label=f"modal {modal.get('title')!r}",
        )
        return InteractionHandle(self.sb, interaction)

    def _fill(self, component: Json, values: dict[str, Any], label: str | None) -> Json | None:
        kind = component.get("type")
        if kind == 1:
            inner = [self._fill(c, values, label) for c in component.get("components") or []]
            return {"type": 1, "id": component.get("id"), "components": [c for c in inner if c is not None]}
        if kind == 18:
            wrapped = self._fill(component["component"], values, component.get("label"))
            return {"type": 18, "id": component.get("id"), "component": wrapped}
        if kind == TEXT_INPUT:
            field_label = label or component.get("label")
            key = component["custom_id"] if component["custom_id"] in values else field_label
            value = values.pop(key, None) if key in values else None
            required = component.get("required", True)
            if value is None:
                if required:
                    raise AssertionError(f"modal field {field_label!r} ({component['custom_id']}) is required")
                value = ""
            if not isinstance(value, str):
                raise AssertionError(f"modal field {field_label!r} takes text, got {value!r}")
            low, high = component.get("min_length", 0), component.get("max_length", 4000)
            if value and not low <= len(value) <= high:
                raise AssertionError(f"modal field {field_label!r} must be {low}-{high} characters, got {len(value)}")
            return {"type": TEXT_INPUT, "id": component.get("id"), "custom_id": component["custom_id"], "value": value}
        if kind in SELECT_TYPES:
            key = component["custom_id"] if component["custom_id"] in values else label
            chosen = values.pop(key, None) if key in values else None
            if chosen is None:
                chosen = []
            if isinstance(chosen, str):
                chosen = [chosen]
            return {
                "type": kind,
                "id": component.get("id"),
                "custom_id": component["custom_id"],
                "values": [str(v) for v in chosen],
            }
        if kind == 10:
            return {"type": 10, "id": component.get("id")}
        return None

    # Acting: messages, voice, events, connection.

    async def post(
        self, member: Member | User, channel: Channel, content: str, *, reply_to: Message | None = None
    ) -> Message:
        """Post a message as a member (or as a user in their DM with the bot)."""
        state = self._state
        user = member.user if isinstance(member, Member) else member
        if channel.is_dm:
            if user.id not in channel.recipient_ids:
                raise AssertionError(f"{user.display_name} is not in that DM")
        else:
            guild = state.guild(channel.guild_id or 0)
            self._where(guild, user, channel)
            needed = perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES
            if not state.permissions_in(channel, user.id) & needed:
                raise AssertionError(f"{user.display_name} cannot send messages in #{channel.name}")
            if channel.is_thread and channel.locked:
                raise AssertionError(f"#{channel.name} is locked")
            if channel.is_thread and channel.archived:
                channel.archived = False
                state.dispatch(
                    "THREAD_UPDATE", channel.payload() | {"guild_id": str(channel.guild_id)}, guild_id=channel.guild_id
                )
        body: Json = {"content": content}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id), "channel_id": str(reply_to.channel_id)}
        return self.sb.messages.create(channel, user, body)

    async def dm_bot(self, who: Member | User, content: str) -> Message:
        """Send the bot a direct message."""
        user = who.user if isinstance(who, Member) else who
        return await self.post(user, self._state.dm_channel(user), content)

    async def voice_join(self, member: Member, channel: Channel) -> None:
        """Join a voice or stage channel."""
        state = self._state
        if channel.type not in VOICE_TYPES:
            raise AssertionError(f"#{channel.name} is not a voice or stage channel")
        guild = state.guild(member.guild_id)
        if channel.guild_id != guild.id:
            raise AssertionError(f"#{channel.name} is not in {guild.name}")
        if state.permissions_in(channel, member.id) & (perms.VIEW_CHANNEL | perms.CONNECT) != (
            perms.VIEW_CHANNEL | perms.CONNECT
        ):
            raise AssertionError(f"{member.display_name} cannot connect to #{channel.name}")
        current = guild.voice_states.get(member.id)
        if current is not None and current.channel_id == channel.id:
            raise AssertionError(f"{member.display_name} is already in #{channel.name}")
        state.set_voice(guild, member, channel)

    async def voice_move(self, member: Member, channel: Channel) -> None:
        """Move from one voice channel to another."""
        guild = self._state.guild(member.guild_id)
        if member.id not in guild.voice_states:
            raise AssertionError(f"{member.display_name} is not in a voice channel")
        await self.voice_join(member, channel)

    async def voice_leave(self, member: Member) -> None:
        """Leave voice."""
        guild = self._state.guild(member.guild_id)
        self._state.set_voice(guild, member, None)

    async def subscribe(self, member: Member, event: ScheduledEvent, *, interested: bool = True) -> None:
        """Mark (or with interested=False unmark) a scheduled event as interested."""
        state = self._state
        if event.guild_id != member.guild_id:
            raise AssertionError("that event is in another guild")
        if interested == (member.id in event.subscribers):
            return
        (event.subscribers.add if interested else event.subscribers.discard)(member.id)
        name = "GUILD_SCHEDULED_EVENT_USER_ADD" if interested else "GUILD_SCHEDULED_EVENT_USER_REMOVE"
        data = {"guild_scheduled_event_id": str(event.id), "user_id": str(member.id), "guild_id": str(event.guild_id)}
        state.dispatch(name, data, guild_id=event.guild_id)
        verb = "is interested in" if interested else "is no longer interested in"
        state.transcript.add(NOTE, member.display_name, state.guild(event.guild_id).name, f"{verb} {event.name!r}")

    async def drop_connection(self, session_ids: list[str] | None = None) -> int:
        """Cut the bot's gateway connection(s) without a close frame; discord.py then RESUMEs."""
        dropped = self.sb.gateway.drop(session_ids)
        if not dropped:
            raise AssertionError("no connected gateway session to drop")
        return dropped
