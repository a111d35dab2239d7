"""`/office report` in the central office's server, and the monthly digest posted to its channel."""

from __future__ import annotations

import logging
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.disclosure import SUPPRESSED
from bot.domain.discord_ids import mention_role
from bot.errors import InvalidInputError
from bot.services.care.debrief import figures_line, figures_markdown
from bot.services.participation.office import Celebration, previous_month
from bot.services.participation.report import Report
from cogs.network.office_commands import OfficeNetworkCommands
from cogs.shared import has_any_role

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

DIGEST_JOB = "participation:office-digest"
DIGEST_CHECK_SECONDS = 3600
MAX_CELEBRATIONS = 15


def _figure(value: object) -> str:
    if value is None:
        return SUPPRESSED
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def report_message(title: str, report: Report, celebrations: list[Celebration], names: dict[int, str]) -> str:
    """Return the message that goes with the charts: headline figures and the groups' successes."""
    total = report.total
    missed = int(total.get("meetings") or 0) - int(total.get("meetings_held") or 0)
    # Counts of people go through report.figure: a total of 1 to 7 reads "fewer than 8", never its rounding.
    headline = (
        f"Meetings: {_figure(total.get('meetings'))} (held {_figure(total.get('meetings_held'))}, missed {missed})"
        f" · Attendances: {report.figure('attendees')} · New: {report.figure('new_attendees')}"
        f" · Returning: {report.figure('returning_attendees')}"
        f" · Mean helpfulness: {_figure(total.get('helpful_mean'))}"
    )
    lines = [f"**{title}**", headline]
    if celebrations:
        lines.append("**Celebrations**")
        for celebration in celebrations[:MAX_CELEBRATIONS]:
            name = names.get(celebration.guild_id, f"Group {celebration.guild_id}")
            lines.append(f"- {discord.utils.escape_markdown(name)} {celebration.text}. Well done!")
        if len(celebrations) > MAX_CELEBRATIONS:
            lines.append(f"- ... and {len(celebrations) - MAX_CELEBRATIONS} more.")
    lines.append(
        f"Figures are protected: counts of people from 1 to 7 show as {SUPPRESSED}, others are rounded to 5. "
        "Charts and summary.md attached."
    )
    return "\n".join(lines)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"`{option}` must be a date as YYYY-MM-DD, e.g. 2026-11-01.") from None


# The announcement, pairing, network and resources commands live with the rest of the network (cogs/network/).
class Office(
    OfficeNetworkCommands,
    commands.GroupCog,
    group_name="office",
    group_description="The central office: figures, announcements, mentoring and the network",
):
    """The central office reads anonymised figures across all groups, in its own server."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        """Check every hour whether last month's digest is still to be posted."""
        self.bot.scheduler.schedule_every(DIGEST_JOB, DIGEST_CHECK_SECONDS, self.digest_if_due)

    async def cog_unload(self) -> None:
        """Stop the digest timer."""
        self.bot.scheduler.cancel(DIGEST_JOB)

    # Public: the report is for the office's channel, so a slow start must "think" in public too.
    @app_commands.command(
        name="report", description="Participation figures and charts for all groups", extras={"ephemeral": False}
    )
    @app_commands.describe(
        start="First day, YYYY-MM-DD (default: the first day of last month)",
        end="Last day, YYYY-MM-DD (default: the last day of last month)",
    )
    @app_commands.guild_only()
    async def report(self, interaction: discord.Interaction, start: str | None = None, end: str | None = None) -> None:
        """Post the protected report with its charts (central-office role, in the office's server only)."""
        office = self.bot.services.participation.office
        config = await office.config()
        if config is None or interaction.guild_id != config.guild_id:
            raise app_commands.CheckFailure("`/office report` works only in the central office's server.")
        if not has_any_role(interaction.user, [config.role_id]):
            raise app_commands.CheckFailure(f"Only members with {mention_role(config.role_id)} can do this.")
        default_first, default_last = previous_month(office.now().date())
        first = _day(start, "start") if start else default_first
        last = _day(end, "end") if end else default_last
        if last < first:
            raise InvalidInputError("`end` must not be before `start`.")
        # Drawing the charts takes a second or two: answer Discord first.
        await interaction.response.defer(thinking=True)
        title = f"Participation, all groups: {first.isoformat()} to {last.isoformat()}"
        with tempfile.TemporaryDirectory(prefix="smartbot-report-") as folder:
            content, files = await self._build(title, first, last, Path(folder))
            await interaction.edit_original_response(
                content=content, attachments=files, allowed_mentions=discord.AllowedMentions.none()
            )

    async def digest_if_due(self) -> bool:
        """Post last month's digest to the office's channel, once; return whether this call posted it."""
        office = self.bot.services.participation.office
        try:
            config = await office.config()
            if config is None:
                return False
            claimed = await office.claim_digest()
            if claimed is None:
                return False
            first, last = claimed
            channel = self.bot.get_channel(config.channel_id) or await self.bot.fetch_channel(config.channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                log.warning("The central office's digest channel cannot hold messages; digest for %s dropped.", first)
                return False
            title = f"Monthly digest: {first.strftime('%B %Y')}"
            with tempfile.TemporaryDirectory(prefix="smartbot-digest-") as folder:
                content, files = await self._build(title, first, last, Path(folder))
                await channel.send(content, files=files, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, OSError):
            log.exception("Posting the central office's monthly digest failed.")
            return False
        log.info("Posted the central office's digest for %s.", first.isoformat()[:7])
        return True

    async def _build(self, title: str, first: date, last: date, folder: Path) -> tuple[str, list[discord.File]]:
        """Write the report into `folder` and return the message and its attachments (summary.md and charts)."""
        office = self.bot.services.participation.office
        report = await office.report(first, last, folder)
        celebrations = await office.celebrations(first, last)
        # The participation figures see meetings held too: a milestone both found is listed once.
        celebrations += [found for found in await self._care_celebrations(first, last) if found not in celebrations]
        # The coordinators' label (or the server's name the bot stored) first, so the message names groups as the
        # report does; a server this process sees but never stored falls back to its live name.
        names = {
            guild.id: guild.name for guild in self.bot.guilds
        } | await self.bot.services.participation.group_names()
        # Volunteer care's debrief counts (protected like every count): a line here, a table in summary.md.
        debriefs = await self.bot.services.care.debriefs.figures(
            first.isoformat()[:7], last.isoformat()[:7], report.policy
        )
        with report.summary.open("a", encoding="utf-8") as summary:
            summary.write("\n" + figures_markdown(debriefs, names))
        files = [discord.File(path, filename=path.name) for path in (report.summary, *report.charts)]
        return report_message(title, report, celebrations, names) + "\n" + figures_line(debriefs), files

    async def _care_celebrations(self, first: date, last: date) -> list[Celebration]:
        """Return the groups' milestones and the facilitators' thanks of the period, naming who agreed to be."""
        milestones = self.bot.services.care.milestones
        found = [
            Celebration(reached.guild_id, reached.summary)
            for reached in await milestones.reached(start=first, end=last)
        ]
        for thanked in await milestones.facilitator_milestones(first, last):
            who = "one of its facilitators"
            if thanked.user_id is not None:
                user = self.bot.get_user(thanked.user_id)
                try:
                    user = user or await self.bot.fetch_user(thanked.user_id)
                    who = discord.utils.escape_markdown(user.display_name)
                except discord.HTTPException:
                    log.info("A named facilitator could not be looked up for the digest; left unnamed.")
            found.append(Celebration(thanked.guild_id, f"thanked {who} for facilitating {thanked.meetings} meetings"))
        return found
