"""Kill the bot like a crashed process at a chosen point: between steps, or around one of its REST requests.

A point "before" a request holds the request before Discord handles it (it never happens); a point "after"
lets Discord handle it and then withholds the answer (it happened, the bot never learns so). Either way the
test then kills the bot: every task running bot, cog or discord.py code is cancelled, the gateway is cut
without a close frame and the database connections are dropped, as if the process had died there. A point
"answer lost after" kills nothing: Discord handles the request and the bot is told 502, as when an answer
is lost on the way back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

import bot as bot_package
import cogs as cogs_package
from tests.fixtures.bot import BotHarness
from tests.sandbox import rest
from tests.sandbox.server import Sandbox

BEFORE, AFTER = "before", "after"
# Not a kill: Discord handles the request, then its answer is lost and the bot is told 502 Bad Gateway.
ANSWER_LOST = "answer lost after"
# The bot's writes to Discord; reads (GET) change nothing, so killing around them proves nothing new.
WRITE_METHODS = ("POST ", "PATCH ", "PUT ", "DELETE ")
# Code whose tasks die with the bot's process.
_BOT_CODE = tuple(os.path.dirname(module.__file__ or "") + os.sep for module in (discord, bot_package, cogs_package))


# What a write says, the same in every run (snowflakes named): given by the test, "" when it does not tell.
Describe = Callable[[rest.Call], str]


@dataclass(frozen=True)
class Write:
    """One write the bot made: its route, what it said, and whether it went to a DM channel."""

    route: str
    what: str = ""
    in_dm: bool = False

    def matches(self, route: str | None, what: str | None) -> bool:
        """Return whether this write is to `route` and says `what` (either None: any)."""
        return route in (None, self.route) and what in (None, self.what)


@dataclass(frozen=True)
class RequestPoint:
    """Kill around the `index`-th write the bot makes (to `route`, saying `what`, if given), counted from arming."""

    index: int
    when: str
    route: str | None = None
    what: str | None = None

    def __str__(self) -> str:
        return f"{self.when} write #{self.index}" + (f" to {self.route}" if self.route else "")


class KillSwitch:
    """Wrap every sandbox route so a test can stop the bot at its n-th write request (of a kind, if told)."""

    def __init__(self, sandbox: Sandbox, describe: Describe | None = None) -> None:
        self.sandbox = sandbox
        self.describe = describe
        self.tripped = asyncio.Event()
        self.tripped_on: str | None = None
        self.tripped_at: RequestPoint | None = None
        self._points: list[RequestPoint] = []
        self._seen: list[int] = []
        self._released = asyncio.Event()
        self.writes: list[Write] = []  # the writes the bot asked for since the switch was armed
        for route in sandbox.rest.router._routes:
            route.handler = self._wrap(route.handler)

    def arm(self, point: RequestPoint | Sequence[RequestPoint] | None) -> None:
        """Count writes from zero, and trip at `point`, or at whichever of several points comes first (None: count)."""
        self._points = [] if point is None else [point] if isinstance(point, RequestPoint) else list(point)
        self._seen = [0] * len(self._points)
        self.writes = []
        self.tripped = asyncio.Event()
        self.tripped_on = None
        self.tripped_at = None
        self._released = asyncio.Event()

    def disarm(self) -> None:
        """Stop tripping (the counts stay)."""
        self._points = []

    def release(self) -> None:
        """Let requests held by a tripped switch finish (the bot that made them is dead by now)."""
        self._points = []
        self._released.set()
        self.tripped = asyncio.Event()

    def _write(self, call: rest.Call) -> Write:
        channel_id = call.params.get("channel_id", "")
        channel = self.sandbox.state.channels.get(int(channel_id)) if channel_id.isdigit() else None
        what = self.describe(call) if self.describe is not None else ""
        return Write(call.route, what, in_dm=channel is not None and channel.is_dm)

    def _wrap(self, handler: rest.Handler) -> rest.Handler:
        async def wrapped(sb: Sandbox, call: rest.Call) -> rest.Reply:
            hold = None
            write = self._write(call) if call.route.startswith(WRITE_METHODS) else None
            if write is not None:
                self.writes.append(write)
            for number, point in enumerate(self._points):
                if write is None or not write.matches(point.route, point.what):
                    continue
                if hold is None and self._seen[number] == point.index and not self.tripped.is_set():
                    hold = point.when
                    self.tripped_on = f"{point}: {call.route}"
                    self.tripped_at = point
                self._seen[number] += 1
            if hold == ANSWER_LOST:
                self._points = []
            if hold == BEFORE:
                await self._trip()
                return GONE
            reply = await handler(sb, call)
            if hold == AFTER:
                await self._trip()
            if hold == ANSWER_LOST:
                return BAD_GATEWAY
            return reply

        return wrapped

    async def _trip(self) -> None:
        self.tripped.set()
        await self._released.wait()


# The answer to a request whose sender died: it goes nowhere.
GONE = rest.Reply(status=503, body={"message": "the client went away", "code": 0})
BAD_GATEWAY = rest.Reply(status=502, body={"message": "502: Bad Gateway", "code": 0})


def bot_tasks() -> list[asyncio.Task[Any]]:
    """Return the running tasks executing bot, cog or discord.py code (what dies with the process)."""
    found = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task() or task.done():
            continue
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        if code is not None and code.co_filename.startswith(_BOT_CODE):
            found.append(task)
    return found


async def crash(harness: BotHarness, *also: asyncio.Task[Any]) -> None:
    """Kill the bot as if its process died now: no clean shutdown, nothing it was doing carries on."""
    doomed = [*also, *bot_tasks()]
    for task in doomed:
        task.cancel()
    for task in doomed:
        with contextlib.suppress(BaseException):
            await task
    await harness.kill()


async def run_step(
    harness: BotHarness,
    switch: KillSwitch,
    step: Callable[[], Awaitable[object]],
    point: RequestPoint | Sequence[RequestPoint] | None,
) -> bool:
    """Run one step of a scenario with the switch armed at `point` (or points); return whether the bot was killed."""
    switch.arm(point)
    work = asyncio.create_task(step())
    tripped = asyncio.create_task(switch.tripped.wait())
    await asyncio.wait({work, tripped}, return_when=asyncio.FIRST_COMPLETED)
    if not switch.tripped.is_set():
        tripped.cancel()
        switch.disarm()
        await work  # surface the step's own failures
        return False
    tripped.cancel()
    await crash(harness, work)
    switch.release()
    return True
