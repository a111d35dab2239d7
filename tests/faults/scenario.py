"""A meeting's whole life as a list of steps, and what the world looks like after it, for the kill tests.

The life: the rota's confirmation requests, one confirmed and one not (escalated), both reminders, a member
waiting in voice, the opening, check-ins and a post, every phase moved on from the panel, feedback, the end,
and the feedback window closing. `outcome()` reduces what Discord shows and what the database holds to plain
data with every snowflake replaced by a name, so a run with kills can be compared with a run without.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.db.models import MeetingOccurrence, Outbox
from bot.db.models_participation import FEEDBACK_COLUMNS, ParticipationOccurrence
from bot.db.models_rota import RotaAssignment
from bot.settings import Settings
from tests.faults.killswitch import Describe, KillSwitch, RequestPoint, Write, crash, run_step
from tests.fixtures.bot import BotHarness, Group, build_group, configure
from tests.fixtures.db import FakeClock, migrated_sqlite_copy
from tests.sandbox.handles import InteractionHandle, MODAL
from tests.sandbox.models import Channel, Member, Message
from tests.sandbox.rest import Call
from tests.sandbox.runner import pointed_at
from tests.sandbox.server import Sandbox

START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # Tuesday 19:00 in London (GMT)
SETUP_AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday, before the rota's 72-hour requests
FEEDBACK = "How was today? (anonymous)"
ANSWERS = {
    "How helpful was today's meeting?": "4",
    "Did you set a plan for the week?": "yes",
    "How did you first hear about SMART?": "web",
    "Will you come again?": "maybe",
}
PARTICIPATION_FIELDS = (
    "outcome",
    "attendees",
    "new_attendees",
    "voice_attendees",
    "checkins",
    "posters",
    "facilitators",
    "phases_reached",
    "phases_total",
    "feedback_answers",
    *FEEDBACK_COLUMNS,
)
DM_CHANNELS = "POST /users/@me/channels"
SNOWFLAKE = re.compile(r"\d{15,20}")


@dataclass
class Life:
    """The people and places of one run."""

    sandbox: Sandbox
    group: Group
    harness: BotHarness
    lead: Member | None = None
    co: Member | None = None
    guest: Member | None = None
    occurrence_id: int | None = None
    names: dict[int, str] = field(default_factory=dict)
    switch: KillSwitch | None = None
    # Steps after which the facilitator's panel showed another phase than the database's.
    panel_behind: list[str] = field(default_factory=list)
    # What a member does again after a restart because the bot never answered them.
    redo: Callable[[], Awaitable[None]] | None = None

    async def checkpoint(self) -> None:
        """Go no further once the switch has tripped: the bot is about to be killed."""
        if self.switch is not None and self.switch.tripped.is_set():
            await asyncio.Event().wait()

    def thread(self) -> Channel:
        threads = [
            c for c in self.group.guild.channels.values() if c.is_thread and c.parent_id == self.group.meetings.id
        ]
        assert threads, "the meeting has no thread"
        return threads[0]


async def settle(harness: BotHarness) -> None:
    """Wait until the bot has read every gateway event, counted attendance, and delivered what it decided."""
    assert harness.bot is not None
    counting = harness.bot.get_cog("Counting")
    await harness.sandbox.sync()
    for _ in range(2):
        if counting is not None:
            await counting.idle()  # type: ignore[attr-defined]
        await harness.idle()


async def advance(life: Life, when: datetime) -> None:
    """Move the clock, run every timer due by then, and wait until the bot is done with it."""
    await settle(life.harness)
    await life.harness.advance_to(when)
    await settle(life.harness)
    await life.checkpoint()


def _with_button(messages: list[Message], label: str) -> Message:
    for message in reversed(messages):
        for row in message.components:
            if any(button.get("label") == label for button in row.get("components", [])):
                return message
    raise AssertionError(f"no message with a {label!r} button")


def _looks(message: Message) -> str:
    return json.dumps([message.content, message.components], sort_keys=True)


async def _press(life: Life, who: Member, messages: Callable[[], list[Message]], label: str) -> None:
    """Press a button; if the bot dies before answering, press it again once it is back, as people do.

    Not again if the message changed meanwhile (the press took effect, and the bot showed it).
    """
    message = _with_button(messages(), label)
    seen = _looks(message)
    pressed: list[InteractionHandle] = []

    async def attempt() -> None:
        handle = await life.sandbox.actors.click(who, _with_button(messages(), label), label=label)
        pressed.append(handle)
        await handle.response()
        await life.checkpoint()

    async def again() -> None:
        current = life.sandbox.state.messages[message.id]
        if not pressed[-1].responded and _looks(current) == seen:
            await attempt()

    life.redo = again
    await attempt()
    life.redo = None
    await settle(life.harness)
    await life.checkpoint()


async def _give_feedback(life: Life, who: Member) -> None:
    """Open the feedback form and send it; if the bot dies on the way, start again once it is back."""
    done: list[bool] = []

    async def attempt() -> None:
        messages = life.sandbox.channel_messages(life.thread())
        opened = await life.sandbox.actors.click(who, _with_button(messages, FEEDBACK), label=FEEDBACK)
        response = await opened.response()
        await life.checkpoint()
        if response.type == MODAL:
            sent = await life.sandbox.actors.submit_modal(opened, ANSWERS)
            await sent.response()
            await life.checkpoint()
        done.append(True)

    async def again() -> None:
        if not done:
            await attempt()

    life.redo = again
    await attempt()
    life.redo = None
    await settle(life.harness)
    await life.checkpoint()


async def set_up(life: Life) -> None:
    """Set the group up: three facilitators on the rota, a weekly meeting, a week's plan."""
    sandbox, group, harness = life.sandbox, life.group, life.harness
    actors = sandbox.actors
    await harness.start()
    await configure(sandbox, group)
    extra = [await actors.create_member(group.guild, name, roles=[group.facilitator_role]) for name in ("flo", "gil")]
    people = [group.facilitator, *extra]
    for person in people:
        joined = await actors.invoke(
            group.guild, person, "rota join", {"roles": "lead,co", "trained_since": "2024-01-15"}
        )
        assert "on the rota" in (await joined.response()).content
    options = {"title": "Tuesday SMART", "time": "19:00", "weekday": 1, "channel": group.voice}
    scheduled = await actors.invoke(group.guild, group.facilitator, "meeting schedule", options)
    assert "Scheduled" in (await scheduled.response()).content
    # Let the first weekly rota post go out before planning: the two racing for the group's rota settings on
    # PostgreSQL is a known bug (test_two_processes.py), not what these tests are about.
    await settle(harness)
    planned = await actors.invoke(group.guild, group.coordinator, "rota generate", {"weeks": 1})
    assert "Planned 2 duties for the next 1 week." in (await planned.response()).content
    life.guest = await actors.create_member(group.guild, "kim")
    await settle(harness)
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        life.occurrence_id = await session.scalar(
            select(MeetingOccurrence.id).where(MeetingOccurrence.starts_at == START)
        )
        duties = {row.role: row.user_id for row in (await session.scalars(select(RotaAssignment))).all()}
    by_id = {p.user.id: p for p in people}
    life.lead, life.co = by_id[duties["lead"] or 0], by_id[duties["co"] or 0]
    life.names = _names(sandbox, group)


