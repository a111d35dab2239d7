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
from collections.abc import Awaitable, Callable
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


@dataclass(frozen=True)
class RequestPoint:
    """Kill around the `index`-th write the bot makes (to `route` if given), counted from when the switch is armed."""

    index: int
    when: str
    route: str | None = None

    def __str__(self) -> str:
        return f"{self.when} write #{self.index}" + (f" to {self.route}" if self.route else "")


class KillSwitch:
    """Wrap every sandbox route so a test can stop the bot at its n-th write request."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.tripped = asyncio.Event()
        self.tripped_on: str | None = None
        self._point: RequestPoint | None = None
        self._seen = 0
        self._released = asyncio.Event()
        self.writes: list[str] = []
        for route in sandbox.rest.router._routes:
            route.handler = self._wrap(route.handler)

    def arm(self, point: RequestPoint | None) -> None:
        """Count writes from zero, and trip at `point` (None: only count)."""
        self._point = point
        self._seen = 0
        self.writes = []
        self.tripped = asyncio.Event()
        self.tripped_on = None
        self._released = asyncio.Event()

    def disarm(self) -> None:
        """Stop tripping (the counts stay)."""
        self._point = None

    def release(self) -> None:
        """Let requests held by a tripped switch finish (the bot that made them is dead by now)."""
        self._point = None
        self._released.set()
        self.tripped = asyncio.Event()

    def _wrap(self, handler: rest.Handler) -> rest.Handler:
        async def wrapped(sb: Sandbox, call: rest.Call) -> rest.Reply:
            hold = None
            point = self._point
            if call.route.startswith(WRITE_METHODS):
                self.writes.append(call.route)
            if call.route.startswith(WRITE_METHODS) and (point is None or point.route in (None, call.route)):
                if point is not None and self._seen == point.index and not self.tripped.is_set():
                    hold = point.when
                    self.tripped_on = f"{point}: {call.route}"
                    if hold == ANSWER_LOST:
                        self._point = None
                self._seen += 1
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
    harness: BotHarness, switch: KillSwitch, step: Callable[[], Awaitable[object]], point: RequestPoint | None
) -> bool:
    """Run one step of a scenario with the switch armed at `point`; return whether the bot was killed in it."""
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
