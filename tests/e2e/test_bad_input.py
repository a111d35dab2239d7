"""Hypothesis types into every option of every command the bot synced, as a Discord client lets people.

Each command gets examples of each option's type: empty, huge (up to the declared or the client's maximum length),
Unicode, Markdown, mentions (`@everyone`, `<@123>`), time zones that do not exist, dates and times that do not
exist, numbers at and past every edge the client allows. Whatever comes in, the bot answers with a specific
ephemeral message (never the "Sorry, something went wrong" apology, never an ERROR log), pings nobody, and writes
nothing when it turns the input down. The command list comes from the sandbox after the bot synced, so a new
command is covered as soon as it exists.

One bot serves every example of a part (the commands are swept in parts, by top-level command, so that test
workers share the work). Hypothesis runs in a worker thread and hands each example to the event loop, so its
search and shrinking work as usual on an async bot. `BAD_INPUT_EXAMPLES` sets the examples per command (default 8).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import event

import cogs._errors
from bot.db import models, models_participation, models_rota  # noqa: F401  (the import registers their tables)
from tests.faults.scenario import Life, world
from tests.fixtures.bot import configure
from tests.fixtures.db import POSTGRES_URL, reset_postgres
from tests.sandbox.handles import DEFERRED_CHANNEL_MESSAGE, InteractionHandle, MODAL, Response
from tests.sandbox.models import Guild, Member
from tests.sandbox.options import (
    ATTACHMENT,
    BOOLEAN,
    CHANNEL,
    INTEGER,
    MAX_SAFE_INTEGER,
    MENTIONABLE,
    NUMBER,
    ROLE,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "8"))
# The sweep in parts (by top-level command) that test workers run side by side; every synced command is in one.
PARTS = {
    "setup": ("setup",),
    "meeting": ("meeting",),
    "rota": ("rota",),
    "office": ("office",),
    "referral": ("referral",),
    "network and care": ("network", "resources", "milestones"),
    "tools, safety and privacy": ("tool", "crisis", "alert-facilitator", "privacy", "participation"),
}
CLIENT_MAX_LENGTH = 6000  # the most a Discord client sends in a string option
APOLOGY = "Sorry, something went wrong"
MEMBER_ROLES = (
    "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}",
    "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}",
)
# Every table the migrations create (the rota and participation models add theirs to the same metadata).
TABLES = models.Base.metadata.sorted_tables
DUMPS = [(table, f'SELECT * FROM "{table.name}"') for table in TABLES]  # noqa: S608  (our own table names)
# Who types: mostly someone every check lets through, so the input itself is what gets judged.
PEOPLE = ("admin", "admin", "facilitator", "coordinator", "member")
ID_OPTIONS = ("meeting", "series")
INT32 = range(-(2**31), 2**31)
TRICKY_TEXT = [
    "",
    " ",
    "\u200b",
    "\u202etxet desrever",
    "Z\u0335\u0321a\u0334l\u0337g\u0336o",
    "🙂🙃🧠",
    "ÆØÅ ñ 漢字 עברית العربية",
    "@everyone",
    "@here",
    "<@123>",
    "<@&123>",
    "<#123>",
    "<@!123456789012345678>",
    "**bold** __under__ ~~strike~~",
    "`code` ```block```",
    "> quote",
    "||spoiler||",
    "# Heading",
    "[link](https://example.com)",
    "<t:0:F>",
    "Mars/Olympus_Mons",
    "Europe/Lndon",
    "europe/london",
    "UTC+25",
    "Etc/GMT+99",
    "../../etc/passwd",
    "Europe/London ",
    "America/Argentina/ComodRivadavia",
    "25:00",
    "24:00",
    "23:60",
    "19:00:00",
    "7pm",
    "19.00",
    "-1:00",
    "\uff11\uff19:\uff10\uff10",  # fullwidth digits
    "١٩:٣٠",
    " 19:00 ",
    "0:0",
    "2026-02-30",
    "2026-13-01",
    "0000-01-01",
    "9999-12-31",
    "2026/12/01",
    "1 Oct",
    "2026-12-01T19:00",
    "NaN",
    "1e309",
    "-0",
    "0x10",
    "lead,co,host,lead",
    ",,,",
    "LEAD",
    "boss",
    "'; DROP TABLE meeting_schedule; --",
    "%s %(x)s {0} {x}",
]
HUGE_FILL = ["x", "é", "🙂", "@everyone ", "*", "9", "<@123>"]


@dataclass
class Sweep:
    """One bot for every example, with what the test watches."""

    backend: str
    life: Life
    loop: asyncio.AbstractEventLoop
    office_guild: Guild
    people: dict[str, Member]
    office_staff: Member
    # Hypothesis runs in this one thread: in each new thread its first example registers a random generator, which
    # costs a full garbage collection of the bot's whole heap (the loop's default pool rotates through several).
    hypothesis_thread: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "hypothesis"))
    refusals: int = 0
    # The database as the last example left it: the next one starts from it (nothing runs in between).
    last_dump: dict[str, list[tuple[str, ...]]] | None = None
    # Statements other than reads the bot's engine has run, and how many there were when `last_dump` was taken: with
    # none since, the database is as dumped, and reading every row of every table again would find the same.
    writes: int = 0
    writes_at_dump: int = -1
    errors: list[logging.LogRecord] = field(default_factory=list)
    choices: dict[str, list[Any]] = field(default_factory=dict)


class _Errors(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def synced_leaves(sweep: Sweep) -> dict[str, list[dict[str, Any]]]:
    """Return every runnable command the bot synced ('group sub', 'group subgroup sub') with its options."""
    leaves: dict[str, list[dict[str, Any]]] = {}

    def add(name: str, options: list[dict[str, Any]]) -> None:
        nested = [o for o in options if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        for sub in nested:
            add(f"{name} {sub['name']}", sub.get("options") or [])
        if not nested:
            leaves[name] = options

    for command in sweep.life.sandbox.state.commands.values():
        if command.type == 1:
            add(command.name, command.options or [])
    return leaves


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(POSTGRES_URL is None, reason="TEST_DATABASE_URL is not set"),
            ],
        ),
    ],
)
async def sweep(request: pytest.FixtureRequest) -> AsyncIterator[Sweep]:
    """Start the bot for a set-up group with a weekly meeting and a rota, and an office server."""
    url = None
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        await reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    async with world(url) as life:
        sandbox, group, harness = life.sandbox, life.group, life.harness
        actors = sandbox.actors
        for route in MEMBER_ROLES:  # /meeting remind-me many times a second: compressed time, as in the harness
            sandbox.ratelimits.set_limit(route, 100, 10.0, bucket="member-roles")
        bot = await harness.start()
        await configure(sandbox, group)
        options = {"title": "Tuesday SMART", "time": "19:00", "weekday": 1, "channel": group.voice}
        await (await actors.invoke(group.guild, group.facilitator, "meeting schedule", options)).response()
        joined = {"roles": "lead,co", "trained_since": "2024-01-15"}
        await (await actors.invoke(group.guild, group.facilitator, "rota join", joined)).response()
        await (await actors.invoke(group.guild, group.coordinator, "rota generate", {"weeks": 2})).response()
        office_guild = await actors.create_guild("SMART Central Office")
        digest = await actors.create_channel(office_guild, "digest")
        office_role = await actors.create_role(office_guild, "Central office")
        staff = await actors.create_member(office_guild, "olive", roles=[office_role])
        await bot.services.participation.office.configure(office_guild.id, digest.id, office_role.id)
        await harness.idle()
        people = {
            "admin": group.admin,
            "facilitator": group.facilitator,
            "coordinator": group.coordinator,
            "member": group.member,
        }
        found = Sweep(request.param, life, asyncio.get_running_loop(), office_guild, people, staff)

        def count_write(_conn: object, cursor: Any, statement: str, *_args: object) -> None:
            # Every change to the database goes through the bot's engine. Anything but a plain read may be one, unless
            # it reports no row changed (the timers' clean-ups run as UPDATEs that usually match nothing).
            if not statement.lstrip()[:6].upper().startswith("SELECT") and cursor.rowcount != 0:
                found.writes += 1

        engine = bot.database.engine.sync_engine
        event.listen(engine, "after_cursor_execute", count_write)
        handler = _Errors(found.errors)
        logging.getLogger().addHandler(handler)
        user_message = cogs._errors.user_message

        def noted(error: BaseException) -> str | None:
            message = user_message(error)
            found.refusals += message is not None
            return message

        # Every refusal of bad input (and of a missing right) is worded here, by the one error reporter.
        cogs._errors.user_message = noted
        try:
            yield found
        finally:
            event.remove(engine, "after_cursor_execute", count_write)
            found.hypothesis_thread.shutdown()
            cogs._errors.user_message = user_message
            logging.getLogger().removeHandler(handler)


async def settle(sweep: Sweep) -> None:
    """Wait until the bot has delivered and counted everything it started.

    Not `sandbox.sync()`: each sync costs the bot a gateway heartbeat, and hundreds a minute would run into
    discord.py's own limit on what it sends to the gateway (and a minute's wait).
    """
    harness = sweep.life.harness
    assert harness.bot is not None
    counting = harness.bot.get_cog("Counting")
    for _ in range(2):
        if counting is not None:
            await counting.idle()  # type: ignore[attr-defined]
        await harness.idle()


def refresh_choices(sweep: Sweep, leaf: str = "") -> None:
    """Snapshot what a client could pick (channels, roles, members) where `leaf` is used, on the loop's thread."""
    guild = sweep.office_guild if leaf.startswith("office ") else sweep.life.group.guild
    sweep.choices = {
        "channels": [c for c in guild.channels.values() if not c.deleted],
        "roles": list(guild.roles.values()),
        "members": list(guild.members.values()),
    }


