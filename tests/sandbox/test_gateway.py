"""The sandbox gateway over a raw websocket: handshake, READY, sharding, intents, RESUME and replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.sandbox.gateway import DIRECT_MESSAGES, GUILDS, GUILD_MESSAGES, MESSAGE_CONTENT
from tests.sandbox.models import Guild
from tests.sandbox.server import Sandbox

INTENTS = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES


class Raw:
    """A bare gateway client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, op: int, data: Any) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": data}))

    async def recv(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=2)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def until(self, event: str) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            if frame.get("t") == event:
                return frame

    async def identify(self, token: str, *, intents: int = INTENTS, shard: list[int] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"token": token, "intents": intents, "properties": {}}
        if shard is not None:
            data["shard"] = shard
        await self.send(2, data)
        return await self.until("READY")


@pytest.fixture
async def connect(sandbox: Sandbox) -> AsyncIterator[Any]:
    session = aiohttp.ClientSession()
    sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def opener() -> Raw:
        ws = await session.ws_connect(sandbox.gateway_url + "?v=10&encoding=json&compress=zlib-stream", autoclose=False)
        sockets.append(ws)
        raw = Raw(ws)
        hello = await raw.recv()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        return raw

    yield opener
    for ws in sockets:
        await ws.close()
    await session.close()


async def test_identify_ready_and_guild_create(sandbox: Sandbox, connect: Any) -> None:
    guild = await sandbox.actors.create_guild("G")
    await sandbox.actors.create_channel(guild, "general")
    raw = await connect()
    await raw.send(1, None)
    assert (await raw.recv())["op"] == 11
    ready = await raw.identify(sandbox.token)
    data = ready["d"]
    assert ready["s"] == 1
    assert data["user"]["id"] == str(sandbox.bot.id)
    assert data["application"] == {"id": str(sandbox.state.app.id), "flags": sandbox.state.app.flags}
    assert data["resume_gateway_url"] == sandbox.gateway_url
    assert data["guilds"] == [{"id": str(guild.id), "unavailable": True}]
    created = await raw.until("GUILD_CREATE")
    payload = created["d"]
    for key in ("channels", "threads", "roles", "members", "voice_states", "guild_scheduled_events", "member_count"):
        assert key in payload
    assert payload["unavailable"] is False
    assert [m["user"]["id"] for m in payload["members"]] == [str(sandbox.bot.id)]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"token": "wrong", "intents": INTENTS}, 4004),
        ({"token": None, "intents": INTENTS, "shard": [2, 2]}, 4010),
        ({"token": None, "intents": -1}, 4013),
    ],
)
async def test_identify_errors_close_with_discord_codes(
    sandbox: Sandbox, connect: Any, data: dict[str, Any], code: int
) -> None:
    raw = await connect()
    await raw.send(2, data | {"token": data["token"] or sandbox.token})
    msg = await raw.ws.receive(timeout=2)
    assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == code


async def test_privileged_intent_not_enabled_closes_4014(connect: Any) -> None:
    sandbox = Sandbox(privileged_intents=False)
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url, autoclose=False) as ws:
            raw = Raw(ws)
            await raw.recv()
            await raw.send(2, {"token": sandbox.token, "intents": INTENTS | MESSAGE_CONTENT})
            msg = await ws.receive(timeout=2)
            assert msg.data == 4014
    finally:
        await sandbox.stop()


async def guild_on_shard(sandbox: Sandbox, shard: int) -> Guild:
    while True:
        guild = await sandbox.actors.create_guild()
        if (guild.id >> 22) % 2 == shard:
            return guild


