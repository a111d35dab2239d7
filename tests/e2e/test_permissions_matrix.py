"""Every command the bot synced, run by each kind of person: privileged ones refused, naming the right, to those
without it, and allowed to those with it.

The people: a member, a facilitator, a coordinator, an admin (Manage Server) of a group's server, and the central
office's staff (their role in the office's server). `WHO_MAY` says who may use each command; a command the bot
syncs that is not in it fails `test_every_synced_command_says_who_may_use_it`, so new commands get classified.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.db.models import MeetingOccurrence
from tests.faults.scenario import Life, world
from tests.fixtures.bot import configure
from tests.sandbox.handles import DEFERRED_CHANNEL_MESSAGE, MODAL, Response
from tests.sandbox.models import Command, Guild, Member, Role
from tests.sandbox.options import (
    BOOLEAN,
    CHANNEL,
    INTEGER,
    MENTIONABLE,
    NUMBER,
    ROLE,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

# Who may use a command.
EVERYONE = "everyone"
MANAGE_SERVER = "Manage Server"
STAFF = "facilitators and coordinators"
COORDINATORS = "coordinators"
FACILITATORS = "facilitators"
OFFICE = "central office"

PEOPLE = ("member", "facilitator", "coordinator", "admin", "office")
# Manage Server counts as every group role (cogs/shared.has_any_role); the office is a plain member here.
ALLOWED = {
    EVERYONE: set(PEOPLE),
    MANAGE_SERVER: {"admin"},
    STAFF: {"facilitator", "coordinator", "admin"},
    COORDINATORS: {"coordinator", "admin"},
    FACILITATORS: {"facilitator", "admin"},
    OFFICE: {"office"},
}
WHO_MAY = {
    "setup configure": MANAGE_SERVER,
    "setup show": MANAGE_SERVER,
    "setup crisis-text": MANAGE_SERVER,
    "setup crisis-reset": MANAGE_SERVER,
    "setup alerts": MANAGE_SERVER,
    "setup pass-the-hat": MANAGE_SERVER,
    "setup start": MANAGE_SERVER,
    "setup check": COORDINATORS,
    "setup settings": COORDINATORS,
    "meeting schedule": STAFF,
    "meeting edit": STAFF,
    "meeting cancel": STAFF,
    "meeting skip": STAFF,
    "meeting start": STAFF,
    "meeting list": EVERYONE,
    "meeting calendar": EVERYONE,
    "meeting remind-me": EVERYONE,
    "crisis": EVERYONE,
    "alert-facilitator": EVERYONE,
    "tool show": EVERYONE,
    "tool list": EVERYONE,
    "tool random": EVERYONE,
    "tool share": STAFF,
    "tool next": STAFF,
    "rota join": FACILITATORS,
    "rota leave": EVERYONE,
    "rota away": EVERYONE,
    "rota back": EVERYONE,
    "rota thanks": EVERYONE,
    "rota mine": EVERYONE,
    "rota calendar": EVERYONE,
    "rota swap": EVERYONE,
    "rota show": STAFF,
    "rota stats": STAFF,
    "rota generate": COORDINATORS,
    "rota pin": COORDINATORS,
    "privacy about": EVERYONE,
    "privacy status": EVERYONE,
    "privacy opt-out": EVERYONE,
    "privacy opt-in": EVERYONE,
    "participation settings": COORDINATORS,
    "referral poster": COORDINATORS,
    "referral listing on": COORDINATORS,
    "referral listing off": COORDINATORS,
    "office report": OFFICE,
    "referral create": COORDINATORS,
    "referral list": COORDINATORS,
    "referral retire": COORDINATORS,
    "referral welcome-channel": COORDINATORS,
    "referral welcome-text": COORDINATORS,
    "milestones": COORDINATORS,
    "office announce": OFFICE,
    "office pair": OFFICE,
    "office unpair": OFFICE,
    "office network-setup": OFFICE,
    "office resources add": OFFICE,
    "office resources remove": OFFICE,
    "network join": FACILITATORS,
    "network ask": STAFF,
    "network announcements": COORDINATORS,
    "resources list": EVERYONE,
    "resources show": EVERYONE,
}
# What a refusal must contain to name the right, beyond "you may not".
REFUSALS = ("Only members with", "Only coordinators", "You need the", "only in the central office's server")
APOLOGY = "Sorry, something went wrong"


@dataclass
class Matrix:
    """The group's server and the office's server, with one person of each kind."""

    life: Life
    office_guild: Guild
    office_role: Role
    people: dict[str, Member]
    office_people: dict[str, Member]
    meeting_id: int
    series_id: int

    def needs(self, rule: str) -> list[str]:
        """Return the mentions or words of which at least one must appear in a refusal under `rule`."""
        group = self.life.group
        return {
            MANAGE_SERVER: ["Manage Server"],
            STAFF: [f"<@&{group.facilitator_role.id}>"],
            COORDINATORS: [f"<@&{group.coordinator_role.id}>"],
            FACILITATORS: [f"<@&{group.facilitator_role.id}>"],
            OFFICE: [f"<@&{self.office_role.id}>"],
            EVERYONE: [],
        }[rule]


async def join_rota(life: Life) -> None:
    """Put the facilitator and the admin on the rota: the network is for facilitators on it, not the role alone."""
    group = life.group
    for on_rota in (group.facilitator, group.admin):
        rota = {"roles": "lead,co", "trained_since": "2024-01-15"}
        await (await life.sandbox.actors.invoke(group.guild, on_rota, "rota join", rota)).response()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix() -> AsyncIterator[Matrix]:
    async with world() as life:
        sandbox, group, harness = life.sandbox, life.group, life.harness
        actors = sandbox.actors
        bot = await harness.start()
        await configure(sandbox, group)
        await join_rota(life)
        options = {"title": "Tuesday SMART", "time": "19:00", "weekday": 1, "channel": group.voice}
        assert (
            "Scheduled"
            in (
                await (await actors.invoke(group.guild, group.facilitator, "meeting schedule", options)).response()
            ).content
        )
        office_guild = await actors.create_guild("SMART Central Office")
        await actors.create_channel(office_guild, "office")
        digest = await actors.create_channel(office_guild, "digest")
        office_role = await actors.create_role(office_guild, "Central office")
        staff = await actors.create_member(group.guild, "olive")
        people = {
            "member": group.member,
            "facilitator": group.facilitator,
            "coordinator": group.coordinator,
            "admin": group.admin,
            "office": staff,
        }
        office_people = {
            name: await actors.join_guild(office_guild, person.user, roles=[office_role] if name == "office" else [])
            for name, person in people.items()
        }
        await bot.services.participation.office.configure(office_guild.id, digest.id, office_role.id)
        await harness.idle()
        async with bot.database.session() as session:
            meeting_id, series_id = (
                await session.execute(select(func.min(MeetingOccurrence.id), func.min(MeetingOccurrence.schedule_id)))
            ).one()
        yield Matrix(life, office_guild, office_role, people, office_people, meeting_id, series_id)


def synced_leaves(commands: list[Command]) -> dict[str, list[dict[str, Any]]]:
    """Return every runnable command ('group sub' for subcommands) with its options."""
    leaves: dict[str, list[dict[str, Any]]] = {}
    for command in commands:
        if command.type != 1:
            continue
        subs = [o for o in command.options or [] if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if subs:
            for sub in subs:
                if sub["type"] == SUB_COMMAND_GROUP:  # one level deeper: /office resources add
                    for leaf in sub.get("options") or []:
                        leaves[f"{command.name} {sub['name']} {leaf['name']}"] = leaf.get("options") or []
                    continue
                leaves[f"{command.name} {sub['name']}"] = sub.get("options") or []
        else:
            leaves[command.name] = command.options or []
    return leaves


SPECIFIC: dict[str, Callable[[Matrix], dict[str, Any]]] = {
    "meeting schedule": lambda m: {"title": "Matrix", "time": "20:00", "channel": m.life.group.voice, "weekday": 3},
    "meeting edit": lambda m: {"series": m.series_id, "title": "Tuesday SMART"},
    "meeting cancel": lambda m: {"meeting": m.meeting_id, "reason": "Room booked"},
    "meeting skip": lambda m: {"series": m.series_id},
    "meeting remind-me": lambda m: {"setting": "on"},
    "rota join": lambda m: {"roles": "lead,co", "trained_since": "2024-01-15"},
    "rota away": lambda m: {"first_day": "2026-12-20", "last_day": "2026-12-21"},
    "rota swap": lambda m: {"date": "2026-12-01"},
    "rota pin": lambda m: {"meeting": m.meeting_id, "role": "lead", "facilitator": m.life.group.facilitator},
    "tool show": lambda m: {"name": "change-plan-worksheet"},
    "tool share": lambda m: {"name": "change-plan-worksheet"},
    "tool next": lambda m: {"name": "change-plan-worksheet"},
    "office network-setup": lambda m: {
        "channel": next(c for c in m.office_guild.channels.values() if c.type == 0),
        "role": m.office_role,
    },
}


def required_options(matrix: Matrix, leaf: str, spec: list[dict[str, Any]]) -> dict[str, Any]:
    """Return valid values for the command's required options (a plain guess for commands not in SPECIFIC)."""
    if leaf in SPECIFIC:
        return SPECIFIC[leaf](matrix)
    group = matrix.life.group
    values: dict[str, Any] = {}
    for option in spec:
        if not option.get("required"):
            continue
        kind = option["type"]
        if option.get("choices"):
            values[option["name"]] = option["choices"][0]["value"]
        elif kind == STRING:
            values[option["name"]] = "x" * max(1, option.get("min_length", 1))
        elif kind in (INTEGER, NUMBER):
            values[option["name"]] = option.get("min_value", 1)
        elif kind == BOOLEAN:
            values[option["name"]] = False
        elif kind in (USER, MENTIONABLE):
            values[option["name"]] = group.facilitator
        elif kind == ROLE:
            values[option["name"]] = group.facilitator_role
        elif kind == CHANNEL:
            types = option.get("channel_types")
            values[option["name"]] = next(
                c for c in group.guild.channels.values() if not types or (c.type in types and not c.deleted)
            )
    return values