def _at(minutes: float) -> Callable[[Life], Awaitable[None]]:
    async def time_passes(life: Life) -> None:
        when = START + timedelta(minutes=minutes)
        # Time goes on while the bot is down: a restart in the middle of the advance wakes up at its end.
        life.redo = lambda: advance(life, when)
        await advance(life, when)

    return time_passes


async def _confirm(life: Life) -> None:
    assert life.lead is not None
    lead = life.lead
    await _press(life, lead, lambda: life.sandbox.dms(lead), "Confirm")


def _check_in(pick: Callable[[Life], Member]) -> Callable[[Life], Awaitable[None]]:
    return lambda life: _press(life, pick(life), lambda: life.sandbox.channel_messages(life.thread()), "I'm here")


def _feedback(pick: Callable[[Life], Member]) -> Callable[[Life], Awaitable[None]]:
    return lambda life: _give_feedback(life, pick(life))


def _panel(label: str) -> Callable[[Life], Awaitable[None]]:
    def press(life: Life) -> Awaitable[None]:
        assert life.lead is not None
        panels = lambda: [m for m in life.sandbox.channel_messages(life.thread()) if "Facilitator panel" in m.content]
        return _press(life, life.lead, panels, label)

    return press


async def _post(life: Life) -> None:
    await life.sandbox.actors.post(life.group.newcomer, life.thread(), "hello everyone")
    await settle(life.harness)
    await life.checkpoint()


