"""`/setup start`: the guided set-up that makes a server ready for a first meeting.

It shows what it will use and what it will create, creates on "Create what's missing", saves the settings, makes
the group's roles mentionable, asks for the time zone if it still lacks one, shows the crisis text to review, and
ends with `/setup check`'s result. Running it again uses what exists, so it never makes anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TYPE_CHECKING

import discord

from bot.domain.discord_ids import mention_role
from bot.domain.server_setup import (
    BY_KEY,
    ItemKind,
    REMINDER_ROLE,
    ROLES,
    SetupPlan,
    Step,
    VOICE_KEY,
    describe_findings,
    permission_list,
)
from cogs.setup._check import check_guild
from cogs.setup._display import crisis_fields, make_pingable, with_crisis_note
from cogs.setup._forms import CrisisTextModal, TimezoneModal
from cogs.setup._server import ServerSnapshot, apply_plan, shown
from cogs.shared import BotView, follow_up, guild_id, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

# Long enough to read the plan; the buttons then stop answering and the command can simply be run again.
START_TIMEOUT = 600.0
AFTER_TIMEOUT = 900.0
NEXT_STEPS = (
    "**Next:** give your facilitators the Facilitator role and your coordinators the Coordinator role. A facilitator "
    "then schedules a meeting with `/meeting schedule` (for example `time:7pm weekday:Tuesday`). Timings such as "
    "reminders are set with `/setup settings`."
)


def _describe_step(step: Step) -> str:
    item = step.item
    if not step.create:
        return f"✅ Use {shown(item, step.existing_name or item.name)} as the {item.label}"
    if item.private:
        roles = " and ".join(f"@{BY_KEY[key].name}" for key in item.private_to)
        return f"🆕 Create {shown(item, item.name)}, private to {roles} (and me)"
    return f"🆕 Create {shown(item, item.name)}: {item.purpose}"


def _missing_permissions(guild: discord.Guild, plan: SetupPlan) -> list[str]:
    """Return the permissions the bot lacks to carry out `plan` (creating channels, roles, overwrites)."""
    have = guild.me.guild_permissions
    creates = plan.to_create
    needed = []
    if any(step.item.kind is not ItemKind.ROLE for step in creates) and not have.manage_channels:
        needed.append("manage_channels")
    if any(step.item.kind is ItemKind.ROLE or step.item.private for step in creates) and not have.manage_roles:
        needed.append("manage_roles")
    return needed


def plan_text(guild: discord.Guild, plan: SetupPlan, timezone: str | None, saved_zone: str | None) -> str:
    """Return what `/setup start` will do, for the person to accept or cancel."""
    lines = ["**Setting up this server for SMART Recovery meetings**"]
    if plan.to_create:
        lines.append("I'll use what you already have and create only what's missing:")
    else:
        lines.append("Everything a group needs is already here; I'll use it:")
    lines += [_describe_step(step) for step in plan.steps]
    zone = timezone or saved_zone
    lines.append(f"🕒 Time zone: {zone}" if zone else "🕒 Time zone: not set yet; I'll ask for it next.")
    missing = _missing_permissions(guild, plan)
    if missing:
        own = guild.self_role.name if guild.self_role else guild.me.top_role.name
        lines.append(
            f"⚠️ I need {permission_list(missing)} to do this. Give my role '{own}' those permissions in Server "
            "Settings → Roles first, or what needs them will be skipped."
        )
    button = "Create what's missing" if plan.to_create else "Use these"
    lines.append(f"Press **{button}** to go ahead, or **Cancel** to leave everything as it is.")
    return "\n".join(lines)


class StartView(BotView):
    """The buttons under the plan: go ahead, or cancel."""

    def __init__(self, bot: SmartBot, lock: asyncio.Lock, user_id: int, timezone: str | None, plan: SetupPlan) -> None:
        super().__init__(timeout=START_TIMEOUT)
        self.bot = bot
        self.lock = lock
        self.user_id = user_id
        self.timezone = timezone
        label = "Create what's missing" if plan.to_create else "Use these"
        go: discord.ui.Button[StartView] = discord.ui.Button(label=label, style=discord.ButtonStyle.success)
        go.callback = self._go  # type: ignore[method-assign]
        cancel: discord.ui.Button[StartView] = discord.ui.Button(label="Cancel", style=discord.ButtonStyle.secondary)
        cancel.callback = self._cancel  # type: ignore[method-assign]
        self.add_item(go)
        self.add_item(cancel)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Let only the person who ran `/setup start` press its buttons."""
        await super().interaction_check(interaction)
        if interaction.user.id == self.user_id:
            return True
        await interaction.response.send_message("Only the person who ran `/setup start` can do that.", ephemeral=True)
        return False

    async def _go(self, interaction: discord.Interaction) -> None:
        self.stop()
        # Creating up to seven things takes as many requests: acknowledge now, update the message when done.
        await interaction.response.defer()
        await run_setup(self.bot, interaction, self.lock, self.timezone)

    async def _cancel(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(content="Set-up cancelled: nothing was changed.", view=None)


class AfterSetupView(BotView):
    """Buttons after set-up: give the time zone, review the crisis text."""

    def __init__(self, bot: SmartBot, *, ask_zone: bool) -> None:
        super().__init__(timeout=AFTER_TIMEOUT)
        self.bot = bot
        if ask_zone:
            zone: discord.ui.Button[AfterSetupView] = discord.ui.Button(
                label="Set time zone", style=discord.ButtonStyle.primary
            )
            zone.callback = self._zone  # type: ignore[method-assign]
            self.add_item(zone)
        crisis: discord.ui.Button[AfterSetupView] = discord.ui.Button(
            label="Edit crisis text", style=discord.ButtonStyle.secondary
        )
        crisis.callback = self._crisis  # type: ignore[method-assign]
        self.add_item(crisis)

    async def _zone(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(TimezoneModal(self.bot))

    async def _crisis(self, interaction: discord.Interaction) -> None:
        settings = await self.bot.services.guild_config.get(guild_id(interaction))
        await interaction.response.send_modal(CrisisTextModal(self.bot, settings.crisis_resources))


async def run_setup(bot: SmartBot, interaction: discord.Interaction, lock: asyncio.Lock, timezone: str | None) -> None:
    """Create what is missing, save the settings, and report: what was done, the crisis text, the check."""
    guild = interaction.guild
    if guild is None:
        return
    # One set-up at a time per server: a second would not yet see what the first is creating, and make it again.
    async with lock:
        settings = await bot.services.guild_config.get(guild.id)
        snapshot = await ServerSnapshot.fetch(guild)
        applied = await apply_plan(snapshot, snapshot.plan(settings))
        changes: dict[str, Any] = {key: value for key, value in applied.ids.items() if key != VOICE_KEY}
        if timezone:
            changes["timezone"] = timezone
        if changes:
            settings = await bot.services.guild_config.update(guild.id, **changes)
        log.info(
            "Set-up of guild %s: %d created, %d used, %d failed.",
            guild.id,
            len(applied.created),
            len(applied.adopted),
            len(applied.failed),
        )
        stuck = await make_pingable([applied.roles[item.key] for item in ROLES if item.key in applied.roles])
        findings = await check_guild(bot, guild)
    lines = ["✅ **Set-up done.**"]
    if applied.created:
        lines.append(f"Created: {', '.join(applied.created)}.")
    if applied.adopted:
        lines.append(f"Using what was already here: {', '.join(applied.adopted)}.")
    if applied.failed:
        lines.append("⚠️ Not created:\n" + "\n".join(f"- {failure}" for failure in applied.failed))
    if stuck:
        lines.append(stuck)
    reminder = applied.ids.get(REMINDER_ROLE.key)
    if reminder is not None:
        lines.append(f"Members who want reminders get {mention_role(reminder)} with `/meeting remind-me`.")
    lines.append(
        f"🕒 Time zone: {settings.timezone}"
        if settings.timezone
        else "🕒 Time zone: not set yet. Press **Set time zone** below (or use `/setup configure timezone:`)."
    )
    await interaction.edit_original_response(content="\n".join(lines), view=None)
    review = discord.Embed(title="Crisis resources members see", colour=discord.Colour.teal())
    crisis_fields(review, settings)
    await follow_up(
        interaction,
        with_crisis_note(
            "**Please review the crisis resources** members see with `/crisis` and in every meeting. Change them "
            "with the button below or `/setup crisis-text` at any time.",
            settings,
        ),
        embed=review,
        view=AfterSetupView(bot, ask_zone=settings.timezone is None),
        ephemeral=True,
    )
    await reply(interaction, f"**Check:** {describe_findings(findings)}\n\n{NEXT_STEPS}")