async def run_as(matrix: Matrix, person: str, leaf: str, options: dict[str, Any]) -> Response:
    """Run a command as one of the people, in their server; a command Discord hides from them is un-hidden, as an
    admin can in Server Settings > Integrations, so the bot's own check is what answers."""
    sandbox = matrix.life.sandbox
    office = leaf.startswith("office ")
    guild = matrix.office_guild if office else matrix.life.group.guild
    who = (matrix.office_people if office else matrix.people)[person]
    try:
        handle = await sandbox.actors.invoke(guild, who, leaf, options)
    except AssertionError as hidden:
        if "default_member_permissions" not in str(hidden):
            raise
        command = next(c for c in sandbox.state.commands.values() if c.name == leaf.split()[0])
        saved, command.default_member_permissions = command.default_member_permissions, None
        try:
            handle = await sandbox.actors.invoke(guild, who, leaf, options)
        finally:
            command.default_member_permissions = saved
    response = await handle.response(timeout=15)
    await matrix.life.harness.idle()
    return response


def refused(response: Response) -> bool:
    return response.type != MODAL and any(phrase in response.content for phrase in REFUSALS)


async def test_every_synced_command_says_who_may_use_it(matrix: Matrix) -> None:
    synced = set(synced_leaves(list(matrix.life.sandbox.state.commands.values())))
    assert synced - set(WHO_MAY) == set(), "classify these commands in WHO_MAY"
    assert set(WHO_MAY) - synced == set(), "these commands are no longer synced: remove them from WHO_MAY"


