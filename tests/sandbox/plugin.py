"""Pytest fixtures for the loopback Discord sandbox (registered from tests/conftest.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass

import discord
import pytest

from tests.sandbox.models import Channel, Guild, Member, Role
from tests.sandbox.runner import RunningClient, pointed_at, run_client
from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

ClientStarter = Callable[..., Awaitable[RunningClient]]


@dataclass
class World:
    """A small server to act in: one guild, a text and a voice channel, a role and two members."""

    guild: Guild
    general: Channel
    voice: Channel
    facilitator_role: Role
    alice: Member
    bob: Member


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report so the sandbox fixture can print its transcript on failure."""
    report = yield
    setattr(item, f"_sandbox_report_{report.when}", report)
    return report


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """Yield a started sandbox with discord.py pointed at it; print its transcript if the test fails."""
    sb = Sandbox()
    await sb.start()
    try:
        with pointed_at(sb):
            yield sb
    finally:
        report = getattr(request.node, "_sandbox_report_call", None)
        if report is not None and report.failed:
            print(f"\n----- sandbox transcript -----\n{sb.render()}")
        await sb.stop()
    if sb.internal_errors:
        pytest.fail("the sandbox itself failed: " + "; ".join(sb.internal_errors))


@pytest.fixture
async def sandbox_world(sandbox: Sandbox) -> World:
    """Build the standard small server in the sandbox."""
    actors = sandbox.actors
    guild = await actors.create_guild("SMART Test Group")
    general = await actors.create_channel(guild, "general")
    voice = await actors.create_channel(guild, "meeting-room", kind="voice")
    facilitator = await actors.create_role(guild, "Facilitator", mentionable=True)
    alice = await actors.create_member(guild, "alice", roles=[facilitator])
    bob = await actors.create_member(guild, "bob")
    return World(guild=guild, general=general, voice=voice, facilitator_role=facilitator, alice=alice, bob=bob)


@pytest.fixture
async def start_client(sandbox: Sandbox) -> AsyncIterator[ClientStarter]:
    """Yield `await start_client(client)` which runs a client until ready; every client is stopped at teardown."""
    running: list[RunningClient] = []

    async def starter(client: discord.Client, *, ready_timeout: float = 10.0) -> RunningClient:
        handle = await run_client(sandbox, client, ready_timeout=ready_timeout)
        running.append(handle)
        return handle

    yield starter
    for handle in reversed(running):
        if handle.task is not None and not handle.task.done():
            await handle.stop()
