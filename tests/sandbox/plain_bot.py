"""A plain discord.py bot (no project code) that the sandbox's own end-to-end tests drive."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

log = logging.getLogger(__name__)

CITIES = ["Amsterdam", "Berlin", "Boston", "Bristol", "Cardiff", "Chicago", "Dublin", "Edinburgh"]


class FeedbackModal(discord.ui.Modal, title="Meeting feedback"):
    """A two-field modal."""

    name: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Your name", custom_id="feedback:name", max_length=40)
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="What helped?", custom_id="feedback:text", style=discord.TextStyle.paragraph, required=False
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Thank the member, echoing what they typed."""
        await interaction.response.send_message(f"Thanks {self.name.value}: {self.text.value or '-'}", ephemeral=True)


class SurveyModal(discord.ui.Modal, title="Quick survey"):
    """A modal in the newer layout: labels wrapping a text input and a select."""

    mood: discord.ui.Label[Any] = discord.ui.Label(
        text="How are you?", component=discord.ui.TextInput(custom_id="survey:mood", max_length=50)
    )
    kind: discord.ui.Label[Any] = discord.ui.Label(
        text="Meeting type",
        component=discord.ui.Select(
            custom_id="survey:kind",
            options=[
                discord.SelectOption(label="Online", value="online"),
                discord.SelectOption(label="Hybrid", value="hybrid"),
            ],
        ),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Echo both answers."""
        assert isinstance(self.mood.component, discord.ui.TextInput)
        assert isinstance(self.kind.component, discord.ui.Select)
        await interaction.response.send_message(f"{self.mood.component.value} / {self.kind.component.values}")


class PanelView(discord.ui.View):
    """A button that updates the message, a button that opens a modal, and a select."""

    @discord.ui.button(label="Yes", custom_id="panel:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        """Update the message in place."""
        await interaction.response.edit_message(content=f"{interaction.user.display_name} said yes", view=None)

    @discord.ui.button(label="Give feedback", custom_id="panel:feedback")
    async def feedback(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        """Open the feedback modal."""
        await interaction.response.send_modal(FeedbackModal())

    @discord.ui.select(
        custom_id="panel:colour",
        placeholder="Pick colours",
        min_values=1,
        max_values=2,
        options=[discord.SelectOption(label=c.title(), value=c) for c in ("red", "green", "blue")],
    )
    async def colour(self, interaction: discord.Interaction, select: discord.ui.Select[PanelView]) -> None:
        """Answer ephemerally with the choice."""
        await interaction.response.send_message(f"You chose {', '.join(select.values)}", ephemeral=True)

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="panel:who", placeholder="Who facilitates?")
    async def who(self, interaction: discord.Interaction, select: discord.ui.UserSelect[PanelView]) -> None:
        """Answer with the chosen member's name, resolved by discord.py."""
        await interaction.response.send_message(f"Facilitator: {select.values[0].display_name}")


def build_tree(tree: app_commands.CommandTree[Any], record: dict[str, Any]) -> None:
    """Register the test commands; `record` collects what handlers observed (errors, events)."""

    @tree.command(description="Repeat some text")
    async def echo(interaction: discord.Interaction, text: str, times: app_commands.Range[int, 1, 3] = 1) -> None:
        await interaction.response.send_message(" ".join([text] * times))

    @tree.command(description="Answer only to you")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you can see this", ephemeral=True)

    @tree.command(description="Think, then answer")
    async def slow(interaction: discord.Interaction, ephemeral: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        await interaction.followup.send("done thinking")
        await interaction.followup.send("and one more thing")
        await interaction.edit_original_response(content="done thinking (edited)")

    @tree.command(description="Show the panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Choose:", view=PanelView(timeout=None))

    @tree.command(description="Open the feedback form")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @tree.command(description="Open the survey")
    async def survey(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(SurveyModal())

    @tree.command(description="Pick a city")
    async def city(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"You picked {name}")

    @city.autocomplete("name")
    async def city_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c, value=c) for c in CITIES if c.lower().startswith(current.lower())]

    @tree.command(description="Answer twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        # discord.py refuses a second initial response locally, so send it raw to get Discord's answer.
        adapter = discord.webhook.async_.async_context.get()
        params = discord.webhook.async_.interaction_response_params(4, {"content": "second"})
        try:
            await adapter.create_interaction_response(
                interaction.id, interaction.token, session=interaction._session, params=params
            )
        except discord.HTTPException as exc:
            record["twice"] = exc

    @tree.command(description="Answer after Discord's deadline")
    async def late(interaction: discord.Interaction) -> None:
        await record["late_gate"].wait()
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            record["late"] = exc

    group = app_commands.Group(name="meeting", description="Meeting commands")

    @group.command(name="schedule", description="Schedule a meeting")
    @app_commands.describe(when="When", kind="Kind of meeting")
    @app_commands.choices(
        kind=[app_commands.Choice(name="Online", value="online"), app_commands.Choice(name="Hybrid", value="hybrid")]
    )
    async def schedule(
        interaction: discord.Interaction, when: str, kind: app_commands.Choice[str], host: discord.Member | None = None
    ) -> None:
        who = f" hosted by {host.display_name}" if host else ""
        await interaction.response.send_message(f"Scheduled {kind.value} meeting {when}{who}", ephemeral=True)

    tree.add_command(group)


class PlainClient(discord.Client):
    """A discord.Client with an app command tree that syncs globally on start and records what it sees."""

    def __init__(self, *, intents: discord.Intents | None = None, sync: bool = True, **options: Any) -> None:
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(intents=intents or discord.Intents.default(), **options)
        self.tree = app_commands.CommandTree(self)
        self.record: dict[str, Any] = {"late_gate": asyncio.Event()}
        self.messages: list[discord.Message] = []
        self.voice: list[tuple[str, int | None, int | None]] = []
        self.resumes = 0
        self._sync = sync
        build_tree(self.tree, self.record)

    async def setup_hook(self) -> None:
        """Sync the global commands."""
        if self._sync:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        """Record every message."""
        self.messages.append(message)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Record voice joins, moves and leaves."""
        before_id = before.channel.id if before.channel else None
        after_id = after.channel.id if after.channel else None
        self.voice.append((member.display_name, before_id, after_id))

    async def on_resumed(self) -> None:
        """Count RESUMEs."""
        self.resumes += 1


class ShardedBot(commands.AutoShardedBot):
    """An AutoShardedBot that records which shard saw which guild."""

    def __init__(self, *, shard_count: int | None = 2, **options: Any) -> None:
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            shard_count=shard_count,
            **options,
        )
        self.record: dict[str, Any] = {"late_gate": asyncio.Event()}
        build_tree(self.tree, self.record)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Identify shards back to back: the sandbox has no identify rate limit to respect."""

    async def setup_hook(self) -> None:
        """Sync the global commands."""
        await self.tree.sync()
