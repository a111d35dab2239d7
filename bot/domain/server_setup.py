"""What a SMART group's server needs, as plain data: its channels and roles, who sees what, what the bot needs where.

`/setup start` applies this plan (creating what is missing, adopting what exists) and `/setup check` compares a
server with it. The setup cog reads the server into the plain facts below and turns the plan into Discord calls;
nothing here knows Discord. Permissions are named as Discord's API names them (`view_channel`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.guild import FIELD_LABELS

# How Discord's own settings screens label each permission, so a fix names what the admin will see there.
PERMISSION_LABELS: dict[str, str] = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "manage_threads": "Manage Threads",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "read_message_history": "Read Message History",
    "manage_events": "Manage Events",
    "manage_roles": "Manage Roles",
    "manage_channels": "Manage Channels",
    "connect": "Connect",
}

# The meetings channel: the bot posts announcements and reminders, starts a thread per meeting, runs it there
# (panels, tool cards, worksheets) and archives it afterwards.
MEETINGS_NEEDS = (
    "view_channel",
    "send_messages",
    "send_messages_in_threads",
    "create_public_threads",
    "manage_threads",
    "embed_links",
    "attach_files",
    "read_message_history",
)
# The private channels: alerts, cover requests, rota posts; the bot reads its own posts back to update them.
PRIVATE_NEEDS = ("view_channel", "send_messages", "embed_links", "read_message_history")
# A voice or stage channel that meetings use: each meeting is mirrored as a scheduled event there, which Discord
# allows only to someone who can see and connect to the channel.
VOICE_NEEDS = ("view_channel", "connect", "manage_events")
# Server-wide: giving members the opt-in reminder role, making the staff roles mentionable.
SERVER_NEEDS = ("manage_roles",)
# Only `/setup start` needs these: it creates channels, with overwrites (which need Manage Roles, above).
SETUP_NEEDS = ("manage_channels",)

# What a role listed in a private channel's `private_to` may do there.
MEMBER_ACCESS = ("view_channel", "send_messages", "read_message_history")

SERVER_ROLES_PATH = "Server Settings → Roles"
# How `GuildSettings.missing` names the time zone, which set-up asks for rather than creates.
TIME_ZONE_LABEL = FIELD_LABELS["timezone"]


class ItemKind(StrEnum):
    """What sort of thing a planned item is."""

    TEXT = "text"
    VOICE = "voice"
    ROLE = "role"


@dataclass(frozen=True)
class PlannedItem:
    """A channel or role a group needs.

    `key` is the group setting that records it (a `GuildSettings` field), or `VOICE_KEY` for the voice channel,
    which is found by name (meetings each name their own channel). A private channel is hidden from @everyone
    and shown to the roles in `private_to` (setting keys) and the bot.
    """

    key: str
    name: str
    kind: ItemKind
    label: str
    purpose: str
    bot_needs: tuple[str, ...] = ()
    private_to: tuple[str, ...] = ()
    mentionable: bool = False

    @property
    def private(self) -> bool:
        """Return whether the channel is hidden from @everyone."""
        return bool(self.private_to)


VOICE_KEY = "voice_channel"

FACILITATOR_ROLE = PlannedItem(
    "facilitator_role_id",
    "Facilitator",
    ItemKind.ROLE,
    "facilitator role",
    "for trained facilitators, who run meetings and are alerted when a member needs help",
    mentionable=True,
)
COORDINATOR_ROLE = PlannedItem(
    "coordinator_role_id",
    "Coordinator",
    ItemKind.ROLE,
    "coordinator role",
    "for the group's coordinators, who look after the rota, cover and settings",
    mentionable=True,
)
REMINDER_ROLE = PlannedItem(
    "reminder_role_id",
    "Meeting reminders",
    ItemKind.ROLE,
    "reminder role",
    "for members who ask for meeting reminders with `/meeting remind-me`",
    mentionable=True,
)
MEETINGS_CHANNEL = PlannedItem(
    "meetings_channel_id",
    "meetings",
    ItemKind.TEXT,
    "meetings channel",
    "SMART Recovery meetings: announcements, reminders and a thread for each meeting.",
    bot_needs=MEETINGS_NEEDS,
)
FACILITATORS_CHANNEL = PlannedItem(
    "facilitators_channel_id",
    "facilitators",
    ItemKind.TEXT,
    "facilitators' channel",
    "Private to facilitators and coordinators: the rota, cover requests and members' alerts.",
    bot_needs=PRIVATE_NEEDS,
    private_to=(FACILITATOR_ROLE.key, COORDINATOR_ROLE.key),
)
COORDINATORS_CHANNEL = PlannedItem(
    "coordinators_channel_id",
    "coordinators",
    ItemKind.TEXT,
    "coordinators' channel",
    "Private to coordinators: uncovered meetings and alerts nobody took.",
    bot_needs=PRIVATE_NEEDS,
    private_to=(COORDINATOR_ROLE.key,),
)
VOICE_CHANNEL = PlannedItem(
    VOICE_KEY,
    "Meeting room",
    ItemKind.VOICE,
    "voice channel for meetings",
    "where meetings are held",
    bot_needs=VOICE_NEEDS,
)

# Roles first: the private channels' overwrites name them.
ROLES = (FACILITATOR_ROLE, COORDINATOR_ROLE, REMINDER_ROLE)
CHANNELS = (MEETINGS_CHANNEL, FACILITATORS_CHANNEL, COORDINATORS_CHANNEL, VOICE_CHANNEL)
PLAN = (*ROLES, *CHANNELS)
BY_KEY = {item.key: item for item in PLAN}


def invite_permission_names() -> frozenset[str]:
    """Return every permission the bot needs anywhere: what the invite link asks for, and nothing more."""
    return frozenset(
        name for needs in (SERVER_NEEDS, SETUP_NEEDS, *(item.bot_needs for item in CHANNELS)) for name in needs
    )


# Overwrites of a private channel: who they are for ("everyone", "bot", or a role's setting key) and what they do.


@dataclass(frozen=True)
class PlannedOverwrite:
    """One permission overwrite a private channel is created with."""

    target: str
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


EVERYONE = "everyone"
BOT = "bot"


def overwrites_for(item: PlannedItem) -> tuple[PlannedOverwrite, ...]:
    """Return the overwrites a new channel gets: private ones hide from @everyone, show to their roles and the bot."""
    if not item.private:
        return ()
    return (
        PlannedOverwrite(EVERYONE, deny=("view_channel",)),
        PlannedOverwrite(BOT, allow=item.bot_needs),
        *(PlannedOverwrite(role_key, allow=MEMBER_ACCESS) for role_key in item.private_to),
    )


# Adopting what exists.


@dataclass(frozen=True)
class Existing:
    """A channel or role the server has: its id, name and kind."""

    id: int
    name: str
    kind: ItemKind


def same_name(first: str, second: str) -> bool:
    """Return whether two channel or role names are the same to a person ("Meeting room" is "#meeting-room")."""
    return _plain(first) == _plain(second)


def _plain(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", name.strip().lstrip("#").casefold()).strip()


@dataclass(frozen=True)
class Step:
    """What set-up does for one planned item: use `existing_id`, or create it when that is None."""

    item: PlannedItem
    existing_id: int | None = None
    existing_name: str | None = None

    @property
    def create(self) -> bool:
        """Return whether the item has to be created."""
        return self.existing_id is None


@dataclass(frozen=True)
class SetupPlan:
    """Every planned item, each with what exists for it."""

    steps: tuple[Step, ...]

    @property
    def to_create(self) -> tuple[Step, ...]:
        """Return the steps that create something."""
        return tuple(step for step in self.steps if step.create)

    @property
    def to_adopt(self) -> tuple[Step, ...]:
        """Return the steps that use something the server already has."""
        return tuple(step for step in self.steps if not step.create)


def plan_setup(saved: Mapping[str, int | None], existing: Sequence[Existing]) -> SetupPlan:
    """Match each planned item with what the server has: the saved one first, then one of the same name and kind.

    Nothing is used twice (a role saved as both facilitator and coordinator role is the facilitator role only).
    """
    taken: set[int] = set()
    steps = []
    for item in PLAN:
        candidates = [thing for thing in existing if thing.kind == item.kind and thing.id not in taken]
        saved_id = saved.get(item.key)
        found = next((thing for thing in candidates if thing.id == saved_id), None)
        if found is None:
            found = next((thing for thing in candidates if same_name(thing.name, item.name)), None)
        if found is None:
            steps.append(Step(item))
            continue
        taken.add(found.id)
        steps.append(Step(item, found.id, found.name))
    return SetupPlan(tuple(steps))


# Checking a server.


@dataclass(frozen=True)
class ChannelFacts:
    """What the bot found about one channel the group uses.

    `key` names the planned item it stands for (a meeting's own channel uses the plan of its kind); `exists` is
    False for a saved channel that is gone; `bot_has` holds the bot's permissions there; `everyone_can_view` and
    `roles_without_view` (role names) matter for private channels only.
    """

    key: str
    name: str
    exists: bool = True
    bot_has: frozenset[str] = frozenset()
    everyone_can_view: bool = False
    roles_without_view: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleFacts:
    """What the bot found about one of the group's roles: whether it still exists, sits above the bot's, pings."""

    key: str
    name: str
    exists: bool = True
    above_bot: bool = False
    mentionable: bool = True


@dataclass(frozen=True)
class ServerFacts:
    """Everything `/setup check` looks at, read from the server by the cog."""

    bot_role: str
    bot_permissions: frozenset[str]
    missing_settings: tuple[str, ...] = ()
    channels: tuple[ChannelFacts, ...] = ()
    roles: tuple[RoleFacts, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One thing wrong, and how to fix it, in plain words."""

    problem: str
    fix: str


@dataclass
class _Findings:
    items: list[Finding] = field(default_factory=list)

    def add(self, problem: str, fix: str) -> None:
        self.items.append(Finding(problem, fix))


def check_server(facts: ServerFacts) -> list[Finding]:
    """Return what stops the group from working, each with its fix; an empty list means everything is ready."""
    found = _Findings()
    if TIME_ZONE_LABEL in facts.missing_settings:
        found.add(
            "The group's time zone is not set yet, so meeting times can't be read.",
            "Set it with `/setup configure timezone:` (for example Europe/London), or `/setup start timezone:`.",
        )
    others = [label for label in facts.missing_settings if label != TIME_ZONE_LABEL]
    if others:
        found.add(
            f"Not set yet: {', '.join(others)}.",
            "Run `/setup start`: it creates what is missing or uses what you have (or pick them with "
            "`/setup configure`).",
        )
    _check_server_permissions(facts, found)
    for channel in facts.channels:
        _check_channel(facts, channel, found)
    for role in facts.roles:
        _check_role(facts, role, found)
    return found.items


def permission_list(names: Iterable[str]) -> str:
    """Return permissions as Discord's settings label them, quoted: "'Manage Channels' and 'Manage Roles'"."""
    labels = [f"'{PERMISSION_LABELS.get(name, name)}'" for name in names]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def _give_role(facts: ServerFacts, names: Iterable[str]) -> str:
    return f"Give the bot's role '{facts.bot_role}' {permission_list(names)} in {SERVER_ROLES_PATH}."


def _check_server_permissions(facts: ServerFacts, found: _Findings) -> None:
    missing = [name for name in SERVER_NEEDS if name not in facts.bot_permissions]
    if missing:
        found.add(
            f"I lack {permission_list(missing)} in this server, so I can't give members the reminder role or make the "
            "staff roles mentionable.",
            _give_role(facts, missing),
        )


def _check_channel(facts: ServerFacts, channel: ChannelFacts, found: _Findings) -> None:
    item = BY_KEY[channel.key]
    if not channel.exists:
        found.add(
            f"The {item.label} saved in set-up no longer exists.",
            "Run `/setup start` to create it again, or pick another with `/setup configure`.",
        )
        return
    where = f"#{channel.name}"
    missing = [name for name in item.bot_needs if name not in channel.bot_has]
    server_wide = [name for name in missing if name not in facts.bot_permissions]
    here_only = [name for name in missing if name in facts.bot_permissions]
    if server_wide:
        found.add(f"I lack {permission_list(server_wide)} in {where} ({item.label}).", _give_role(facts, server_wide))
    if here_only:
        found.add(
            f"{where}'s own permissions deny me {permission_list(here_only)} ({item.label}).",
            f"In {where} → Edit Channel → Permissions, allow {permission_list(here_only)} for the bot's role "
            f"'{facts.bot_role}'.",
        )
    if not item.private:
        return
    if channel.everyone_can_view:
        found.add(
            f"Everyone can see {where}, the {item.label}, which should be private.",
            f"In {where} → Edit Channel → Permissions, turn off 'View Channel' for @everyone and allow it for "
            f"{_role_names(facts, item)}.",
        )
    if channel.roles_without_view:
        names = " and ".join(f"'{name}'" for name in channel.roles_without_view)
        found.add(
            f"{names} can't see {where}, the {item.label}.",
            f"In {where} → Edit Channel → Permissions, allow 'View Channel' for {names}.",
        )


def _role_names(facts: ServerFacts, item: PlannedItem) -> str:
    names = {role.key: role.name for role in facts.roles}
    return " and ".join(f"'{names.get(key, BY_KEY[key].name)}'" for key in item.private_to)


def _check_role(facts: ServerFacts, role: RoleFacts, found: _Findings) -> None:
    item = BY_KEY[role.key]
    if not role.exists:
        found.add(
            f"The {item.label} saved in set-up no longer exists.",
            "Run `/setup start` to create it again, or pick another with `/setup configure`.",
        )
        return
    drag = f"Drag the bot's role '{facts.bot_role}' above '{role.name}' in {SERVER_ROLES_PATH}"
    if item is REMINDER_ROLE and role.above_bot:
        found.add(
            f"I can't give members '{role.name}': it is above my role, and Discord lets a bot give only roles "
            "below its own.",
            f"{drag}.",
        )
    if not role.mentionable:
        who = "Reminders" if item is REMINDER_ROLE else "Alerts and cover requests"
        turn_on = f"turn on 'Allow anyone to @mention this role' for '{role.name}' in {SERVER_ROLES_PATH}"
        fix = (
            f"{drag}, then run `/setup start` again (I'll make it mentionable); or {turn_on}."
            if role.above_bot
            else f"Run `/setup start` again (I'll make it mentionable), or {turn_on}."
        )
        found.add(f"{who} can't ping '{role.name}': it isn't mentionable.", fix)


def describe_findings(findings: Sequence[Finding]) -> str:
    """Return the check's result as text: "Everything is ready", or each problem with its fix."""
    if not findings:
        return "✅ Everything is ready: my permissions, the channels and the roles are as a group needs them."
    count = "1 thing needs" if len(findings) == 1 else f"{len(findings)} things need"
    lines = [f"⚠️ {count} fixing:"]
    for number, finding in enumerate(findings, start=1):
        lines.append(f"{number}. {finding.problem}\n   → {finding.fix}")
    lines.append("Run `/setup check` again once it's done.")
    return "\n".join(lines)


# What the bot says when it joins a server.

WELCOME_TEXT = (
    "👋 Hello! I help run online SMART Recovery meetings here: announcements and reminders, the meeting format, "
    "a facilitator rota, and a way for members to reach a facilitator when they need one.\n\n"
    "**Three steps to a first meeting**\n"
    "1. Someone with the Manage Server permission runs `/setup start`. I'll create the channels and roles a group "
    "needs (or use the ones you have), ask for your time zone and check my permissions.\n"
    "2. Give your facilitators the **Facilitator** role and your coordinators the **Coordinator** role.\n"
    "3. A facilitator schedules the first meeting with `/meeting schedule`, for example `time:7pm "
    "weekday:Tuesday` in the **Meeting room** voice channel.\n\n"
    "Members then find meetings with `/meeting list`. `/setup check` tells you at any time if something needs "
    "fixing."
)


def welcome_text(server_name: str, *, by_dm: bool) -> str:
    """Return the welcome, with a first line saying why it came by DM when it could not be posted in the server."""
    if not by_dm:
        return WELCOME_TEXT
    return (
        f"You added me to **{server_name}**, but I can't post in its system channel, so I'm writing to you as "
        f"the server's owner.\n\n{WELCOME_TEXT}"
    )