async def _voice_join(life: Life) -> None:
    await life.sandbox.actors.voice_join(life.group.member, life.group.voice)
    await settle(life.harness)
    await life.checkpoint()


async def _voice_leave(life: Life) -> None:
    await life.sandbox.actors.voice_leave(life.group.member)
    await settle(life.harness)
    await life.checkpoint()


Step = tuple[str, Callable[[Life], Awaitable[None]]]

STEPS: list[Step] = [
    ("rota asks for confirmations (72 h)", _at(-72 * 60)),
    ("the lead confirms", _confirm),
    ("escalation and first reminder (24 h)", _at(-24 * 60)),
    ("second reminder (15 min)", _at(-15)),
    ("a member waits in voice", _voice_join),
    ("the meeting opens", _at(0)),
    ("a newcomer checks in", _check_in(lambda life: life.group.newcomer)),
    ("a guest checks in", _check_in(lambda life: life.guest)),  # type: ignore[arg-type,return-value]
    ("a newcomer posts in the thread", _post),
    *[
        step
        for phase in range(1, 7)
        for step in (
            (f"time passes in phase {phase}", _at(5 * phase - 1)),
            (f"the facilitator moves on to phase {phase + 1}", _panel("Next phase")),
        )
    ],
    ("the member leaves voice", _voice_leave),
    ("the newcomer gives feedback", _feedback(lambda life: life.group.newcomer)),
    ("the guest gives feedback", _feedback(lambda life: life.guest)),  # type: ignore[arg-type,return-value]
    ("time passes in the closing", _at(38)),
    ("the facilitator ends the meeting", _panel("End meeting")),
    ("the feedback window closes", _at(100)),
]
# After the last step the clock runs on well past any lease or retry, so anything still owed is delivered.
SETTLE_AT = START + timedelta(hours=3)


def _names(sandbox: Sandbox, group: Group) -> dict[int, str]:
    names: dict[int, str] = {sandbox.bot.id: "bot", group.guild.id: "guild"}
    for member in group.guild.members.values():
        names[member.user.id] = f"@{member.user.username}"
    for role in group.guild.roles.values():
        names[role.id] = f"@&{role.name}"
    for channel in group.guild.channels.values():
        names[channel.id] = f"#{channel.name}"
    return names


def _plain(text: str, names: dict[int, str]) -> str:
    return SNOWFLAKE.sub(lambda m: names.get(int(m.group()), "<id>"), text)


def _shown(message: Message, names: dict[int, str]) -> str:
    labels = [b.get("label") for row in message.components for b in row.get("components", [])]
    embeds = [e.get("title") for e in message.embeds]
    return _plain(message.content, names) + (f" {embeds}" if embeds else "") + (f" {labels}" if labels else "")


@dataclass
class Outcome:
    """What a run left behind, free of snowflakes: per channel the bot's messages, and the database's story."""

    channels: dict[str, list[str]]
    threads: list[str]
    events: list[tuple[str, int]]
    meeting: dict[str, Any]
    participation: dict[str, Any]
    duties: list[tuple[str, str, bool, bool]]
    outbox: dict[str, int]
    nonces_repeated: list[str]
    sent_without_a_message: list[str]
    panel_behind: list[str]


