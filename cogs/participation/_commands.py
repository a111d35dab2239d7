"""`/privacy about|opt-out|opt-in` for members and `/participation settings` for coordinators."""

from __future__ import annotations

import calendar
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.participation import GroupParticipation
from cogs._replies import guild_id, reply
from cogs.meetings._checks import coordinator_guild

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


def describe_period(settings: GroupParticipation) -> str:
    """Say in words how long an evaluation period is and when it starts."""
    length = next((choice.name for choice in PERIOD_CHOICES if choice.value == settings.period_months), "a period")
    if settings.period_months == 12 and settings.period_anchor_month == 1:
        return "a calendar year"
    return f"{length}, counted from {calendar.month_name[settings.period_anchor_month]}"


def privacy_text(settings: GroupParticipation, opted_out: bool) -> str:
    """Explain, in plain words, what the bot records about a member at meetings."""
    status = (
        "**You have opted out**: you are counted in the headcount, but your meetings are never linked."
        if opted_out
        else "**You are counted normally.** `/privacy opt-out` keeps you in the headcount but never links your "
        "meetings (no code is kept for you); `/privacy opt-in` undoes it."
    )
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
        '- **Feedback** ("How was today?") is optional and added to totals; who answered what is not kept.\n'
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


class Privacy(commands.GroupCog, group_name="privacy", group_description="What the bot records about you"):
    """Members learn what is recorded, and opt out of linking or back in."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="about", description="What the bot records about you at meetings, in plain words")
    @app_commands.guild_only()
    async def about(self, interaction: discord.Interaction) -> None:
        """Explain what is recorded and what is not, with the member's own setting."""
        gid = guild_id(interaction)
        participation = self.bot.services.participation
        settings = await participation.settings(gid)
        opted_out = await participation.is_opted_out(gid, interaction.user.id)
        await reply(interaction, privacy_text(settings, opted_out))

    @app_commands.command(name="opt-out", description="Stay in the headcount, but never link your meetings")
    @app_commands.guild_only()
    async def opt_out(self, interaction: discord.Interaction) -> None:
        """Stop linking the member's attendance (they are still counted, as unlinked)."""
        changed = await self.bot.services.participation.set_opt_out(guild_id(interaction), interaction.user.id, True)
        already = "" if changed else "You had already opted out. "
        await reply(
            interaction,
            f"{already}Done: you are still counted in each meeting's headcount, but your meetings are never linked "
            "and no code is kept for you. This also applies to a meeting running now. `/privacy opt-in` undoes it.",
        )

    @app_commands.command(name="opt-in", description="Link your meetings again (so you count as returning)")
    @app_commands.guild_only()
    async def opt_in(self, interaction: discord.Interaction) -> None:
        """Link the member's attendance again from now on."""
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
    ) -> None:
        """Show the settings, or change the ones given."""
        gid = await coordinator_guild(self.bot, interaction)
        participation = self.bot.services.participation
        if voice_minutes is None and period is None and period_start is None and keep_marks_months is None:
            await reply(interaction, settings_text(await participation.settings(gid)))
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
        await reply(interaction, f"Saved.\n{settings_text(after)}{note}")