async def test_shards_get_their_own_guilds_and_dms_go_to_shard_zero(sandbox: Sandbox, connect: Any) -> None:
    zero, one = await guild_on_shard(sandbox, 0), await guild_on_shard(sandbox, 1)
    raw0, raw1 = await connect(), await connect()
    ready0 = await raw0.identify(sandbox.token, shard=[0, 2])
    ready1 = await raw1.identify(sandbox.token, shard=[1, 2])
    assert ready0["d"]["shard"] == [0, 2]
    assert {g["id"] for g in ready0["d"]["guilds"]} >= {str(zero.id)}
    assert str(one.id) not in {g["id"] for g in ready0["d"]["guilds"]}
    assert {g["id"] for g in ready1["d"]["guilds"]} >= {str(one.id)}
    member = await sandbox.actors.create_member(one, "alice")
    channel = await sandbox.actors.create_channel(one, "general")
    await sandbox.actors.post(member, channel, "hello shard one")
    assert (await raw1.until("MESSAGE_CREATE"))["d"]["channel_id"] == str(channel.id)
    await sandbox.actors.dm_bot(member, "hello shard zero")
    assert (await raw0.until("MESSAGE_CREATE"))["d"]["content"] == "hello shard zero"


async def test_message_content_needs_the_intent(sandbox: Sandbox, connect: Any) -> None:
    guild = await sandbox.actors.create_guild()
    channel = await sandbox.actors.create_channel(guild, "general")
    member = await sandbox.actors.create_member(guild, "alice")
    plain, reader = await connect(), await connect()
    await plain.identify(sandbox.token)
    await reader.identify(sandbox.token, intents=INTENTS | MESSAGE_CONTENT)
    await sandbox.actors.post(member, channel, "secret words")
    blank = (await plain.until("MESSAGE_CREATE"))["d"]
    full = (await reader.until("MESSAGE_CREATE"))["d"]
    assert blank["content"] == "" and blank["author"]["id"] == str(member.id)
    assert full["content"] == "secret words"


async def test_resume_replays_missed_dispatches_then_resumed(sandbox: Sandbox, connect: Any) -> None:
    guild = await sandbox.actors.create_guild()
    channel = await sandbox.actors.create_channel(guild, "general")
    member = await sandbox.actors.create_member(guild, "alice")
    first = await connect()
    ready = await first.identify(sandbox.token)
    created = await first.until("GUILD_CREATE")
    seq = created["s"]
    # Any close code but 1000/1001 keeps the session resumable.
    await first.ws.close(code=4000)
    await sandbox.wait_until(lambda: not sandbox.gateway.connected_sessions(), what="the disconnect")
    for text in ("one", "two"):
        await sandbox.actors.post(member, channel, text)
    second = await connect()
    await second.send(6, {"token": sandbox.token, "session_id": ready["d"]["session_id"], "seq": seq})
    frames = [await second.recv() for _ in range(3)]
    assert [f["t"] for f in frames] == ["MESSAGE_CREATE", "MESSAGE_CREATE", "RESUMED"]
    assert [f["s"] for f in frames] == [seq + 1, seq + 2, seq + 3]


async def test_clean_close_and_bad_resume_invalidate(sandbox: Sandbox, connect: Any) -> None:
    raw = await connect()
    ready = await raw.identify(sandbox.token)
    await raw.ws.close(code=1000)
    await sandbox.wait_until(lambda: not sandbox.gateway.live_sessions(), what="the session to end")
    again = await connect()
    await again.send(6, {"token": sandbox.token, "session_id": ready["d"]["session_id"], "seq": 1})
    assert await again.recv() == {"op": 9, "d": False}
    other = await connect()
    await other.send(6, {"token": sandbox.token, "session_id": "nope", "seq": 1})
    assert (await other.recv())["op"] == 9


async def test_requested_heartbeat_is_the_sync_barrier(sandbox: Sandbox, connect: Any) -> None:
    raw = await connect()
    await raw.identify(sandbox.token)
    syncing = asyncio.create_task(sandbox.sync(timeout=2))
    frame = await raw.recv()
    assert frame == {"op": 1, "d": None}
    await raw.send(1, 1)
    assert (await raw.recv())["op"] == 11
    await syncing


async def test_request_guild_members(sandbox: Sandbox, connect: Any) -> None:
    guild = await sandbox.actors.create_guild()
    member = await sandbox.actors.create_member(guild, "alice")
    raw = await connect()
    await raw.identify(sandbox.token)
    await raw.send(8, {"guild_id": str(guild.id), "user_ids": [str(member.id)], "nonce": "n1"})
    chunk = (await raw.until("GUILD_MEMBERS_CHUNK"))["d"]
    assert chunk["nonce"] == "n1" and [m["user"]["id"] for m in chunk["members"]] == [str(member.id)]
