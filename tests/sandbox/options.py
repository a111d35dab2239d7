"""Build slash-command interaction data from the commands the bot synced, as the Discord client would."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, TYPE_CHECKING

from tests.sandbox import permissions as perms
from tests.sandbox.models import Channel, Command, Guild, Json, Member, Role, THREAD_TYPES, User
from tests.sandbox.snowflakes import snowflake

if TYPE_CHECKING:
    from tests.sandbox.state import SandboxState

log = logging.getLogger(__name__)

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
TYPE_NAMES = {
    STRING: "string",
    INTEGER: "integer",
    BOOLEAN: "boolean",
    USER: "user",
    CHANNEL: "channel",
    ROLE: "role",
    MENTIONABLE: "mentionable",
    NUMBER: "number",
    ATTACHMENT: "attachment",
}
MAX_SAFE_INTEGER = 2**53


@dataclass
class Built:
    """Interaction data for a command, its readable form and the command it targets."""

    command: Command
    data: Json
    label: str
    resolved: Json = field(default_factory=dict)


def find_command(state: SandboxState, name: str, guild: Guild | None) -> Command:
    """Return the synced chat-input command with this top-level name, as the client's picker would."""
    candidates = [c for c in state.commands.values() if c.name == name and c.type == 1]
    scoped = [c for c in candidates if guild is not None and c.guild_id == guild.id]
    global_ = [c for c in candidates if c.guild_id is None]
    found = next(iter(scoped or global_), None)
    if found is None:
        synced = sorted(
            {f"/{c.name}" + (f" (guild {c.guild_id})" if c.guild_id else "") for c in state.commands.values()}
        )
        raise AssertionError(f"/{name} is not a command the bot synced here; synced: {synced or 'none'}")
    return found


def check_visible(state: SandboxState, command: Command, guild: Guild | None, channel: Channel, user: User) -> None:
    """Fail like the Discord client hides a command: wrong context or missing default member permissions."""
    if guild is None:
        contexts = (
            command.contexts
            if command.contexts is not None
            else ([0, 1] if command.dm_permission is not False else [0])
        )
        if 1 not in contexts or command.guild_id is not None:
            raise AssertionError(f"/{command.name} is not available in DMs (contexts {contexts})")
        return
    if command.contexts is not None and 0 not in command.contexts:
        raise AssertionError(f"/{command.name} is not available in servers (contexts {command.contexts})")
    required = command.default_member_permissions
    if required is None:
        return
    have = state.permissions_in(channel, user.id)
    needed = int(required)
    if not have & perms.ADMINISTRATOR and (needed == 0 or have & needed != needed):
        raise AssertionError(
            f"/{command.name} needs permissions {needed:#x} (default_member_permissions); "
            f"the member has {have:#x} in #{channel.name}, so Discord would not show it"
        )


def build(
    state: SandboxState,
    command: Command,
    path: list[str],
    values: dict[str, Any],
    *,
    guild: Guild | None,
    channel: Channel,
    user: User,
    focused: str | None = None,
) -> Built:
    """Validate options against the synced command and return the interaction `data` object."""
    resolved: dict[str, dict[str, Json]] = {}
    builder = _Builder(state, guild, channel, user, resolved)
    options, label_parts = builder.walk(command.name, command.options or [], path, dict(values), focused)
    data: Json = {"id": str(command.id), "name": command.name, "type": 1}
    if options:
        data["options"] = options
    if resolved:
        data["resolved"] = resolved
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    return Built(command=command, data=data, label="/" + " ".join(label_parts), resolved=resolved)