@pytest.mark.parametrize("leaf", list(WHO_MAY))
async def test_each_command_is_refused_naming_the_right_to_those_without_it_and_allowed_to_those_with_it(
    matrix: Matrix, leaf: str
) -> None:
    rule = WHO_MAY[leaf]
    spec = synced_leaves(list(matrix.life.sandbox.state.commands.values())).get(leaf)
    if spec is None:
        pytest.fail(f"/{leaf} is not synced any more")
    options = required_options(matrix, leaf, spec)
    if leaf.startswith("network "):
        await join_rota(matrix.life)  # again: a `/rota leave` case run before this one took them off it
    problems = []
    # Those without the right first, so an allowed run (which may change things) cannot mask a refusal.
    for person in sorted(PEOPLE, key=lambda p: p in ALLOWED[rule]):
        response = await run_as(matrix, person, leaf, options)
        shown = f"{person}: {response.content[:200]!r}"
        if response.type not in (MODAL, DEFERRED_CHANNEL_MESSAGE) and not response.ephemeral:
            problems.append(f"{shown} (not ephemeral)")
        if APOLOGY in response.content:
            problems.append(f"{shown} (an unexpected error)")
        elif person in ALLOWED[rule]:
            if refused(response):
                problems.append(f"{shown} (refused, but {rule} may use it)")
        elif not refused(response):
            problems.append(f"{shown} (allowed, but only {rule} may use it)")
        elif not any(name in response.content for name in matrix.needs(rule)):
            problems.append(f"{shown} (refused without naming {' or '.join(matrix.needs(rule))})")
    assert problems == [], f"/{leaf} ({rule}):\n" + "\n".join(problems)


async def test_office_report_is_refused_in_a_groups_server_naming_the_office_server(matrix: Matrix) -> None:
    group = matrix.life.group
    for person in ("coordinator", "admin", "office"):
        handle = await matrix.life.sandbox.actors.invoke(group.guild, matrix.people[person], "office report")
        response = await handle.response()
        assert response.ephemeral and "only in the central office's server" in response.content, response.content


async def test_commands_only_server_managers_may_use_are_hidden_from_everyone_else_by_default(matrix: Matrix) -> None:
    manage_guild = 1 << 5
    for command in matrix.life.sandbox.state.commands.values():
        leaves = [leaf for leaf in WHO_MAY if leaf.split()[0] == command.name]
        if leaves and all(WHO_MAY[leaf] == MANAGE_SERVER for leaf in leaves):
            assert command.default_member_permissions == str(manage_guild), f"/{command.name} is shown to everyone"
