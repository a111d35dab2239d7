"""Point an unmodified discord.py client at the sandbox, run it, stop it cleanly or kill it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)


@contextlib.contextmanager
def pointed_at(sandbox: Sandbox) -> Iterator[None]:
    """Set `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` to the sandbox, restoring them afterwards."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = sandbox.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sandbox.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


class RunningClient:
    """A discord.py client running against the sandbox in a task."""

    def __init__(self, sandbox: Sandbox, client: discord.Client, token: str) -> None:
        self.sandbox = sandbox
        self.client = client
        self.token = token
        self.task: asyncio.Task[None] | None = None
        self._patch: contextlib.ExitStack | None = None

    async def start(self, *, ready_timeout: float = 10.0) -> RunningClient:
        """Start the client and wait until it is ready (READY plus every GUILD_CREATE handled)."""
        self._patch = contextlib.ExitStack()
        self._patch.enter_context(pointed_at(self.sandbox))
        self.task = asyncio.create_task(self.client.start(self.token), name=f"sandbox-client-{id(self.client)}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_timeout
        while not self.client.is_ready():
            if self.task.done():
                self._unpatch()
                # Surface LoginFailure, PrivilegedIntentsRequired and friends as they are.
                self.task.result()
                raise AssertionError("the client stopped before it was ready")
            if loop.time() > deadline:
                await self.kill()
                raise AssertionError(f"the client was not ready within {ready_timeout} s")
            await asyncio.sleep(0.005)
        return self

    async def stop(self, *, timeout: float = 15.0) -> None:
        """Close the client cleanly (gateway close 1000, HTTP session closed) and wait for its task.

        The time limit leaves room for SmartBot's own close: a delivery run's grace (5 s) and the database's (2 s).
        """
        try:
            if not self.client.is_closed():
                await asyncio.wait_for(self.client.close(), timeout)
            if self.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(self.task, timeout)
        finally:
            self._unpatch()

    async def kill(self) -> None:
        """Stop the client abruptly, like a crashed process: no close frame, its sessions stay resumable."""
        session_ids = session_ids_of(self.client)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        self.sandbox.gateway.drop(session_ids)
        for ws in _websockets(self.client):
            # The heartbeat thread would otherwise outlive the killed client.
            if ws._keep_alive is not None:
                ws._keep_alive.stop()
        # Release sockets and the aiohttp session; Discord cannot tell this from the process dying.
        await self.client.http.close()
        self._unpatch()

    def _unpatch(self) -> None:
        if self._patch is not None:
            self._patch.close()
            self._patch = None


def _websockets(client: discord.Client) -> list[DiscordWebSocket]:
    shards = getattr(client, "_AutoShardedClient__shards", None)
    if isinstance(shards, dict):
        return [shard.ws for shard in shards.values()]
    ws = getattr(client, "ws", None)
    return [ws] if isinstance(ws, DiscordWebSocket) else []


def session_ids_of(client: discord.Client) -> list[str]:
    """Return the gateway session ids a client (sharded or not) currently holds."""
    return [ws.session_id for ws in _websockets(client) if ws.session_id]


async def run_client(
    sandbox: Sandbox, client: discord.Client, token: str | None = None, *, ready_timeout: float = 10.0
) -> RunningClient:
    """Start `client` against the sandbox and return once it is ready; `await running.stop()` ends it."""
    return await RunningClient(sandbox, client, token or sandbox.token).start(ready_timeout=ready_timeout)
