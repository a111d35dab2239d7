"""`/setup`: a coordinator configures the group (time zone, channels, roles, crisis resources)."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SmartBot
from bot.domain.guild import CRISIS_TEXT_MAX, FIELD_LABELS, GuildSettings, search_zones
from cogs._errors import BotModal
from cogs._replies import guild_id, reply

log = logging.getLogger(__name__)

NOT_SET = "*not set*"


def _channel(value: int | None) -> str:
    return f"<#{value}>" if value else NOT_SET


def _role(value: int | None) -> str:
    return f"<@&{value}>" if value else NOT_SET


def settings_embed(settings: GuildSettings) -> discord.Embed:
    """Show every setting, marking the ones still missing."""
    embed = discord.Embed(title="Group setup", colour=discord.Colour.teal())
    embed.add_field(name="Time zone", value=settings.timezone or NOT_SET, inline=True)
    embed.add_field(name="Meetings channel", value=_channel(settings.meetings_channel_id), inline=True)
    embed.add_field(name="Facilitators' channel", value=_channel(settings.facilitators_channel_id), inline=True)
    embed.add_field(name="Coordinators' channel", value=_channel(settings.coordinators_channel_id), inline=True)
    embed.add_field(name="Facilitator role", value=_role(settings.facilitator_role_id), inline=True)
    embed.add_field(name="Coordinator role", value=_role(settings.coordinator_role_id), inline=True)
    embed.add_field(name="Reminder role (opt-in)", value=_role(settings.reminder_role_id), inline=True)
    default_note = "" if settings.crisis_text else " (default)"
    embed.add_field(name=f"Crisis resources{default_note}", value=settings.crisis_resources, inline=False)
    missing = settings.missing(*FIELD_LABELS)
    if missing:
        embed.set_footer(text=f"Still to set with /setup configure: {', '.join(missing)}.")
    return embed


class CrisisTextModal(BotModal, title="Crisis resources"):
    """Edit the crisis resources text members see in meetings and with /crisis."""

    text: discord.ui.TextInput[CrisisTextModal] = discord.ui.TextInput(
        label="What members should see if they are in crisis",
        style=discord.TextStyle.paragraph,
        max_length=CRISIS_TEXT_MAX,
    )

    def __init__(self, bot: SmartBot, current: str) -> None:
        super().__init__()
        self.bot = bot
        self.text.default = current

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the new text and show the result."""
        settings = await self.bot.services.guild_config.update(guild_id(interaction), crisis_text=self.text.value)
        await reply(interaction, "Crisis resources updated.", embed=settings_embed(settings))


# Discord reads default_member_permissions from top-level commands only, so it is set on the group.
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Setup(commands.GroupCog, group_name="setup", group_description="Configure this group (Manage Server)"):
    """Per-guild configuration."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="configure", description="Set the time zone, channels and roles the bot uses")
    @app_commands.describe(
        timezone="The group's time zone, e.g. Europe/London",
        meetings_channel="Where meetings are announced and run",
        facilitators_channel="Private channel for facilitators (rota, cover requests, alerts)",
        coordinators_channel="Private channel for coordinators (warnings about uncovered meetings)",
        facilitator_role="Role held by trained facilitators",
        coordinator_role="Role held by the group's coordinators",
        reminder_role="Role members opt into for meeting reminders",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def configure(
        self,
        interaction: discord.Interaction,
        timezone: str | None = None,
        meetings_channel: discord.TextChannel | None = None,
        facilitators_channel: discord.TextChannel | None = None,
        coordinators_channel: discord.TextChannel | None = None,
        facilitator_role: discord.Role | None = None,
        coordinator_role: discord.Role | None = None,
        reminder_role: discord.Role | None = None,
    ) -> None:
        """Store the given settings; the others stay as they were."""
        changes: dict[str, object] = {
            name: value
            for name, value in {
                "timezone": timezone,
                "meetings_channel_id": meetings_channel.id if meetings_channel else None,
                "facilitators_channel_id": facilitators_channel.id if facilitators_channel else None,
                "coordinators_channel_id": coordinators_channel.id if coordinators_channel else None,
                "facilitator_role_id": facilitator_role.id if facilitator_role else None,
                "coordinator_role_id": coordinator_role.id if coordinator_role else None,
                "reminder_role_id": reminder_role.id if reminder_role else None,
            }.items()
            if value is not None
        }
        if not changes:
            await reply(
                interaction,
                "Nothing to change: give at least one option, for example `timezone` or `meetings_channel`.",
            )
            return
        settings = await self.bot.services.guild_config.update(guild_id(interaction), **changes)
        await reply(interaction, "Saved.", embed=settings_embed(settings))

    @configure.autocomplete("timezone")
    async def _timezone_autocomplete(
        self, _interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=zone, value=zone) for zone in search_zones(current)]

    @app_commands.command(name="show", description="Show how this group is set up")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def show(self, interaction: discord.Interaction) -> None:
        """Display every setting and what is still missing."""
        settings = await self.bot.services.guild_config.get(guild_id(interaction))
        missing = settings.missing(*FIELD_LABELS)
        text = (
            f"This server isn't fully set up yet. Use `/setup configure` to set: {', '.join(missing)}."
            if missing
            else ""
        )
        await reply(interaction, text, embed=settings_embed(settings))

    # Answered with a form, which Discord accepts only as the initial response: never deferred.
    @app_commands.command(
        name="crisis-text", description="Edit the crisis resources text members see", extras={"auto_defer": False}
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def crisis_text(self, interaction: discord.Interaction) -> None:
        """Open a form prefilled with the current crisis resources."""
        settings = await self.bot.services.guild_config.get(guild_id(interaction))
        await interaction.response.send_modal(CrisisTextModal(self.bot, settings.crisis_resources))

    @app_commands.command(name="crisis-reset", description="Go back to the default crisis resources text")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def crisis_reset(self, interaction: discord.Interaction) -> None:
        """Forget the custom crisis text."""
        settings = await self.bot.services.guild_config.reset_crisis_text(guild_id(interaction))
        await reply(interaction, "Crisis resources reset to the default.", embed=settings_embed(settings))


async def setup(bot: SmartBot) -> None:
    """Load the cog."""
    await bot.add_cog(Setup(bot))
