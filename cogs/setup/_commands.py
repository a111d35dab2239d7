"""`/setup`: a coordinator configures the group (guided set-up, check, time zone, channels, roles, texts, timings)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.group_settings import (
    CONFIRM_MAX,
    CONFIRM_MIN,
    ESCALATE_MIN,
    GRACE_MAX,
    GRACE_MIN,
    describe_reminders,
)
from bot.domain.guild import FIELD_LABELS, PASS_THE_HAT_TEXT_MAX, search_zones, validate_zone
from bot.domain.server_setup import describe_findings
from bot.domain.text import plural
from cogs.setup._check import check_guild
from cogs.setup._display import make_pingable, settings_embed, unpingable_staff_roles, with_crisis_note
from cogs.setup._forms import CrisisTextModal
from cogs.setup._server import ServerSnapshot
from cogs.setup._start import StartView, plan_text
from cogs.shared import coordinator_guild, guild_id, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)


async def _zone_choices(current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=zone, value=zone) for zone in search_zones(current)]


# Discord reads default_member_permissions from top-level commands only, so it is set on the group.
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Setup(commands.GroupCog, group_name="setup", group_description="Configure this group (Manage Server)"):
    """Per-guild configuration."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        # One `/setup start` at a time per server, so two runs never both create what is missing.
        self._start_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        super().__init__()

    @app_commands.command(name="start", description="Guided set-up: create the channels and roles a group needs")
    @app_commands.describe(timezone="The group's time zone, e.g. Europe/London (asked later if left out)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def start(self, interaction: discord.Interaction, timezone: str | None = None) -> None:
        """Show what set-up will use and create, with buttons to go ahead or cancel."""
        zone = validate_zone(timezone) if timezone else None
        guild = interaction.guild
        if guild is None:
            raise app_commands.NoPrivateMessage
        settings = await self.bot.services.guild_config.get(guild.id)
        plan = (await ServerSnapshot.fetch(guild)).plan(settings)
        view = StartView(self.bot, self._start_locks[guild.id], interaction.user.id, zone, plan)
        await reply(interaction, plan_text(guild, plan, zone, settings.timezone), view=view)

    @start.autocomplete("timezone")
    async def _start_timezone_autocomplete(
        self, _interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await _zone_choices(current)

    @app_commands.command(name="check", description="Check the bot's permissions, the channels and the roles")
    @app_commands.guild_only()
    async def check(self, interaction: discord.Interaction) -> None:
        """List what stops the group from working, each with its fix, or say everything is ready."""
        await coordinator_guild(self.bot, interaction)
        guild = interaction.guild
        if guild is None:
            raise app_commands.NoPrivateMessage
        # Reading the server takes two requests: say we're on it first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await reply(interaction, describe_findings(await check_guild(self.bot, guild)))

    @app_commands.command(name="settings", description="Set reminders, the late-start grace and the rota's timings")
    @app_commands.describe(
        reminders="Minutes before a meeting the reminder role is pinged: e.g. 1440,15 or 24h,15m (at most 3), or off",
        late_start_grace_minutes=f"Minutes after its start a late meeting may still open ({GRACE_MIN}-{GRACE_MAX})",
        rota_confirm_hours="Hours before a duty that facilitators are asked to confirm it",
        rota_escalate_hours="Hours before a meeting that coordinators hear of an unconfirmed duty (less than confirm)",
    )
    @app_commands.guild_only()
    async def settings(
        self,
        interaction: discord.Interaction,
        reminders: app_commands.Range[str, 1, 60] | None = None,
        late_start_grace_minutes: app_commands.Range[int, GRACE_MIN, GRACE_MAX] | None = None,
        rota_confirm_hours: app_commands.Range[int, CONFIRM_MIN, CONFIRM_MAX] | None = None,
        rota_escalate_hours: app_commands.Range[int, ESCALATE_MIN, CONFIRM_MAX - 1] | None = None,
    ) -> None:
        """Validate and store the given timings; show them all."""
        gid = await coordinator_guild(self.bot, interaction)
        given = (reminders, late_start_grace_minutes, rota_confirm_hours, rota_escalate_hours)
        if all(value is None for value in given):
            timings = await self.bot.services.group_settings.get(gid)
            text = "Nothing to change: give at least one option. The group's timings now:"
        else:
            timings = await self.bot.services.group_settings.update(
                gid,
                late_start_grace_minutes=late_start_grace_minutes,
                reminders=reminders,
                rota_confirm_hours=rota_confirm_hours,
                rota_escalate_hours=rota_escalate_hours,
            )
            text = "Saved. They apply from now on, to meetings already on the calendar too:"
            # Reminders and rota steps may now fall due at other times: let the wake-up job see them.
            self.bot.delivery.kick()
        await reply(
            interaction,
            f"{text}\n"
            f"- Reminders: {describe_reminders(timings.reminder_offsets)}\n"
            f"- Late-start grace: {plural(timings.late_start_grace_minutes, 'minute')}\n"
            f"- Rota: facilitators asked to confirm {plural(timings.rota_confirm_hours, 'hour')} before; "
            f"coordinators told {plural(timings.rota_escalate_hours, 'hour')} before if a duty is unconfirmed",
        )

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
        return await _zone_choices(current)

    @app_commands.command(name="show", description="Show how this group is set up")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def show(self, interaction: discord.Interaction) -> None:
        """Display every setting and what is still missing."""
        gid = guild_id(interaction)
        settings = await self.bot.services.guild_config.get(gid)
        timings = await self.bot.services.group_settings.get(gid)
        missing = settings.missing(*FIELD_LABELS)
        text = (
            f"This server isn't fully set up yet. Run `/setup start` (or `/setup configure`) to set: "
            f"{', '.join(missing)}."
            if missing
            else ""
        )
        unpingable = unpingable_staff_roles(interaction.guild, settings)
        if unpingable:
            text = (
                f"{text}\n⚠️ Alerts cannot ping {', '.join(unpingable)}: run `/setup configure` with the role again "
                '(I\'ll make it mentionable), or turn on "Allow anyone to @mention this role" in Server Settings.'
            ).strip()
        await reply(interaction, with_crisis_note(text, settings), embed=settings_embed(settings, timings))

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
