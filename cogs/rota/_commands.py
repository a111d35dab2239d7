"""`/rota ...`: the facilitator rota, with thin handlers over the rota service."""

from __future__ import annotations

import io
import logging
from datetime import date
from typing import Literal, TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.discord_ids import mention_user
from bot.domain.text import plural
from bot.domain.when import parse_date, today_in
from bot.services.rota.views import rota_post
from cogs._pickers import meetings_to_staff, own_duty_dates
from cogs.shared import RecordId, coordinator_guild, guild_id, reply, staff_guild

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)


def _open_for_cover(count: int, noun: str, where: str = "") -> str:
    """Say how many duties were opened for cover, with the verb agreeing: "1 duty is", "3 duties are"."""
    return f"{plural(count, noun)}{where} {'is' if count == 1 else 'are'} now open for cover."


class Rota(commands.GroupCog, group_name="rota", group_description="The facilitator rota"):
    """Roster, duties, swaps and thanks."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    async def _today(self, gid: int) -> date:
        """Return today's date in the group's time zone, which dates like "tomorrow" and "1 Dec" are read in."""
        return today_in(self.bot.clock.now(), (await self.bot.services.guild_config.get(gid)).timezone)

    @app_commands.command(name="join", description="Join the rota (facilitators)")
    @app_commands.describe(
        roles="What you can do: lead, co, host (comma-separated, e.g. lead,co)",
        trained_since="When you completed facilitator training, e.g. 2024-01-15 or 15 Jan 2024",
        max_per_month="Most duties you want in a month (optional)",
    )
    @app_commands.guild_only()
    async def join(
        self,
        interaction: discord.Interaction,
        roles: app_commands.Range[str, 1, 30],
        trained_since: str,
        max_per_month: app_commands.Range[int, 0, 31] | None = None,
    ) -> None:
        """Add the caller to the rota."""
        gid = await staff_guild(self.bot, interaction, coordinators=False)
        wanted = {part.strip().lower() for part in roles.split(",") if part.strip()}
        await self.bot.services.rota.join(
            gid,
            interaction.user.id,
            roles=wanted,
            trained_since=parse_date(trained_since, today=await self._today(gid), past=True),
            max_per_month=max_per_month,
        )
        await reply(interaction, "You're on the rota. Coordinators plan duties with `/rota generate`; thank you!")

    @app_commands.command(name="leave", description="Leave the rota; your upcoming duties open for cover")
    @app_commands.guild_only()
    async def leave(self, interaction: discord.Interaction) -> None:
        """Take the caller off the rota."""
        released = await self.bot.services.rota.leave(guild_id(interaction), interaction.user.id)
        await reply(interaction, f"You've left the rota. {_open_for_cover(released, 'upcoming duty')}")
        self.bot.delivery.kick()

    @app_commands.command(name="away", description="Mark days you can't facilitate (both days included)")
    @app_commands.describe(
        first_day="First day away, e.g. tomorrow, 1 Dec or 2026-12-01",
        last_day="Last day away, e.g. next Friday, 3 Dec or 2026-12-03",
    )
    @app_commands.guild_only()
    async def away(self, interaction: discord.Interaction, first_day: str, last_day: str) -> None:
        """Record time away; duties in it open for cover."""
        gid = guild_id(interaction)
        today = await self._today(gid)
        first, last = parse_date(first_day, today=today), parse_date(last_day, today=today)
        released = await self.bot.services.rota.away(gid, interaction.user.id, first, last)
        await reply(interaction, f"Noted. {_open_for_cover(released, 'duty', ' in that time')}")
        self.bot.delivery.kick()

    @app_commands.command(name="back", description="Cancel your time away")
    @app_commands.guild_only()
    async def back(self, interaction: discord.Interaction) -> None:
        """End the caller's time away."""
        count = await self.bot.services.rota.back(guild_id(interaction), interaction.user.id)
        await reply(interaction, "Welcome back!" if count else "You weren't marked as away.")

    @app_commands.command(name="thanks", description="Choose whether milestone thanks name you")
    @app_commands.guild_only()
    async def thanks(self, interaction: discord.Interaction, named: Literal["on", "off"]) -> None:
        """Opt in or out of being named in milestone thanks."""
        await self.bot.services.rota.set_named(guild_id(interaction), interaction.user.id, named == "on")
        await reply(interaction, "Done." if named == "on" else "Done: milestones will thank you without naming you.")

    @app_commands.command(name="show", description="The rota for the coming weeks")
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction, weeks: app_commands.Range[int, 1, 26] = 4) -> None:
        """Show upcoming duties."""
        duties = await self.bot.services.rota.show(await staff_guild(self.bot, interaction), weeks)
        await reply(interaction, rota_post(duties, f"Rota, next {plural(weeks, 'week')}"))

    @app_commands.command(name="mine", description="Your upcoming duties")
    @app_commands.guild_only()
    async def mine(self, interaction: discord.Interaction) -> None:
        """Show the caller's duties."""
        duties = await self.bot.services.rota.mine(guild_id(interaction), interaction.user.id)
        await reply(interaction, rota_post(duties, "Your duties"))

    @app_commands.command(name="calendar", description="Your duties as a calendar file")
    @app_commands.guild_only()
    async def calendar(self, interaction: discord.Interaction) -> None:
        """Send the caller an .ics file of their duties."""
        data = await self.bot.services.rota_reports.calendar(guild_id(interaction), interaction.user.id)
        await interaction.response.send_message(
            "Your duties (open the file to add them to your calendar):",
            file=discord.File(io.BytesIO(data), filename="my-duties.ics"),
            ephemeral=True,
        )

    @app_commands.command(name="swap", description="Ask for cover for your duty on a date")
    @app_commands.describe(date="The day of your duty, e.g. next Tuesday, 1 Dec or 2026-12-01")
    @app_commands.autocomplete(date=own_duty_dates)
    @app_commands.guild_only()
    async def swap(self, interaction: discord.Interaction, date: str) -> None:
        """Open the caller's duty on that date for cover."""
        gid = guild_id(interaction)
        on = parse_date(date, today=await self._today(gid))
        duty = await self.bot.services.rota.swap(gid, interaction.user.id, on)
        await reply(interaction, f"I've asked the facilitators to cover {duty.title}; you'll hear when someone does.")
        self.bot.delivery.kick()

    @app_commands.command(name="stats", description="Duties per facilitator this month and year")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        """Show the work facilitators have done."""
        rows = await self.bot.services.rota_reports.stats(await staff_guild(self.bot, interaction))
        if not rows:
            await reply(interaction, "No meetings held with the rota yet this year.")
            return
        lines = [f"{mention_user(user_id)}: {month} this month, {year} this year" for user_id, month, year in rows]
        await reply(interaction, "**Meetings facilitated**\n" + "\n".join(lines))

    @app_commands.command(name="generate", description="Plan duties for the coming weeks (coordinators)")
    @app_commands.guild_only()
    async def generate(self, interaction: discord.Interaction, weeks: app_commands.Range[int, 1, 26] = 8) -> None:
        """Plan the rota; confirmed and pinned duties stay."""
        summary = await self.bot.services.rota.generate(await coordinator_guild(self.bot, interaction), weeks)
        text = f"Planned {plural(summary.duties, 'duty')} for the next {plural(weeks, 'week')}."
        if summary.shortfalls:
            text += "\n**Not covered:**\n" + "\n".join(summary.shortfalls)
        await reply(interaction, text)
        self.bot.delivery.kick()

    @app_commands.command(name="pin", description="Put a facilitator on a duty by hand (coordinators)")
    @app_commands.describe(meeting="Start typing its title or day, then pick the meeting")
    @app_commands.autocomplete(meeting=meetings_to_staff)
    @app_commands.guild_only()
    async def pin(
        self,
        interaction: discord.Interaction,
        meeting: RecordId,
        role: Literal["lead", "co"],
        facilitator: discord.Member,
    ) -> None:
        """Pin a duty; regeneration never moves it."""
        duty = await self.bot.services.rota.pin(
            await coordinator_guild(self.bot, interaction), meeting, role, facilitator.id
        )
        await reply(interaction, f"Pinned: {duty.line()}")


class RotaEvents(commands.Cog):
    """Thank facilitators when a meeting closes."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_meeting_closed(self, guild_id: int, occurrence_id: int) -> None:
        """Celebrate milestones this meeting reached."""
        if await self.bot.services.rota_timers.celebrate(guild_id, occurrence_id):
            self.bot.delivery.kick()
