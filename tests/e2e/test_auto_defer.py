"""End to end: a handler that is slow to answer is deferred in time, and its answer keeps the visibility it chose."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from bot.client import SmartTree
from cogs import _replies
from cogs._errors import BotModal, BotView, report_error
from cogs._replies import PatientResponse, reply
from tests.sandbox.handles import (
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    InteractionHandle,
    MODAL,
)
from tests.sandbox.models import Message
from tests.sandbox.plugin import ClientStarter, World
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

# Scaled down from 2 s so the tests stay quick; each handler then waits on a gate the test opens.
DEFER_AFTER = 0.05
LONG_TEXT = "word " * 500  # two messages


class SlowView(BotView):
    """Buttons whose work outlasts the deferral delay."""

    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__(timeout=None)
        self.gate = gate

    @discord.ui.button(label="Go", custom_id="slow:go")
    async def go(self, interaction: discord.Interaction, _button: discord.ui.Button[SlowView]) -> None:
        """Answer privately once the work is done."""
        await self.gate.wait()
        await interaction.response.send_message("went", ephemeral=True)

    @discord.ui.button(label="Edit", custom_id="slow:edit")
    async def edit(self, interaction: discord.Interaction, _button: discord.ui.Button[SlowView]) -> None:
        """Update the button's message once the work is done."""
        await self.gate.wait()
        await interaction.response.edit_message(content="edited", view=None)


class SlowModal(BotModal, title="Slow form"):
    """A form whose submission outlasts the deferral delay."""

    text: discord.ui.TextInput[SlowModal] = discord.ui.TextInput(label="Anything")

    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__()
        self.gate = gate

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Answer privately once the work is done."""
        await self.gate.wait()
        await reply(interaction, f"got {self.text.value}")


class SlowClient(discord.Client):
    """A client with SmartBot's command tree and error reporting, and commands that wait for the test."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = SmartTree(self)  # type: ignore[arg-type]
        self.tree.on_error = report_error  # type: ignore[assignment,method-assign]
        self.gate = asyncio.Event()
        self.seen: list[discord.Interaction] = []
        tree, gate, seen = self.tree, self.gate, self.seen

        @tree.command(description="Work, then answer (privately unless told)")
        async def work(interaction: discord.Interaction, how: str) -> None:
            seen.append(interaction)
            await gate.wait()
            if how == "private":
                await reply(interaction, "done")
            elif how == "public":
                await reply(interaction, "done", ephemeral=False)
            elif how == "direct":
                await interaction.response.send_message("direct", ephemeral=True)
            elif how == "long":
                await reply(interaction, LONG_TEXT)
            elif how == "panel":
                await reply(interaction, "Choose:", view=SlowView(gate), ephemeral=False)
            else:
                raise ValueError("boom")

        @tree.command(description="Work, then answer (publicly unless told)", extras={"ephemeral": False})
        async def announce(interaction: discord.Interaction, how: str) -> None:
            await gate.wait()
            await reply(interaction, "announced", ephemeral=how != "public")

        @tree.command(description="Answer at once")
        async def quick(interaction: discord.Interaction) -> None:
            seen.append(interaction)
            await reply(interaction, "quick")

        @tree.command(description="Open a form", extras={"auto_defer": False})
        async def form(interaction: discord.Interaction) -> None:
            seen.append(interaction)
            await interaction.response.send_modal(SlowModal(gate))

    async def setup_hook(self) -> None:
        """Sync the commands."""
        await self.tree.sync()


@pytest.fixture
async def client(
    sandbox: Sandbox, sandbox_world: World, start_client: ClientStarter, monkeypatch: pytest.MonkeyPatch
) -> SlowClient:
    monkeypatch.setattr(_replies, "AUTO_DEFER_AFTER", DEFER_AFTER)
    bot = SlowClient()
    await start_client(bot)
    await sandbox.wait_for_commands("work", "announce", "quick", "form")
    return bot


async def deferred(sandbox: Sandbox, handle: InteractionHandle) -> int:
    """Wait for the bot's deferral and return its response type."""
    await sandbox.wait_until(lambda: handle.responded, what="the deferral")
    assert handle.interaction.response_type is not None
    return handle.interaction.response_type


def public(sandbox: Sandbox, world: World) -> list[str]:
    return [m.content for m in sandbox.channel_messages(world.general)]


def private(sandbox: Sandbox, world: World) -> list[str]:
    return [m.content for m in sandbox.ephemeral_replies(world.bob)]


async def test_a_slow_private_answer_is_deferred_privately_and_stays_private(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "work", {"how": "private"})
    assert await deferred(sandbox, handle) == DEFERRED_CHANNEL_MESSAGE and handle.interaction.ephemeral
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content == "done"
    assert public(sandbox, sandbox_world) == []