def text_values(option: dict[str, Any]) -> st.SearchStrategy[str]:
    low = option.get("min_length", 0)
    high = option.get("max_length", CLIENT_MAX_LENGTH)
    huge = st.builds(
        lambda fill, size: (fill * size)[:size], st.sampled_from(HUGE_FILL), st.sampled_from([high, high - 1, 2001])
    )
    typed = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=80)
    return (
        st.one_of(st.sampled_from(TRICKY_TEXT), typed, huge)
        .map(lambda text: text[:high])
        .filter(lambda text: len(text) >= low)
    )


def number_values(option: dict[str, Any]) -> st.SearchStrategy[Any]:
    low = option.get("min_value", -MAX_SAFE_INTEGER)
    high = option.get("max_value", MAX_SAFE_INTEGER)
    edges = [low, high, low + 1, high - 1, 0, 1, -1, 2**31 - 1, 2**31, 2**32, 10**9]
    inside = sorted({edge for edge in edges if low <= edge <= high})
    if option["type"] == NUMBER:
        return st.one_of(st.sampled_from(inside), st.floats(low, high, allow_nan=False))
    return st.one_of(st.sampled_from(inside), st.integers(low, high))


def option_values(sweep: Sweep, option: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Everything a client could send for one option (it refuses the rest before the bot sees it)."""
    kind = option["type"]
    if option.get("choices"):
        return st.sampled_from([choice["value"] for choice in option["choices"]])
    if kind == STRING:
        return text_values(option)
    if kind in (INTEGER, NUMBER):
        return number_values(option)
    if kind == BOOLEAN:
        return st.booleans()
    if kind == USER:
        return st.sampled_from(sweep.choices["members"])
    if kind == ROLE:
        return st.sampled_from(sweep.choices["roles"])
    if kind == MENTIONABLE:
        return st.sampled_from(sweep.choices["members"] + sweep.choices["roles"])
    if kind == CHANNEL:
        types = option.get("channel_types")
        return st.sampled_from([c for c in sweep.choices["channels"] if not types or c.type in types])
    if kind == ATTACHMENT:
        return st.fixed_dictionaries(
            {"filename": st.sampled_from(["a.txt", "../../x.png", "🙂.pdf"]), "size": st.integers(0, 25 * 2**20)}
        )
    raise AssertionError(f"no values for option type {kind}: teach this test about it")


def options_for(sweep: Sweep, spec: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    required = {o["name"]: option_values(sweep, o) for o in spec if o.get("required")}
    optional = {o["name"]: option_values(sweep, o) for o in spec if not o.get("required")}
    return st.fixed_dictionaries(required, optional=optional)


async def dump(sweep: Sweep) -> dict[str, list[tuple[str, ...]]]:
    """Return every row of every table, as text (what 'nothing written' is checked against)."""
    assert sweep.life.harness.bot is not None
    sweep.writes_at_dump = sweep.writes
    # Plain SQL, read as the driver returns it: nothing here needs SQLAlchemy's statement building or type
    # conversion, which made this dump (then taken after every example) 40% of the sweep's time.
    async with sweep.life.harness.bot.database.engine.connect() as connection:
        return {
            table.name: sorted(tuple(map(str, row)) for row in (await connection.exec_driver_sql(sql)).all())
            for table, sql in DUMPS
        }


async def invoke(sweep: Sweep, leaf: str, person: str, options: dict[str, Any]) -> InteractionHandle:
    """Use the command as a person would (the office's command in the office's server)."""
    actors = sweep.life.sandbox.actors
    if leaf.startswith("office "):
        guild, who = sweep.office_guild, sweep.office_staff
    else:
        guild, who = sweep.life.group.guild, sweep.people[person]
    try:
        return await actors.invoke(guild, who, leaf, options)
    except AssertionError as hidden:
        if "default_member_permissions" not in str(hidden):
            raise
    # Discord hides it from this person by default; an admin can show it (Server Settings > Integrations).
    command = next(c for c in sweep.life.sandbox.state.commands.values() if c.name == leaf.split()[0])
    saved, command.default_member_permissions = command.default_member_permissions, None
    try:
        return await actors.invoke(guild, who, leaf, options)
    finally:
        command.default_member_permissions = saved


def answer_problems(response: Response) -> list[str]:
    if response.type == MODAL:
        return []
    message = response.message
    problems = []
    if APOLOGY in response.content:
        problems.append(f"the generic apology: {response.content!r}")
    if response.type != DEFERRED_CHANNEL_MESSAGE and not response.ephemeral:
        problems.append("a public answer")
    if message is not None and not (message.content or message.embeds or message.attachments):
        problems.append("an empty answer")
    return problems


async def try_input(sweep: Sweep, leaf: str, person: str, options: dict[str, Any]) -> str | None:
    """Use a command with these options; return what went wrong, or None."""
    sandbox = sweep.life.sandbox
    await settle(sweep)
    before = sweep.last_dump
    if before is None or sweep.writes != sweep.writes_at_dump:
        before = await dump(sweep)
    sweep.last_dump = None  # until this example is through
    pings, errors, refusals = len(sandbox.pings()), len(sweep.errors), sweep.refusals
    handle = await invoke(sweep, leaf, person, options)
    response = await handle.response()
    if response.type == DEFERRED_CHANNEL_MESSAGE:
        await handle.wait_original(timeout=30)  # e.g. the office's charts: let it finish before looking
        response = await handle.response()
    await settle(sweep)
    problems = answer_problems(response)
    problems += [f"ERROR log from {r.name}: {r.getMessage()}" for r in sweep.errors[errors:]]
    new_pings = sandbox.pings()[pings:]
    if leaf == "alert-facilitator":
        # An alert pings on purpose (the facilitator role, or the facilitators running the meeting): never everyone.
        new_pings = [entry for entry in new_pings if entry.pings is None or entry.pings.everyone or entry.pings.here]
    if new_pings:
        problems.append(f"pinged: {new_pings[-1].render()}")
    refused = sweep.refusals > refusals
    after = sweep.last_dump = before if sweep.writes == sweep.writes_at_dump else await dump(sweep)
    if refused:
        changed = sorted(name for name in before if before[name] != after[name])
        if changed:
            problems.append(f"turned down ({response.content[:120]!r}) but wrote to {changed}")
    if not problems:
        return None
    who = "the office's staff" if leaf.startswith("office ") else person
    return f"/{leaf} as {who} with {options!r}: " + "; ".join(problems) + f"\nanswer: {response.content[:300]!r}"


def sweep_command(sweep: Sweep, leaf: str, spec: list[dict[str, Any]]) -> str | None:
    """Run Hypothesis on one command (in a worker thread); return the smallest failing example, if any."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        person = data.draw(st.sampled_from(PEOPLE), label="person")
        options = data.draw(options_for(sweep, spec), label="options")
        problem = asyncio.run_coroutine_threadsafe(try_input(sweep, leaf, person, options), sweep.loop).result(120)
        assert problem is None, problem

    try:
        examples()
    except AssertionError as failure:
        return str(failure)
    return None


async def test_every_synced_command_is_in_a_part_of_the_sweep(sweep: Sweep) -> None:
    leaves = synced_leaves(sweep)
    assert len(leaves) >= 30, sorted(leaves)  # the bot synced its commands
    tops = {leaf.split()[0] for leaf in leaves}
    assigned = [name for names in PARTS.values() for name in names]
    assert tops - set(assigned) == set(), "add these commands to a part in PARTS"
    assert len(assigned) == len(set(assigned)), "a command is in two parts"


@pytest.mark.parametrize("part", list(PARTS))
async def test_any_input_a_client_can_send_gets_a_specific_private_answer_and_writes_nothing_when_refused(
    sweep: Sweep, part: str
) -> None:
    leaves = {leaf: spec for leaf, spec in synced_leaves(sweep).items() if leaf.split()[0] in PARTS[part]}
    assert leaves, f"no synced command in part {part}"
    failures = []
    for leaf, spec in sorted(leaves.items()):
        refresh_choices(sweep, leaf)  # what a client offers where this command is used (the office's own server)
        failure = await asyncio.get_running_loop().run_in_executor(
            sweep.hypothesis_thread, sweep_command, sweep, leaf, spec
        )
        if failure is not None:
            failures.append(failure)
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize(
    ("leaf", "options"),
    [
        ("meeting cancel", {"meeting": 2**31, "reason": "Room booked"}),
        ("meeting edit", {"series": 2**53}),
        ("meeting skip", {"series": -(2**31) - 1}),
        ("rota pin", {"meeting": -(2**53), "role": "lead"}),
    ],
    ids=["cancel", "edit", "skip", "pin"],
)
async def test_ids_past_32_bits_are_turned_down_specifically_on_every_database(
    sweep: Sweep, leaf: str, options: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    if leaf == "rota pin":
        options = {**options, "facilitator": sweep.life.group.facilitator}
    try:
        problem = await try_input(sweep, leaf, "admin", options)
    except AssertionError as refused_by_discord:
        # Declared as a range, the option is refused by the Discord client itself: the bot never sees it.
        assert "must be between" in str(refused_by_discord), refused_by_discord
        return
    assert problem is None, problem
