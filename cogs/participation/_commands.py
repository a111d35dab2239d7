"""`/privacy about|status|opt-out|opt-in` for members and `/participation settings` for coordinators."""

from __future__ import annotations

import calendar
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.participation.service import GroupParticipation, UNCOUNTED, UNLINKED
from cogs.shared import coordinator_guild, guild_id, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

PERIOD_CHOICES = [
    app_commands.Choice(name=name, value=months)
    for name, months in (
        ("a year", 12),
        ("half a year", 6),
        ("four months", 4),
        ("a quarter", 3),
        ("two months", 2),
        ("a month", 1),
    )
]
MONTH_CHOICES = [app_commands.Choice(name=calendar.month_name[month], value=month) for month in range(1, 13)]
OPT_OUT_CHOICES = [
    app_commands.Choice(name="Count me in the headcount, but never link my meetings", value=UNLINKED),
    app_commands.Choice(name="Don't count me at all", value=UNCOUNTED),
]
MAX_LABEL = 100  # a Discord server name is at most 100 characters; a label replaces it in reports


def opt_out_status(mode: str | None) -> str:
    """Say which privacy choice applies to the member, and how to change it."""
    if mode == UNCOUNTED:
        return (
            "**You chose not to be counted at all**: you are in no headcount, check-in or voice count, and no code is "
            "kept for you (only a keyed fingerprint that remembers this choice). Feedback you choose to give is still "
            "added to the anonymous totals. `/privacy opt-in` undoes it."
        )
    if mode == UNLINKED:
        return (
            "**You have opted out of linking**: you are counted in the headcount, but your meetings are never linked. "
            "`/privacy opt-out choice:Don't count me at all` leaves the headcount too; `/privacy opt-in` undoes it."
        )
    return (
        "**You are counted normally.** `/privacy opt-out` keeps you in the headcount but never links your meetings "
        "(no code is kept for you); `/privacy opt-out choice:Don't count me at all` leaves you out of every count; "
        "`/privacy opt-in` undoes either."
    )


def describe_period(settings: GroupParticipation) -> str:
    """Say in words how long an evaluation period is and when it starts."""
    length = next((choice.name for choice in PERIOD_CHOICES if choice.value == settings.period_months), "a period")
    if settings.period_months == 12 and settings.period_anchor_month == 1:
        return "a calendar year"
    return f"{length}, counted from {calendar.month_name[settings.period_anchor_month]}"


def privacy_text(settings: GroupParticipation, mode: str | None) -> str:
    """Explain, in plain words, what the bot records about a member at meetings."""
    status = opt_out_status(mode)
    return (
        "**What the bot records about you at meetings**\n"
        "- **Numbers, not names.** For each meeting the bot keeps how many people came, how many were new or came "
        "back, and the feedback totals. It never stores your name, your Discord id or anything you write, and it "
        "never joins voice or records audio.\n"
        f"- **How you are counted:** once per meeting, if you are in the meeting's voice channel for "
        f"{settings.min_voice_minutes} minutes in all, post in the meeting's thread, or press \"I'm here\". The bot "
        "sees *that* you posted, never *what*.\n"
        "- **New or returning:** to tell the two apart, the bot keeps a code made from your id with a secret key "
        f"(a pseudonym) beside each meeting you attended. The code changes every evaluation period "
        f"({describe_period(settings)}), so nobody can follow you from one period to the next, and these codes are "
        f"deleted after {settings.retention_months} months, leaving only the numbers.\n"
        '- **Feedback** ("How was today?") is optional and added to totals; who answered what is not kept. '
        '"How did you first hear about SMART?" is asked only at your first meeting in a period.\n'
        "- **The central office** sees totals across groups, with small numbers hidden so no one can be picked "
        "out.\n\n"
        f"{status}\n"
        "Coordinators can read the details, with what someone could learn if the data were stolen, in the bot's "
        "`docs/PRIVACY.md`."
    )


def settings_text(settings: GroupParticipation) -> str:
    """Show a group's participation settings."""
    return (
        "**Participation settings**\n"
        f"- Voice time that counts as attending: **{settings.min_voice_minutes} minutes** in all\n"
        f"- Evaluation period: **{describe_period(settings)}** (new vs returning is measured within it)\n"
        f"- Attendance marks kept for: **{settings.retention_months} months**, then only the numbers remain"
    )


def label_text(label: str | None, guild_name: str | None) -> str:
    """Say how reports to the central office name the group."""
    if label:
        return f"- Reports name this group: **{discord.utils.escape_markdown(label)}** (your label)"
    shown = discord.utils.escape_markdown(guild_name) if guild_name else "the server's name"
    return f"- Reports name this group: **{shown}** (the server's name; set `label` to choose another)"


