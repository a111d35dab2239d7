"""End to end: messages, DMs, permissions, nonces, mentions, intents and validation with a plain discord.py bot."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.sandbox import permissions as perms
from tests.sandbox.plain_bot import PlainClient
from tests.sandbox.plugin import ClientStarter, World
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter) -> PlainClient:
    client = PlainClient(sync=False)
    await start_client(client)
    return client


def channel_of(bot: PlainClient, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_dm_and_closed_dms(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    user = await bot.fetch_user(world.alice.id)
    sent = await user.send("Your meeting starts soon")
    assert [m.content for m in sandbox.dms(world.alice)] == ["Your meeting starts soon"]
    assert sandbox.dms(world.alice)[0].id == sent.id
    assert sandbox.transcript.dms(world.alice.id)

    await sandbox.actors.set_dms_open(world.bob, False)
    bob = await bot.fetch_user(world.bob.id)
    with pytest.raises(discord.Forbidden) as caught:
        await bob.send("hello")
    assert caught.value.code == 50007


async def test_member_dm_reaches_the_bot(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    await sandbox.actors.dm_bot(sandbox_world.bob, "can I join tonight?")
    await sandbox.sync()
    dms = [m for m in bot.messages if isinstance(m.channel, discord.DMChannel)]
    assert [m.content for m in dms] == ["can I join tonight?"]


async def test_overwrite_denying_send_messages_is_forbidden(
    sandbox: Sandbox, sandbox_world: World, bot: PlainClient
) -> None:
    world = sandbox_world
    channel = channel_of(bot, world.general.id)
    await channel.send("allowed")
    await sandbox.actors.set_overwrite(world.general, world.guild, deny=discord.Permissions(send_messages=True))
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("denied")
    assert caught.value.code == 50013
    # A member overwrite for the bot beats the @everyone deny, as in Discord's computation.
    bot_member = world.guild.members[sandbox.bot.id]
    await sandbox.actors.set_overwrite(world.general, bot_member, allow=perms.SEND_MESSAGES)
    await channel.send("allowed again")
    assert [m.content for m in sandbox.channel_messages(world.general)] == ["allowed", "allowed again"]


async def test_hidden_channel_is_missing_access(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    secret = await sandbox.actors.create_channel(world.guild, "staff-only")
    bot_role = next(r for r in world.guild.roles.values() if r.managed)
    await sandbox.actors.set_overwrite(secret, bot_role, deny=perms.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as caught:
        await bot.http.send_message(secret.id, params=discord.http.handle_message_parameters(content="hi"))
    assert caught.value.code == 50001


async def test_enforce_nonce_returns_the_same_message(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    # Five sends would exhaust Discord's 5-per-5-s bucket and make discord.py wait; this test is not about that.
    sandbox.ratelimits.set_limit("POST /channels/{channel_id}/messages", 10, 5.0)
    channel = channel_of(bot, sandbox_world.general.id)
    # discord.py sends `enforce_nonce: true` whenever a nonce is given.
    first = await channel.send("Meeting starts now", nonce="reminder-42")
    again = await channel.send("Meeting starts now", nonce="reminder-42")
    other = await channel.send("Meeting starts now", nonce="reminder-43")
    assert first.id == again.id
    assert other.id != first.id
    # Without enforce_nonce the nonce is only echoed back: two messages.
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    loose = [await bot.http.request(route, json={"content": "again", "nonce": "loose"}) for _ in range(2)]
    assert loose[0]["id"] != loose[1]["id"]
    assert loose[0]["nonce"] == "loose"
    assert len(sandbox.channel_messages(sandbox_world.general)) == 4


async def test_allowed_mentions_decide_who_is_pinged(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    channel = channel_of(bot, world.general.id)
    role = world.facilitator_role
    text = f"<@{world.bob.id}> <@&{role.id}> @everyone"
    quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
    loud = await channel.send(
        text, allowed_mentions=discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role.id)])
    )
    pings = {entry.message_id: entry.pings for entry in sandbox.pings()}
    assert quiet.id not in pings
    assert quiet.mentions == [] and quiet.role_mentions == [] and not quiet.mention_everyone
    assert pings[loud.id].roles == [role.id]
    assert pings[loud.id].users == []
    assert pings[loud.id].user_ids == {world.alice.id}
    assert [r.id for r in loud.role_mentions] == [role.id]

    # A role that is not mentionable is only pinged by someone with Mention Everyone.
    await sandbox.actors.edit_role(world.guild, role, mentionable=False)
    muted = await channel.send(f"<@&{role.id}>", allowed_mentions=discord.AllowedMentions(roles=True))
    assert muted.id not in {e.message_id for e in sandbox.pings()}


async def test_member_messages_arrive_without_content_for_a_bot_without_the_intent(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter
) -> None:
    world = sandbox_world
    plain = PlainClient(sync=False)
    reader_intents = discord.Intents.default()
    reader_intents.message_content = True
    reader = PlainClient(sync=False, intents=reader_intents)
    await start_client(plain)
    await start_client(reader)
    posted = await sandbox.actors.post(world.bob, world.general, "I'm running late")
    mention = await sandbox.actors.post(world.bob, world.general, f"<@{sandbox.bot.id}> are we on?")
    await sandbox.sync()
    seen_plain = {m.id: m for m in plain.messages}
    seen_reader = {m.id: m for m in reader.messages}
    assert seen_plain[posted.id].content == ""
    assert seen_plain[posted.id].author.id == world.bob.id
    assert seen_reader[posted.id].content == "I'm running late"
    # Mentions of the bot keep their content even without the intent.
    assert seen_plain[mention.id].content.endswith("are we on?")


async def test_content_over_2000_is_invalid_form_body(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    channel = channel_of(bot, sandbox_world.general.id)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert "content" in caught.value.text or "2000" in caught.value.text
    assert sandbox.channel_messages(sandbox_world.general) == []


async def test_edit_pin_delete_and_history(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    channel = channel_of(bot, world.general.id)
    message = await channel.send("Agenda: check-in")
    member_message = await sandbox.actors.post(world.alice, world.general, "hello")
    await message.edit(content="Agenda: check-in, working time")
    await message.pin()
    pins = [m async for m in channel.pins()]
    assert [m.id for m in pins] == [message.id]
    history = [m.id async for m in channel.history(limit=10)]
    assert history == [member_message.id, message.id]
    theirs = await channel.fetch_message(member_message.id)
    with pytest.raises(discord.Forbidden) as caught:
        await theirs.edit(content="not mine")
    assert caught.value.code == 50005
    await message.delete()
    with pytest.raises(discord.NotFound) as missing:
        await channel.fetch_message(message.id)
    assert missing.value.code == 10008


async def test_threads(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    channel = channel_of(bot, world.general.id)
    starter = await channel.send("Tonight's meeting")
    created = bot.wait_for("thread_create")
    thread = await starter.create_thread(name="Meeting chat", auto_archive_duration=60)
    assert thread.id == starter.id
    assert (await asyncio.wait_for(created, 5)).id == thread.id
    await thread.send("Welcome")
    await sandbox.actors.post(world.bob, sandbox.state.channels[thread.id], "hi all")
    private = await channel.create_thread(name="Facilitators", type=discord.ChannelType.private_thread)
    assert private.type is discord.ChannelType.private_thread
    updated = bot.wait_for("raw_thread_update")
    await thread.edit(archived=True, locked=True)
    assert (await asyncio.wait_for(updated, 5)).data["thread_metadata"]["locked"] is True
    model = sandbox.state.channels[thread.id]
    assert model.archived and model.locked
    with pytest.raises(AssertionError, match="locked"):
        await sandbox.actors.post(world.bob, model, "still there?")
    await bot.http.join_thread(private.id)


async def test_member_roles_added_and_removed(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    member = await guild.fetch_member(world.bob.id)
    role = guild.get_role(world.facilitator_role.id)
    assert role is not None
    await member.add_roles(role)
    assert world.facilitator_role.id in world.guild.members[world.bob.id].roles
    await member.remove_roles(role)
    assert world.facilitator_role.id not in world.guild.members[world.bob.id].roles
    above = await sandbox.actors.create_role(world.guild, "Admins", position=10)
    with pytest.raises(discord.Forbidden) as caught:
        await member.add_roles(discord.Object(above.id))
    assert caught.value.code == 50013
    with pytest.raises(discord.NotFound) as missing:
        await member.add_roles(discord.Object(12345678901234567))
    assert missing.value.code == 10011