class _Builder:
    def __init__(
        self,
        state: SandboxState,
        guild: Guild | None,
        channel: Channel,
        user: User,
        resolved: dict[str, dict[str, Json]],
    ) -> None:
        self.state = state
        self.guild = guild
        self.channel = channel
        self.user = user
        self.resolved = resolved

    def walk(
        self, name: str, options: list[Json], path: list[str], values: dict[str, Any], focused: str | None
    ) -> tuple[list[Json], list[str]]:
        subs = {o["name"]: o for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)}
        if subs:
            if not path:
                raise AssertionError(f"'{name}' needs a subcommand: one of {sorted(subs)}")
            sub = subs.get(path[0])
            if sub is None:
                raise AssertionError(f"'{name}' has no subcommand {path[0]!r}; it has {sorted(subs)}")
            inner, label = self.walk(sub["name"], sub.get("options") or [], path[1:], values, focused)
            entry: Json = {"type": sub["type"], "name": sub["name"]}
            entry["options"] = inner
            return [entry], [name, *label]
        if path:
            raise AssertionError(f"'{name}' has no subcommands, but {' '.join(path)!r} was given")
        by_name = {o["name"]: o for o in options}
        unknown = set(values) - set(by_name)
        if unknown:
            raise AssertionError(f"'{name}' has no option(s) {sorted(unknown)}; it has {sorted(by_name)}")
        if focused is not None:
            spec = by_name.get(focused)
            if spec is None or not spec.get("autocomplete"):
                raise AssertionError(f"option {focused!r} of '{name}' does not use autocomplete")
        result: list[Json] = []
        label = [name]
        for spec in options:
            key = spec["name"]
            if key not in values:
                if spec.get("required") and focused is None:
                    raise AssertionError(f"'{name}' needs option {key!r} (required)")
                continue
            if key == focused:
                # While typing, the client sends the raw text of the focused option.
                result.append({"type": spec["type"], "name": key, "value": str(values[key]), "focused": True})
                label.append(f"{key}:{values[key]!r}…")
                continue
            value = self.convert(name, spec, values[key], partial=focused is not None)
            result.append({"type": spec["type"], "name": key, "value": value})
            label.append(f"{key}:{_show(values[key])}")
        return result, label

    def convert(self, command: str, spec: Json, value: Any, *, partial: bool) -> Any:
        kind = spec["type"]
        where = f"option {spec['name']!r} of '{command}' ({TYPE_NAMES.get(kind, kind)})"
        if kind == STRING:
            if not isinstance(value, str):
                raise AssertionError(f"{where} takes text, got {value!r}")
            if len(value) < spec.get("min_length", 0) or len(value) > spec.get("max_length", 6000):
                raise AssertionError(f"{where} must be {spec.get('min_length', 0)}-{spec.get('max_length', 6000)} long")
            self._check_choice(where, spec, value)
            return value
        if kind in (INTEGER, NUMBER):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise AssertionError(f"{where} takes a number, got {value!r}")
            if kind == INTEGER and not isinstance(value, int):
                raise AssertionError(f"{where} takes a whole number, got {value!r}")
            low = spec.get("min_value", -MAX_SAFE_INTEGER)
            high = spec.get("max_value", MAX_SAFE_INTEGER)
            if not low <= value <= high:
                raise AssertionError(f"{where} must be between {low} and {high}, got {value}")
            self._check_choice(where, spec, value)
            return value
        if kind == BOOLEAN:
            if not isinstance(value, bool):
                raise AssertionError(f"{where} takes True or False, got {value!r}")
            return value
        if kind == USER:
            return str(self._user(where, value))
        if kind == ROLE:
            return str(self._role(where, value))
        if kind == MENTIONABLE:
            if isinstance(value, Role):
                return str(self._role(where, value))
            return str(self._user(where, value))
        if kind == CHANNEL:
            return str(self._channel(where, spec, value))
        if kind == ATTACHMENT:
            return str(self._attachment(where, value))
        raise AssertionError(f"{where}: unsupported option type")

    @staticmethod
    def _check_choice(where: str, spec: Json, value: Any) -> None:
        choices = spec.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            names = [f"{c['name']}={c['value']!r}" for c in choices]
            raise AssertionError(f"{where} must be one of the choices {names}, got {value!r}")

    def _user(self, where: str, value: Any) -> int:
        state = self.state
        user_id = value.id if isinstance(value, (User, Member)) else value
        user = state.users.get(int(user_id)) if str(user_id).isdigit() else None
        if user is None:
            raise AssertionError(f"{where}: unknown user {value!r}")
        self.resolved.setdefault("users", {})[str(user.id)] = user.payload()
        if self.guild is not None and user.id in self.guild.members:
            member = self.guild.members[user.id]
            member_perms = self.state.permissions_in(self.channel, user.id)
            self.resolved.setdefault("members", {})[str(user.id)] = member.payload(
                with_user=False, permissions=member_perms
            )
        return user.id

    def _role(self, where: str, value: Any) -> int:
        role_id = value.id if isinstance(value, Role) else value
        role = self.guild.roles.get(int(role_id)) if self.guild is not None and str(role_id).isdigit() else None
        if role is None:
            raise AssertionError(f"{where}: unknown role {value!r} in this guild")
        self.resolved.setdefault("roles", {})[str(role.id)] = role.payload()
        return role.id

    def _channel(self, where: str, spec: Json, value: Any) -> int:
        channel_id = value.id if isinstance(value, Channel) else value
        channel = self.state.channels.get(int(channel_id)) if str(channel_id).isdigit() else None
        if channel is None or self.guild is None or channel.guild_id != self.guild.id or channel.deleted:
            raise AssertionError(f"{where}: unknown channel {value!r} in this guild")
        allowed = spec.get("channel_types")
        if allowed and channel.type not in allowed:
            raise AssertionError(f"{where} accepts channel types {allowed}, #{channel.name} is type {channel.type}")
        data = channel.payload()
        data["permissions"] = str(self.state.permissions_in(channel, self.user.id))
        if channel.type in THREAD_TYPES:
            data["guild_id"] = str(channel.guild_id)
        self.resolved.setdefault("channels", {})[str(channel.id)] = data
        return channel.id

    def _attachment(self, where: str, value: Any) -> int:
        if not isinstance(value, dict) or "filename" not in value:
            raise AssertionError(f"{where} takes a dict with at least 'filename' (and 'size', 'content_type')")
        attachment_id = snowflake()
        size = value.get("size", 0)
        # The bytes a bot downloads: the test's own, or as many zero bytes as the size says.
        self.state.attachments[attachment_id] = value.get("content", b"\0" * size)
        url = f"{self.state.attachment_base}/ephemeral-attachments/{attachment_id}/{value['filename']}"
        self.resolved.setdefault("attachments", {})[str(attachment_id)] = {
            "id": str(attachment_id),
            "filename": value["filename"],
            "size": size,
            "content_type": value.get("content_type", "application/octet-stream"),
            "url": url,
            "proxy_url": url,
            "ephemeral": True,
        }
        return attachment_id


def _show(value: Any) -> str:
    if isinstance(value, Member):
        return "@" + value.display_name
    if isinstance(value, User):
        return "@" + value.display_name
    if isinstance(value, Role):
        return "@" + value.name
    if isinstance(value, Channel):
        return "#" + str(value.name)
    return repr(value)
