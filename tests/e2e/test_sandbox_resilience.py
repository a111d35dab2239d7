"""End to end: RESUME after a dropped connection, rate limits, 5xx retries, sharding, and killing a client."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.sandbox.plain_bot import PlainClient, ShardedBot
from tests.sandbox.plugin import ClientStarter, World
from tests.sandbox.runner import run_client
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"


async def test_dropped_connection_resumes_without_losing_dispatches(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    world = sandbox_world
    client = PlainClient(sync=False)
    await start_client(client)
    session = sandbox.gateway.connected_sessions()[0]
    before = await sandbox.actors.post(world.bob, world.general, "before")
    await sandbox.wait_until(lambda: len(client.messages) == 1, what="the first message")

    await sandbox.actors.drop_connection()
    assert session.connection is None
    during = [await sandbox.actors.post(world.alice, world.general, f"while away {i}") for i in range(3)]
    await sandbox.actors.voice_join(world.alice, world.voice)

    await sandbox.wait_until(lambda: client.resumes == 1, what="the RESUME")
    after = await sandbox.actors.post(world.bob, world.general, "after")
    await sandbox.wait_until(lambda: len(client.messages) == 5, what="every message")
    await sandbox.sync()
    assert [m.id for m in client.messages] == [before.id, *(m.id for m in during), after.id]
    assert client.voice == [("Alice", None, world.voice.id)]
    assert (sandbox.gateway.identify_count, sandbox.gateway.resume_count) == (1, 1)
    assert session.connection is not None


async def test_global_429_is_retried_transparently(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    world = sandbox_world
    client = PlainClient(sync=False)
    await start_client(client)
    rooms = [await sandbox.actors.create_channel(world.guild, f"room-{i}") for i in range(5)]
    await sandbox.sync()
    sandbox.ratelimits.global_limit, sandbox.ratelimits.global_per = 3, 0.3
    # Start a fresh window so all five requests land in it.
    sandbox.ratelimits.reset()
    sandbox.stats.reset()
    targets = [client.get_channel(room.id) for room in rooms]
    sent = await asyncio.gather(*(t.send(f"hello {i}") for i, t in enumerate(targets)))  # type: ignore[union-attr]
    assert sandbox.stats.rate_limited >= 2
    assert sandbox.stats.statuses[429] == sandbox.stats.rate_limited
    assert sandbox.stats.requests[MESSAGES_ROUTE] == 5 + sandbox.stats.rate_limited
    for room, message in zip(rooms, sent, strict=True):
        assert [m.id for m in sandbox.channel_messages(room)] == [message.id]


async def test_route_429_from_a_second_process_is_retried(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    # Two processes with one token share Discord's bucket; the second only learns it from a 429.
    world = sandbox_world
    sandbox.ratelimits.set_limit(MESSAGES_ROUTE, 1, 0.5)
    first, second = PlainClient(sync=False), PlainClient(sync=False)
    await start_client(first)
    await start_client(second)
    one = first.get_channel(world.general.id)
    two = second.get_channel(world.general.id)
    assert isinstance(one, discord.TextChannel) and isinstance(two, discord.TextChannel)
    await asyncio.gather(one.send("from the first process"), two.send("from the second process"))
    assert sandbox.stats.rate_limited_routes[MESSAGES_ROUTE] == 1
    contents = sorted(m.content for m in sandbox.channel_messages(world.general))
    assert contents == ["from the first process", "from the second process"]


async def test_forced_shared_429_and_5xx_are_retried(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    world = sandbox_world
    client = PlainClient(sync=False)
    await start_client(client)
    channel = client.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    sandbox.ratelimits.force_429(MESSAGES_ROUTE, retry_after=0.05)
    sandbox.faults.inject_5xx(MESSAGES_ROUTE, status=502)
    message = await channel.send("survives")
    assert sandbox.stats.rate_limited_routes[MESSAGES_ROUTE] == 1
    assert sandbox.stats.injected_5xx == 1
    assert sandbox.stats.requests[MESSAGES_ROUTE] == 3
    assert [m.id for m in sandbox.channel_messages(world.general)] == [message.id]


async def test_sharded_bot_gets_each_guild_on_its_shard(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    world = sandbox_world
    guilds = [world.guild]
    while len({(g.id >> 22) % 2 for g in guilds}) < 2:
        guilds.append(await sandbox.actors.create_guild(f"Group {len(guilds)}"))
    bot = ShardedBot(shard_count=2)
    await start_client(bot)
    assert sorted(s.shard for s in sandbox.gateway.connected_sessions()) == [(0, 2), (1, 2)]
    assert {g.id for g in bot.guilds} == {g.id for g in guilds}
    for guild in bot.guilds:
        assert guild.shard_id == (guild.id >> 22) % 2
    await sandbox.wait_for_commands("echo")
    other = next(g for g in guilds if (g.id >> 22) % 2 == 1)
    channel = await sandbox.actors.create_channel(other, "general")
    member = await sandbox.actors.create_member(other, "carol")
    handle = await sandbox.actors.invoke(other, member, "echo", {"text": "shard one"}, channel=channel)
    assert (await handle.response()).content == "shard one"


async def test_shard_count_comes_from_gateway_bot(sandbox: Sandbox, sandbox_world: World) -> None:
    sandbox.recommended_shards = 2
    bot = ShardedBot(shard_count=None)
    running = await run_client(sandbox, bot)
    try:
        assert bot.shard_count == 2
        assert sandbox.stats.requests["GET /gateway/bot"] == 1
    finally:
        await running.stop()
    await sandbox.wait_until(lambda: sandbox.gateway.connected_sessions() == [], what="both shards to disconnect")


async def test_killed_client_misses_interactions_and_a_new_one_starts_fresh(
    sandbox: Sandbox, sandbox_world: World
) -> None:
    world = sandbox_world
    sandbox.interaction_deadline = 0.2
    first = await run_client(sandbox, PlainClient())
    await sandbox.wait_for_commands("echo")
    await first.kill()
    assert sandbox.gateway.connected_sessions() == []
    # The session stays resumable, as after a crash; nobody answers in the meantime.
    assert len(sandbox.gateway.live_sessions()) == 1
    unanswered = await sandbox.actors.invoke(world.guild, world.alice, "echo", {"text": "anyone?"})
    await unanswered.wait_failed()
    sandbox.interaction_deadline = 3.0

    second = await run_client(sandbox, PlainClient(sync=False))
    try:
        handle = await sandbox.actors.invoke(world.guild, world.alice, "echo", {"text": "back"})
        assert (await handle.response()).content == "back"
        assert sandbox.gateway.identify_count == 2
        assert len(sandbox.gateway.live_sessions()) == 1
    finally:
        await second.stop()
    await sandbox.wait_until(lambda: sandbox.gateway.connected_sessions() == [], what="the client to disconnect")


async def test_reconnect_request_and_a_guild_joined_while_connected(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    client = PlainClient(sync=False)
    await start_client(client)
    joined = client.wait_for("guild_join")
    guild = await sandbox.actors.create_guild("New Group")
    assert (await asyncio.wait_for(joined, 5)).id == guild.id
    await sandbox.gateway.request_reconnect()
    await sandbox.wait_until(lambda: client.resumes == 1, what="the RESUME after op 7")
    assert sandbox.gateway.identify_count == 1