async def outcome(life: Life) -> Outcome:
    """Describe what Discord shows and what the database holds after a run."""
    sandbox, group, harness = life.sandbox, life.group, life.harness
    names = {**life.names, **_names(sandbox, group)}
    bot_id = sandbox.bot.id
    channels: dict[str, list[str]] = {}
    nonces: dict[str, int] = {}
    for message in sandbox.state.messages.values():
        if message.author.id == bot_id and message.nonce is not None and not message.deleted:
            nonces[str(message.nonce)] = nonces.get(str(message.nonce), 0) + 1
    for channel in sandbox.state.channels.values():
        if channel.guild_id not in (None, group.guild.id):
            continue
        shown = [m for m in sandbox.channel_messages(channel) if m.author.id == bot_id]
        if shown:
            key = _plain(f"#{channel.name}" if not channel.is_dm else f"DM {channel.recipient_ids}", names)
            channels[key] = [_shown(m, names) for m in shown]
    threads = sorted(_plain(str(c.name), names) for c in group.guild.channels.values() if c.is_thread)
    events = sorted((e.scheduled_start_time.isoformat(), e.status) for e in group.guild.scheduled_events.values())
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.get(MeetingOccurrence, life.occurrence_id)
        assert row is not None
        timings = json.loads(row.phase_timings or "[]")
        meeting = {
            "state": row.state,
            "phase_index": row.phase_index,
            "started_late": row.started_late,
            "phases": [(t["key"], t["ended"] is not None) for t in timings],
            "actual_start": row.actual_start,
            "actual_end": row.actual_end,
        }
        numbers = await session.get(ParticipationOccurrence, life.occurrence_id)
        participation = {name: getattr(numbers, name) for name in PARTICIPATION_FIELDS} if numbers is not None else {}
        duties = sorted(
            (r.role, names.get(r.user_id or 0, "?"), r.confirm_sent, r.escalated)
            for r in (await session.scalars(select(RotaAssignment))).all()
        )
        states: dict[str, int] = {}
        sent_without_a_message = []
        for item in (await session.scalars(select(Outbox))).all():
            states[item.state] = states.get(item.state, 0) + 1
            posts = item.kind in ("message", "panel", "cover") or (item.kind == "dm" and item.result_id)
            if item.state == "sent" and posts and f"ob{item.id}" not in nonces:
                sent_without_a_message.append(f"{item.kind} {_plain(item.payload, names)[:80]}")
    return Outcome(
        channels=channels,
        threads=threads,
        events=events,
        meeting=meeting,
        participation=participation,
        duties=duties,
        outbox=states,
        nonces_repeated=sorted(n for n, seen in nonces.items() if seen > 1),
        sent_without_a_message=sent_without_a_message,
        panel_behind=list(life.panel_behind),
    )


async def check_panel(life: Life, step: str) -> None:
    """Note the step if the panel in Discord does not show the phase the database says the meeting is in."""
    assert life.harness.bot is not None
    async with life.harness.bot.database.session() as session:
        row = await session.get(MeetingOccurrence, life.occurrence_id)
    if row is None or row.state != "running":
        return
    threads = [c for c in life.group.guild.channels.values() if c.is_thread and c.parent_id == life.group.meetings.id]
    panels = [m.content for t in threads for m in life.sandbox.channel_messages(t) if "Facilitator panel" in m.content]
    shown = panels[-1] if panels else "no panel"
    if f"({(row.phase_index or 0) + 1}/" not in shown:
        life.panel_behind.append(
            f"{step}: the meeting is in phase {(row.phase_index or 0) + 1}, the panel says {shown!r}"
        )


@contextlib.asynccontextmanager
async def world(database_url: str | None = None) -> AsyncIterator[Life]:
    """Start a sandbox with the group's server and a harness for the bot on a fresh database."""
    sandbox = Sandbox()
    await sandbox.start()
    with tempfile.TemporaryDirectory() as tmp, pointed_at(sandbox):
        url = database_url or await migrated_sqlite_copy(Path(tmp) / "bot.sqlite3")
        settings = Settings(
            discord_token=sandbox.token,
            database_url=url,
            pseudonym_key_file=Path(tmp) / "pseudonym.key",
            _env_file=None,  # type: ignore[call-arg]
        )
        harness = BotHarness(sandbox, url, settings, FakeClock(SETUP_AT))
        # Each restart opens the DM channel again; a dozen restarts in a second of real time would otherwise
        # wait out Discord's 5-per-5-seconds bucket for that (time here is compressed, as in the harness).
        sandbox.ratelimits.set_limit(DM_CHANNELS, 100, 5.0)
        life = Life(sandbox, await build_group(sandbox), harness)
        try:
            yield life
        finally:
            if harness.bot is not None and harness.running is not None:
                await harness.stop()
            await sandbox.stop()
    assert not sandbox.internal_errors, sandbox.internal_errors


IDLE = "killed once the step is done"
DROP = "gateway dropped as the step begins"
RATE_LIMITED = "a burst of 429s as the step begins"
Point = RequestPoint | str
BURST = 4  # discord.py tries a request 5 times: a burst this long is absorbed by its retries


@dataclass
class Run:
    """What a run did: its outcome, the writes each step made, the faults it met, and its gateway sessions.

    A kill point whose write a restart makes first is met there (see `recover`); `missed` are the kill points that
    never came: their step made no such write.
    """

    outcome: Outcome
    writes: list[list[Write]]
    faults: list[str]
    identifies: int
    resumes: int
    missed: list[str] = field(default_factory=list)


