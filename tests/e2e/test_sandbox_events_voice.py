"""End to end: scheduled events and voice presence with a plain discord.py bot."""

from __future__ import annotations

import asyncio
import datetime as dt

import discord
import pytest

from tests.sandbox.plain_bot import PlainClient
from tests.sandbox.plugin import ClientStarter, World
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter) -> PlainClient:
    client = PlainClient(sync=False)
    await start_client(client)
    return client


def guild_of(bot: PlainClient, world: World) -> discord.Guild:
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    return guild


async def test_scheduled_event_created_edited_and_run(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    # Five edits in a row would exhaust the bucket and make discord.py wait; this test is not about that.
    sandbox.ratelimits.set_limit("PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}", 10, 5.0)
    guild = guild_of(bot, world)
    voice = guild.get_channel(world.voice.id)
    assert isinstance(voice, discord.VoiceChannel)
    start = discord.utils.utcnow() + dt.timedelta(hours=2)
    event = await guild.create_scheduled_event(
        name="Tuesday SMART meeting",
        start_time=start,
        channel=voice,
        entity_type=discord.EntityType.voice,
        privacy_level=discord.PrivacyLevel.guild_only,
        description="Weekly online meeting",
    )
    stored = world.guild.scheduled_events[event.id]
    assert stored.name == "Tuesday SMART meeting" and stored.channel_id == world.voice.id
    await sandbox.sync()
    assert guild.get_scheduled_event(event.id) is not None

    edited = await event.edit(name="Tuesday SMART meeting (new time)", start_time=start + dt.timedelta(hours=1))
    assert edited.name.endswith("(new time)")
    assert stored.scheduled_start_time == start + dt.timedelta(hours=1)

    with pytest.raises(discord.HTTPException) as caught:
        await edited.edit(status=discord.EventStatus.completed)
    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert stored.status == 1

    started = await edited.start()
    assert started.status is discord.EventStatus.active
    ended = await started.end()
    assert ended.status is discord.EventStatus.completed
    with pytest.raises(discord.HTTPException):
        await ended.edit(name="again")
    kinds = [e.text.split(" event ")[0] for e in sandbox.transcript.of_kind("event")]
    assert kinds == ["created", "edited", "moved from scheduled to active", "moved from active to completed"]


async def test_external_event_needs_location_and_end(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    guild = guild_of(bot, sandbox_world)
    start = discord.utils.utcnow() + dt.timedelta(days=1)
    event = await guild.create_scheduled_event(
        name="Park walk",
        start_time=start,
        end_time=start + dt.timedelta(hours=1),
        entity_type=discord.EntityType.external,
        location="Victoria Park",
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    assert event.location == "Victoria Park"
    with pytest.raises(discord.HTTPException) as caught:
        await guild.create_scheduled_event(
            name="Past",
            start_time=discord.utils.utcnow() - dt.timedelta(days=1),
            end_time=discord.utils.utcnow(),
            entity_type=discord.EntityType.external,
            location="x",
            privacy_level=discord.PrivacyLevel.guild_only,
        )
    assert caught.value.code == 50035
    canceled = await event.cancel()
    assert canceled.status is discord.EventStatus.cancelled
    await event.delete()
    with pytest.raises(discord.NotFound) as missing:
        await guild.fetch_scheduled_event(event.id)
    assert missing.value.code == 10070


async def test_member_interest_is_dispatched(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    guild = guild_of(bot, world)
    event = await guild.create_scheduled_event(
        name="Check-in",
        start_time=discord.utils.utcnow() + dt.timedelta(hours=3),
        channel=guild.get_channel(world.voice.id),
        entity_type=discord.EntityType.voice,
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    # discord.py drops USER_ADD for users it has not cached (no members intent), so watch the raw event type.
    waiter = bot.wait_for("socket_event_type", check=lambda name: name == "GUILD_SCHEDULED_EVENT_USER_ADD")
    await sandbox.actors.subscribe(world.bob, world.guild.scheduled_events[event.id])
    await asyncio.wait_for(waiter, 5)
    fetched = await guild.fetch_scheduled_event(event.id, with_counts=True)
    assert fetched.user_count == 1
    users = [u.id async for u in fetched.users()]
    assert users == [world.bob.id]


async def test_voice_join_move_and_leave_reach_the_listener(
    sandbox: Sandbox, sandbox_world: World, bot: PlainClient
) -> None:
    world = sandbox_world
    second = await sandbox.actors.create_channel(world.guild, "breakout", kind="voice")
    # discord.py reuses the `after` VoiceState object, so let the listener run after each change.
    await sandbox.actors.voice_join(world.alice, world.voice)
    await sandbox.wait_until(lambda: len(bot.voice) == 1, what="the join")
    await sandbox.actors.voice_move(world.alice, second)
    await sandbox.wait_until(lambda: len(bot.voice) == 2, what="the move")
    await sandbox.actors.voice_leave(world.alice)
    await sandbox.wait_until(lambda: len(bot.voice) == 3, what="the leave")
    assert bot.voice == [
        ("Alice", None, world.voice.id),
        ("Alice", world.voice.id, second.id),
        ("Alice", second.id, None),
    ]
    with pytest.raises(AssertionError, match="not in a voice channel"):
        await sandbox.actors.voice_leave(world.alice)


async def test_voice_states_arrive_with_guild_create(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    world = sandbox_world
    await sandbox.actors.voice_join(world.bob, world.voice)
    client = PlainClient(sync=False)
    await start_client(client)
    guild = guild_of(client, world)
    voice = guild.get_channel(world.voice.id)
    assert isinstance(voice, discord.VoiceChannel)
    assert [m.id for m in voice.members] == [world.bob.id]