class Privacy(commands.GroupCog, group_name="privacy", group_description="What the bot records about you"):
    """Members learn what is recorded, and opt out of linking or back in."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="about", description="What the bot records about you at meetings, in plain words")
    @app_commands.guild_only()
    async def about(self, interaction: discord.Interaction) -> None:
        """Explain what is recorded and what is not, with the member's own choice."""
        gid = guild_id(interaction)
        participation = self.bot.services.participation
        settings = await participation.settings(gid)
        mode = await participation.opt_out_mode(gid, interaction.user.id)
        await reply(interaction, privacy_text(settings, mode))

    @app_commands.command(name="status", description="See whether you are counted, counted unlinked, or not counted")
    @app_commands.guild_only()
    async def status(self, interaction: discord.Interaction) -> None:
        """Show the member which privacy choice applies to them in this server."""
        mode = await self.bot.services.participation.opt_out_mode(guild_id(interaction), interaction.user.id)
        await reply(interaction, opt_out_status(mode))

    @app_commands.command(name="opt-out", description="Never link your meetings, or don't count you at all")
    @app_commands.describe(choice="Stay in the headcount unlinked (the default), or leave every count")
    @app_commands.choices(choice=OPT_OUT_CHOICES)
    @app_commands.guild_only()
    async def opt_out(self, interaction: discord.Interaction, choice: app_commands.Choice[str] | None = None) -> None:
        """Stop linking the member's attendance (still counted, as unlinked), or stop counting them at all."""
        mode = choice.value if choice is not None else UNLINKED
        participation = self.bot.services.participation
        changed = await participation.set_opt_out(guild_id(interaction), interaction.user.id, True, mode=mode)
        already = "" if changed else "You had already chosen this. "
        if mode == UNCOUNTED:
            done = (
                "Done: you are no longer counted at meetings in this server (no headcount, check-in or voice time), "
                "and no code is kept for you. This also applies to a meeting running now. `/privacy opt-in` undoes it."
            )
        else:
            done = (
                "Done: you are still counted in each meeting's headcount, but your meetings are never linked and no "
                "code is kept for you. This also applies to a meeting running now. `/privacy opt-in` undoes it."
            )
        await reply(interaction, f"{already}{done}")

    @app_commands.command(name="opt-in", description="Be counted and linked again (so you count as returning)")
    @app_commands.guild_only()
    async def opt_in(self, interaction: discord.Interaction) -> None:
        """Count and link the member's attendance again from now on."""
        changed = await self.bot.services.participation.set_opt_out(guild_id(interaction), interaction.user.id, False)
        already = "" if changed else "You had not opted out. "
        await reply(
            interaction,
            f"{already}Done: your meetings are linked by a code again, so the group can see that you came back. "
            "`/privacy about` explains what that means.",
        )


class ParticipationSettingsCog(
    commands.GroupCog, group_name="participation", group_description="Attendance counting for this group"
):
    """Coordinators choose the voice threshold, the evaluation period and how long marks are kept."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="settings", description="See or change how attendance is counted (coordinators)")
    @app_commands.describe(
        voice_minutes="Minutes in the meeting's voice channel that count as attending (default 10)",
        period="How long an evaluation period is (default a year); new vs returning is measured within it",
        period_start="The month a period starts in (default January)",
        keep_marks_months="Months to keep attendance marks before only the numbers remain (default 13)",
        label='How reports to the central office name this group (default: the server\'s name; "-" to go back)',
    )
    @app_commands.choices(period=PERIOD_CHOICES, period_start=MONTH_CHOICES)
    @app_commands.guild_only()
    async def settings(
        self,
        interaction: discord.Interaction,
        voice_minutes: app_commands.Range[int, 1, 180] | None = None,
        period: app_commands.Choice[int] | None = None,
        period_start: app_commands.Choice[int] | None = None,
        keep_marks_months: app_commands.Range[int, 2, 60] | None = None,
        label: app_commands.Range[str, 1, MAX_LABEL] | None = None,
    ) -> None:
        """Show the settings, or change the ones given."""
        gid = await coordinator_guild(self.bot, interaction)
        participation = self.bot.services.participation
        if label is not None:
            await participation.set_group_label(gid, None if label.strip() == "-" else label)
        naming = label_text(*await participation.group_label(gid))
        if voice_minutes is None and period is None and period_start is None and keep_marks_months is None:
            saved = "Saved.\n" if label is not None else ""
            await reply(interaction, f"{saved}{settings_text(await participation.settings(gid))}\n{naming}")
            return
        before = await participation.settings(gid)
        after = await participation.update_settings(
            gid,
            min_voice_minutes=voice_minutes,
            period_months=period.value if period else None,
            period_anchor_month=period_start.value if period_start else None,
            retention_months=keep_marks_months,
        )
        note = ""
        if (before.period_months, before.period_anchor_month) != (after.period_months, after.period_anchor_month):
            note = "\nThe periods changed, so everyone counts as new at their next meeting."
        await reply(interaction, f"Saved.\n{settings_text(after)}\n{naming}{note}")