def describer(life: Life) -> Describe:
    """Say what a write says so that the same write reads the same in every run: snowflakes named, no nonce.

    Nonces are outbox ids, which shift when a restart queues a step earlier than a run without faults does.
    """

    def describe(call: Call) -> str:
        body = {k: v for k, v in call.body.items() if k != "nonce"} if isinstance(call.body, dict) else call.body
        return _plain(json.dumps(body, sort_keys=True, default=str), life.names)

    return describe


async def restart(life: Life) -> None:
    """Start the bot again, let it catch up, and let members redo what went unanswered (again if it died meanwhile)."""
    await life.harness.start()
    await advance(life, life.harness.clock.now())
    if life.redo is not None:
        await life.redo()
        life.redo = None


async def recover(life: Life, after: int, pending: dict[int, RequestPoint], faults: list[str]) -> list[Write]:
    """Restart the bot and let it catch up; return the writes it asked for.

    A restart may make a write that a run without faults makes in a later step (the restarted bot's start-up creates
    the event of the meeting after next but three, which is otherwise created as the meeting ends). If a kill is
    planned at that write, the bot is killed where it now makes it (that point is then met), and restarted again.
    """
    assert life.switch is not None
    switch, writes = life.switch, []
    while True:
        watch = {index: replace(point, index=0) for index, point in pending.items() if index > after}
        killed = await run_step(life.harness, switch, lambda: restart(life), list(watch.values()))
        writes += switch.writes
        if not killed:
            return writes
        planned = next(index for index, point in watch.items() if point == switch.tripped_at)
        del pending[planned]
        faults.append(f"{STEPS[planned][0]} (made at a restart after {STEPS[after][0]}): {switch.tripped_on}")


async def live(points: dict[int, Point], database_url: str | None = None) -> Run:
    """Live the meeting's life, killing the bot at `points` (step index: where in that step), then describe it."""
    async with world(database_url) as life:
        switch = life.switch = KillSwitch(life.sandbox, describer(life))
        await set_up(life)
        writes: list[list[Write]] = []
        faults: list[str] = []
        missed: list[str] = []
        pending = {index: point for index, point in points.items() if isinstance(point, RequestPoint)}
        sandbox = life.sandbox
        for index, (name, step) in enumerate(STEPS):
            point = points.get(index)
            resumes = sandbox.gateway.resume_count
            if point == DROP:
                await sandbox.actors.drop_connection()
            elif point == RATE_LIMITED:
                sandbox.ratelimits.force_429(None, count=BURST, retry_after=0.01)
            at_request = pending.pop(index, None)  # gone if a restart made its write and was killed there
            killed = await run_step(life.harness, switch, lambda step=step: step(life), at_request)  # type: ignore[misc]
            step_writes = list(switch.writes)
            if killed:
                faults.append(f"{name}: {switch.tripped_on}")
            elif point == IDLE:
                await crash(life.harness)
            elif at_request is not None:
                missed.append(f"{name}: {at_request} ({at_request.what})")
            if killed or point == IDLE:
                step_writes += await recover(life, index, pending, faults)
            if point in (IDLE, DROP, RATE_LIMITED):
                faults.append(f"{name}: {point}")
            if point == DROP:
                await sandbox.wait_until(
                    lambda resumes=resumes: sandbox.gateway.resume_count > resumes,  # type: ignore[misc]
                    what="the RESUME",
                )
                await settle(life.harness)
            life.redo = None
            writes.append(step_writes)
            await check_panel(life, name)
        await advance(life, SETTLE_AT)
        gateway = sandbox.gateway
        return Run(await outcome(life), writes, faults, gateway.identify_count, gateway.resume_count, missed)


_golden: Run | None = None


async def golden() -> Run:
    """Return the run in which nothing goes wrong (lived once per test process)."""
    global _golden
    if _golden is None:
        _golden = await live({})
    return _golden


def differences(got: Outcome, expected: Outcome) -> list[str]:
    """Say, field by field, how a run's outcome differs from the expected one."""
    found = []
    for name in Outcome.__dataclass_fields__:
        mine, theirs = getattr(got, name), getattr(expected, name)
        if mine == theirs:
            continue
        if isinstance(mine, dict) and isinstance(theirs, dict):
            for key in sorted(set(mine) | set(theirs)):
                if mine.get(key) != theirs.get(key):
                    found.append(f"{name}[{key}]: got {mine.get(key)!r}, expected {theirs.get(key)!r}")
        else:
            found.append(f"{name}: got {mine!r}, expected {theirs!r}")
    return found
