"""`/setup`: a coordinator configures the group (time zone, channels, roles, crisis resources, pass the hat)."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SmartBot
from bot.domain.discord_ids import mention_channel, mention_role
from bot.domain.guild import CRISIS_TEXT_MAX, FIELD_LABELS, GuildSettings, PASS_THE_HAT_TEXT_MAX, search_zones
from bot.domain.meeting_format import DEFAULT_HAT_TEXT
from bot.domain.text import plural, split_text
from cogs.shared import BotModal, guild_id, reply

log = logging.getLogger(__name__)

NOT_SET = "*not set*"
FIELD_VALUE_LIMIT = 1024


def _channel(value: int | None) -> str:
    return mention_channel(value) if value else NOT_SET


def _role(value: int | None) -> str:
    return mention_role(value) if value else NOT_SET


def with_crisis_note(text: str, settings: GuildSettings) -> str:
    """Add the request for local crisis resources to `text` while a group outside the UK shows the UK default."""
    if not settings.crisis_text_needs_local_resources:
        return text
    note = (
        f"**Crisis resources:** your time zone is {settings.timezone}, but the default crisis resources are for "
        "the UK (999, NHS 111, UK helplines). Please set the numbers members near you can call with "
        "`/setup crisis-text`."
    )
    return f"{text}\n\n{note}".strip()


def _hat(settings: GuildSettings) -> str:
    if not settings.pass_the_hat_enabled:
        return "Off (switch it on with `/setup pass-the-hat`)"
    return f"On: {settings.pass_the_hat_text or DEFAULT_HAT_TEXT}"


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
    # A custom text may be longer than one field holds (1024 characters): it continues in the next field.
    for number, piece in enumerate(split_text(settings.crisis_resources, FIELD_VALUE_LIMIT)):
        name = f"Crisis resources{default_note}" if number == 0 else "Crisis resources (continued)"
        embed.add_field(name=name, value=piece, inline=False)
    embed.add_field(name="Pass the hat", value=_hat(settings), inline=False)
    missing = settings.missing(*FIELD_LABELS)
    if missing:
        embed.set_footer(text=f"Still to set with /setup configure: {', '.join(missing)}.")
    return embed


def unpingable_staff_roles(guild: discord.Guild | None, settings: GuildSettings) -> list[str]:
    """Return the facilitator and coordinator roles an alert could not ping (Discord pings mentionable roles)."""
    if guild is None:
        return []
    roles = [guild.get_role(role_id or 0) for role_id in (settings.facilitator_role_id, settings.coordinator_role_id)]
    return [role.mention for role in roles if role is not None and not role.mentionable]


async def make_pingable(roles: list[discord.Role]) -> str:
    """Make the staff roles mentionable, so an alert's ping reaches them; return a warning for any it could not."""
    stuck = []
    for role in roles:
        if role.mentionable:
            continue
        try:
            # Discord only pings a role that is mentionable: an alert to facilitators must ping them.
            await role.edit(mentionable=True, reason="So /alert-facilitator can ping this role")
        except discord.HTTPException:
            log.info("Could not make role %s mentionable.", role.id)
            stuck.append(role.mention)
    if not stuck:
        return ""
    return (
        f"⚠️ I could not make {', '.join(stuck)} mentionable, so alerts cannot ping it. In Server Settings → Roles, "
        'turn on "Allow anyone to @mention this role", or move my role above it.'
    )


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
        unpingable = await make_pingable([role for role in (facilitator_role, coordinator_role) if role is not None])
        saved = "Saved." if not unpingable else f"Saved.\n{unpingable}"
        await reply(interaction, with_crisis_note(saved, settings), embed=settings_embed(settings))

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
        unpingable = unpingable_staff_roles(interaction.guild, settings)
        if unpingable:
            text = (
                f"{text}\n⚠️ Alerts cannot ping {', '.join(unpingable)}: run `/setup configure` with the role again "
                '(I\'ll make it mentionable), or turn on "Allow anyone to @mention this role" in Server Settings.'
            ).strip()
        await reply(interaction, with_crisis_note(text, settings), embed=settings_embed(settings))

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

    @app_commands.command(name="pass-the-hat", description="Switch the pass-the-hat phase on or off, and set its text")
    @app_commands.describe(
        enabled="Whether meetings have a pass-the-hat (donations) phase; off by default",
        text="What members read in that phase, e.g. how to give; leave out to keep the current text",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def pass_the_hat(
        self,
        interaction: discord.Interaction,
        enabled: bool,
        text: app_commands.Range[str, 1, PASS_THE_HAT_TEXT_MAX] | None = None,
    ) -> None:
        """Switch the phase and store its text."""
        settings = await self.bot.services.guild_config.set_pass_the_hat(guild_id(interaction), enabled, text)
        done = "Pass the hat is on for the next meetings." if enabled else "Pass the hat is off: meetings skip it."
        await reply(interaction, done, embed=settings_embed(settings))

    @app_commands.command(
        name="alerts", description="How long an alert waits for a facilitator before coordinators hear"
    )
    @app_commands.describe(escalate_after_minutes="Minutes before an alert nobody took goes to the coordinators (1-60)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def alerts(self, interaction: discord.Interaction, escalate_after_minutes: int) -> None:
        """Set the wait before an untaken `/alert-facilitator` is sent to the coordinators too."""
        await self.bot.services.alerts.set_escalation_minutes(guild_id(interaction), escalate_after_minutes)
        await reply(
            interaction,
            f"Saved: an alert no facilitator has taken after {plural(escalate_after_minutes, 'minute')} goes to "
            "the coordinators.",
        )


async def setup(bot: SmartBot) -> None:
    """Load the cog."""
    await bot.add_cog(Setup(bot))