async def test_a_public_answer_after_a_private_deferral_is_posted_publicly(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "work", {"how": "public"})
    assert await deferred(sandbox, handle) == DEFERRED_CHANNEL_MESSAGE
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert not answer.ephemeral and public(sandbox, sandbox_world) == ["done"]
    assert private(sandbox, sandbox_world) == []  # the private "thinking" message is gone


async def test_a_command_answering_publicly_thinks_publicly(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "announce", {"how": "public"})
    assert await deferred(sandbox, handle) == DEFERRED_CHANNEL_MESSAGE and not handle.interaction.ephemeral
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert not answer.ephemeral and public(sandbox, sandbox_world) == ["announced"]


async def test_a_private_answer_after_a_public_deferral_is_never_shown_publicly(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "announce", {"how": "private"})
    assert await deferred(sandbox, handle) == DEFERRED_CHANNEL_MESSAGE and not handle.interaction.ephemeral
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content == "announced"
    assert public(sandbox, sandbox_world) == []  # the public "thinking" message was removed, not filled in


async def test_a_handler_answering_directly_is_answered_by_follow_up(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "work", {"how": "direct"})
    await deferred(sandbox, handle)
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content == "direct"


async def test_a_long_answer_continues_in_private_follow_ups(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "work", {"how": "long"})
    await deferred(sandbox, handle)
    client.gate.set()
    answers = await handle.wait_followups(2)
    assert all(m.ephemeral for m in answers)
    assert " ".join(m.content for m in answers).split() == LONG_TEXT.split()


async def test_an_error_after_the_deferral_gets_the_private_apology(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "work", {"how": "error"})
    await deferred(sandbox, handle)
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content.startswith("Sorry, something went wrong")


async def test_a_quick_answer_is_not_deferred(sandbox: Sandbox, sandbox_world: World, client: SlowClient) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "quick")
    answer = await handle.response()
    assert answer.type == CHANNEL_MESSAGE and answer.ephemeral and answer.content == "quick"
    [interaction] = client.seen
    assert isinstance(interaction.response, PatientResponse)
    assert interaction.response._timer is None  # nothing left to defer later
    assert not interaction.response.deferred_by_bot


async def test_a_command_opening_a_form_is_never_deferred(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "form")
    assert (await handle.response()).type == MODAL
    [interaction] = client.seen
    assert not isinstance(interaction.response, PatientResponse)


async def test_a_slow_form_submission_is_answered_privately(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    opened = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "form")
    submitted = await sandbox.actors.submit_modal(opened, {"Anything": "hello"})
    assert await deferred(sandbox, submitted) == DEFERRED_CHANNEL_MESSAGE and submitted.interaction.ephemeral
    client.gate.set()
    [answer] = await submitted.wait_followups()
    assert answer.ephemeral and answer.content == "got hello"


async def panel(sandbox: Sandbox, world: World, client: SlowClient) -> Message:
    client.gate.set()
    handle = await sandbox.actors.invoke(world.guild, world.bob, "work", {"how": "panel"})
    message = (await handle.response()).message
    assert message is not None
    client.gate.clear()
    return message


async def test_a_slow_button_is_deferred_silently_and_answers_privately(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    message = await panel(sandbox, sandbox_world, client)
    handle = await sandbox.actors.click(sandbox_world.bob, message, label="Go")
    assert await deferred(sandbox, handle) == DEFERRED_UPDATE_MESSAGE
    client.gate.set()
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content == "went"
    assert public(sandbox, sandbox_world) == ["Choose:"]


async def test_a_slow_button_updating_its_message_still_updates_it(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient
) -> None:
    message = await panel(sandbox, sandbox_world, client)
    handle = await sandbox.actors.click(sandbox_world.bob, message, label="Edit")
    assert await deferred(sandbox, handle) == DEFERRED_UPDATE_MESSAGE
    client.gate.set()

    def edited() -> Any:
        return public(sandbox, sandbox_world) == ["edited"]

    await sandbox.wait_until(edited, what="the panel's edit")
    assert not sandbox.channel_messages(sandbox_world.general)[0].components


async def test_the_deferral_is_logged_with_the_command(
    sandbox: Sandbox, sandbox_world: World, client: SlowClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="cogs._replies"):
        handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.bob, "work", {"how": "private"})
        await deferred(sandbox, handle)
        # Discord has the deferral now, but the bot logs it only once it hears back (late on a busy machine): keep
        # capturing until the answer, which the bot sends only after that (under the deferral's lock, or once done).
        client.gate.set()
        await handle.wait_followups()
    logged = [r.getMessage() for r in caplog.records if r.name == "cogs._replies" and r.levelname == "INFO"]
    assert [m for m in logged if m.startswith(f"Deferred interaction {handle.interaction.id} (/work)")], logged
