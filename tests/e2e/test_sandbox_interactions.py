"""End to end: a plain discord.py bot's slash commands, components, modals and autocomplete in the sandbox."""

from __future__ import annotations

import discord
import pytest

from tests.sandbox.handles import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    MODAL,
    UPDATE_MESSAGE,
)
from tests.sandbox.plain_bot import PlainClient
from tests.sandbox.plugin import ClientStarter, World
from tests.sandbox.runner import run_client
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter) -> PlainClient:
    client = PlainClient()
    await start_client(client)
    await sandbox.wait_for_commands("echo", "meeting")
    return client


async def test_login_and_sync_register_the_tree(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    assert bot.user is not None and bot.user.id == sandbox.bot.id
    assert [g.id for g in bot.guilds] == [sandbox_world.guild.id]
    synced = {c.name: c for c in sandbox.state.commands.values()}
    assert {"echo", "secret", "slow", "panel", "feedback", "survey", "city", "twice", "late", "meeting"} <= set(synced)
    ids = {name: c.id for name, c in synced.items()}
    # Syncing an unchanged tree keeps ids and versions, as Discord does.
    versions = {name: c.version for name, c in synced.items()}
    fetched = await bot.tree.sync()
    assert {c.name: c.id for c in fetched} == ids
    assert {c.name: c.version for c in sandbox.state.commands.values()} == versions


async def test_message_response(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.alice, "echo", {"text": "hi", "times": 2})
    response = await handle.response()
    assert response.type == CHANNEL_MESSAGE
    assert response.content == "hi hi"
    assert not response.ephemeral
    assert sandbox.last_message(sandbox_world.general).content == "hi hi"


async def test_ephemeral_response_is_seen_by_the_invoker_only(
    sandbox: Sandbox, sandbox_world: World, bot: PlainClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "secret")
    response = await handle.response()
    assert response.ephemeral
    assert [m.content for m in sandbox.ephemeral_replies(sandbox_world.bob)] == ["only you can see this"]
    assert sandbox.channel_messages(sandbox_world.general) == []


async def test_subcommand_with_choices_and_member_option(
    sandbox: Sandbox, sandbox_world: World, bot: PlainClient
) -> None:
    world = sandbox_world
    handle = await sandbox.actors.invoke(
        world.guild, world.alice, "meeting schedule", {"when": "tomorrow", "kind": "hybrid", "host": world.bob}
    )
    assert (await handle.response()).content == "Scheduled hybrid meeting tomorrow hosted by Bob"


async def test_invalid_invocations_fail_like_the_discord_client(sandbox: Sandbox, sandbox_world: World) -> None:
    world = sandbox_world
    with pytest.raises(AssertionError, match="not a command the bot synced"):
        await sandbox.actors.invoke(world.guild, world.alice, "echo", {"text": "hi"})
    running = await run_client(sandbox, PlainClient())
    try:
        with pytest.raises(AssertionError, match="needs option 'text'"):
            await sandbox.actors.invoke(world.guild, world.alice, "echo")
        with pytest.raises(AssertionError, match="between 1 and 3"):
            await sandbox.actors.invoke(world.guild, world.alice, "echo", {"text": "x", "times": 4})
        with pytest.raises(AssertionError, match="one of the choices"):
            await sandbox.actors.invoke(world.guild, world.alice, "meeting schedule", {"when": "x", "kind": "offline"})
        with pytest.raises(AssertionError, match="needs a subcommand"):
            await sandbox.actors.invoke(world.guild, world.alice, "meeting")
        with pytest.raises(AssertionError, match="no option"):
            await sandbox.actors.invoke(world.guild, world.alice, "secret", {"nope": 1})
    finally:
        await running.stop()


async def test_deferred_response_follow_ups_and_original_edit(
    sandbox: Sandbox, sandbox_world: World, bot: PlainClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.alice, "slow", {"ephemeral": True})
    response = await handle.response()
    assert response.type == DEFERRED_CHANNEL_MESSAGE
    await handle.wait_original(lambda m: m.content == "done thinking (edited)")
    answers = await handle.wait_followups(2)
    # The first follow-up replaced the "thinking" message and kept the defer's ephemeral flag.
    assert [m.content for m in answers] == ["done thinking (edited)", "and one more thing"]
    assert answers[0].ephemeral
    assert not answers[1].ephemeral
    assert [e.text for e in handle.edits] == ["'done thinking (edited)'"]


async def test_button_updates_the_message(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    panel = await (await sandbox.actors.invoke(world.guild, world.alice, "panel")).response()
    assert panel.message is not None
    click = await sandbox.actors.click(world.bob, panel.message, label="Yes")
    response = await click.response()
    assert response.type == UPDATE_MESSAGE
    message = sandbox.last_message(world.general)
    assert message.id == panel.message.id
    assert message.content == "Bob said yes"
    assert message.components == []
    with pytest.raises(AssertionError, match="no button"):
        await sandbox.actors.click(world.bob, message, label="Yes")


async def test_select_menu(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    panel = await (await sandbox.actors.invoke(world.guild, world.alice, "panel")).response()
    assert panel.message is not None
    with pytest.raises(AssertionError, match="not an option"):
        await sandbox.actors.select(world.bob, panel.message, ["purple"], custom_id="panel:colour")
    with pytest.raises(AssertionError, match="takes 1-2 values"):
        await sandbox.actors.select(world.bob, panel.message, ["red", "green", "blue"], custom_id="panel:colour")
    with pytest.raises(AssertionError, match="exactly one matching select"):
        await sandbox.actors.select(world.bob, panel.message, ["red"])
    chosen = await sandbox.actors.select(world.bob, panel.message, ["red", "blue"], custom_id="panel:colour")
    response = await chosen.response()
    assert response.content == "You chose red, blue"
    assert response.ephemeral
    picked = await sandbox.actors.select(world.bob, panel.message, [world.alice], custom_id="panel:who")
    assert (await picked.response()).content == "Facilitator: Alice"


async def test_modal_from_command_and_from_button(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    opened = await sandbox.actors.invoke(world.guild, world.alice, "feedback")
    assert (await opened.response()).type == MODAL
    assert opened.modal is not None and opened.modal["title"] == "Meeting feedback"
    with pytest.raises(AssertionError, match="required"):
        await sandbox.actors.submit_modal(opened, {"What helped?": "x"})
    submitted = await sandbox.actors.submit_modal(opened, {"Your name": "Alice", "feedback:text": "the check-in"})
    assert (await submitted.response()).content == "Thanks Alice: the check-in"

    panel = await (await sandbox.actors.invoke(world.guild, world.alice, "panel")).response()
    assert panel.message is not None
    from_button = await sandbox.actors.click(world.bob, panel.message, label="Give feedback")
    assert (await from_button.response()).type == MODAL
    submitted = await sandbox.actors.submit_modal(from_button, {"feedback:name": "Bob"})
    assert (await submitted.response()).content == "Thanks Bob: -"


async def test_modal_with_labels_and_a_select(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    opened = await sandbox.actors.invoke(world.guild, world.alice, "survey")
    await opened.response()
    submitted = await sandbox.actors.submit_modal(opened, {"How are you?": "fine", "Meeting type": ["hybrid"]})
    assert (await submitted.response()).content == "fine / ['hybrid']"


async def test_command_in_a_dm(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    user = sandbox_world.alice.user
    handle = await sandbox.actors.invoke(None, user, "echo", {"text": "in private"})
    response = await handle.response()
    assert response.message is not None and sandbox.state.channels[response.message.channel_id].is_dm
    assert [m.content for m in sandbox.dms(user)] == ["in private"]


async def test_autocomplete(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    world = sandbox_world
    choices = await sandbox.actors.autocomplete(world.guild, world.alice, "city", {"name": "b"}, focused="name")
    assert [c["value"] for c in choices] == ["Berlin", "Boston", "Bristol"]
    assert sandbox.transcript.last().kind == "response"
    assert sandbox.transcript.last().data["type"] == AUTOCOMPLETE_RESULT
    with pytest.raises(AssertionError, match="does not use autocomplete"):
        await sandbox.actors.autocomplete(world.guild, world.alice, "echo", {}, focused="text")


async def test_second_initial_response_gets_40060(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.alice, "twice")
    assert (await handle.response()).content == "first"
    await sandbox.wait_until(lambda: "twice" in bot.record, what="the second response to be refused")
    error = bot.record["twice"]
    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (400, 40060)


async def test_late_response_gets_10062(sandbox: Sandbox, sandbox_world: World, bot: PlainClient) -> None:
    sandbox.interaction_deadline = 0.2
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.alice, "late")
    await handle.wait_failed()
    bot.record["late_gate"].set()
    await sandbox.wait_until(lambda: "late" in bot.record, what="the late response to be refused")
    error = bot.record["late"]
    assert isinstance(error, discord.NotFound)
    assert error.code == 10062
    assert sandbox.transcript.of_kind("failed")
    with pytest.raises(AssertionError, match="did not answer"):
        await handle.response()
