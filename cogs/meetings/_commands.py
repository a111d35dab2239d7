"""`/meeting ...`: thin handlers over the meeting services."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Literal, TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.discord_ids import mention_channel, timestamp
from bot.domain.recurrence import Repeat, WEEK_OF_MONTH_NAMES
from bot.domain.states import OccurrenceState
from bot.domain.text import plural
from bot.domain.when import parse_date, parse_time, today_in
from bot.services.meetings.common import OccurrenceView
from bot.services.meetings.member_calendar import group_calendar_file
from bot.services.meetings.schedules import ScheduleRequest, WEEKLY
from cogs._pickers import meetings_to_cancel, series_to_edit, series_to_skip
from cogs.shared import RecordId, guild_id, reply, staff_guild

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAY_CHOICES = [app_commands.Choice(name=name, value=index) for index, name in enumerate(WEEKDAYS)]
WEEK_OF_MONTH_CHOICES = [
    app_commands.Choice(name=name, value=position) for position, name in WEEK_OF_MONTH_NAMES.items()
]
# `/meeting edit` can also turn a monthly series back into a weekly one.
EDIT_WEEK_OF_MONTH_CHOICES = [
    *WEEK_OF_MONTH_CHOICES,
    app_commands.Choice(name="Every week (not monthly)", value=WEEKLY),
]
MATERIALISE_JOB = "meetings:materialise"
MATERIALISE_EVERY_SECONDS = 6 * 3600


def describe(occurrence: OccurrenceView) -> str:
    """Return one line about a meeting, in each viewer's own time zone."""
    state = "" if occurrence.state == OccurrenceState.SCHEDULED else f" · **{occurrence.state}**"
    return (
        f"`{occurrence.id}` **{occurrence.title}** · {timestamp(occurrence.starts_at)} "
        f"({timestamp(occurrence.starts_at, 'R')}) · {mention_channel(occurrence.channel_id)}{state}"
    )


def _repeat_text(request: ScheduleRequest) -> str:
    """Return how a new series repeats, e.g. ", every Tuesday" or ", last Thursday of the month" ("" for a one-off)."""
    if request.weekday is None:
        return ""
    text = Repeat(request.weekday, request.interval_weeks, request.week_of_month).describe()
    return f", {text[0].lower()}{text[1:]}"


def location_kind_of(channel: discord.abc.GuildChannel) -> str:
    """Return where a meeting in `channel` happens: voice, stage or text."""
    if isinstance(channel, discord.StageChannel):
        return "stage"
    return "voice" if isinstance(channel, discord.VoiceChannel) else "text"


class Meetings(commands.GroupCog, group_name="meeting", group_description="Scheduled SMART Recovery meetings"):
    """Scheduling and running meetings."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        self._materialising = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        """Take back a dead predecessor's claims, rebuild timers from the database, and extend the schedules."""
        self.bot.scheduler.schedule_every(MATERIALISE_JOB, MATERIALISE_EVERY_SECONDS, self._materialise)
        await self.bot.delivery.start()
        # Extending every series is not needed before connecting (occurrences already exist weeks ahead and
        # `run_due` works from the database), and with thousands of series it would hold the bot offline.
        self._background = asyncio.create_task(self._materialise(), name="meetings:materialise-at-start")

    async def cog_unload(self) -> None:
        """Stop the timers this cog set, and the start-up materialisation if it is still running."""
        self.bot.scheduler.cancel(MATERIALISE_JOB)
        task, self._background = self._background, None
        if task is not None and not task.done():
            task.cancel()
            # Wait for it to end, so that it never touches the database after the bot has closed it (the task
            # logs its own failures; `wait` neither raises them nor swallows a cancellation of this coroutine).
            await asyncio.wait([task])

    async def idle(self) -> None:
        """Wait until the start-up materialisation has finished (tests and shutdown)."""
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)

    async def _materialise(self) -> None:
        """Extend every series to the horizon, then run whatever that made due."""
        if self._materialising.locked():
            # The start-up run and the periodic job would do the same work twice, racing on the same rows.
            log.info("Meeting schedules are already being extended; skipping this run.")
            return
        try:
            async with self._materialising:
                added = await self.bot.services.schedules.materialise_all()
            log.info("Extended the meeting schedules: %d meeting(s) added.", added)
            await self.bot.delivery.run_due()
        except Exception:
            # Nobody awaits this (a background task or a timer): log it here; the next periodic run tries again.
            log.exception("Extending the meeting schedules failed.")

    @app_commands.command(name="schedule", description="Schedule a weekly, monthly or one-off meeting (facilitators)")
    @app_commands.describe(
        title="Name members will see, e.g. 'Tuesday evening SMART meeting'",
        time="Local start time, e.g. 7pm, 7:30pm or 19:00",
        weekday="Day for a weekly or monthly meeting (leave empty for a one-off)",
        date="The one-off date, or the first week of a series: e.g. 1 Dec, next Tuesday or 2026-12-01",
        every_weeks="Repeat every N weeks (default 1)",
        week_of_month="Meet monthly on this weekday of the month, e.g. Last (with weekday: Thursday)",
        duration="Length in minutes (default 90)",
        meeting_format="The meeting format",
        where="Voice channel, stage, or text only (in a thread)",
        channel="The voice/stage channel, or the text channel for a text-only meeting",
        timezone="IANA time zone (default: the group's)",
    )
    @app_commands.choices(weekday=WEEKDAY_CHOICES, week_of_month=WEEK_OF_MONTH_CHOICES)
    @app_commands.guild_only()
    async def schedule(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 1, 100],
        time: str,
        channel: discord.VoiceChannel | discord.StageChannel | discord.TextChannel,
        weekday: app_commands.Choice[int] | None = None,
        date: str | None = None,
        every_weeks: app_commands.Range[int, 1, 8] = 1,
        week_of_month: app_commands.Choice[int] | None = None,
        duration: app_commands.Range[int, 10, 300] = 90,
        meeting_format: str = "standard-90",
        where: Literal["voice", "stage", "text"] | None = None,
        timezone: str | None = None,
    ) -> None:
        """Create a schedule and show its first meetings."""
        gid = await staff_guild(self.bot, interaction)
        kind = where or (
            "stage"
            if isinstance(channel, discord.StageChannel)
            else "voice"
            if isinstance(channel, discord.VoiceChannel)
            else "text"
        )
        if kind in ("voice", "stage") and isinstance(channel, discord.TextChannel):
            await reply(interaction, "For a voice or stage meeting, pick a voice or stage channel.")
            return
        # "tomorrow" and "1 Dec" are read in the zone the meeting is in, not the bot's or the caller's.
        zone = timezone or (await self.bot.services.guild_config.get(gid)).timezone
        request = ScheduleRequest(
            title=title,
            weekday=weekday.value if weekday else None,
            local_time=parse_time(time),
            on_date=parse_date(date, today=today_in(self.bot.clock.now(), zone)) if date else None,
            interval_weeks=every_weeks,
            week_of_month=week_of_month.value if week_of_month else None,
            duration_minutes=duration,
            template_slug=meeting_format,
            location_kind=kind,
            channel_id=channel.id,
            timezone=timezone,
        )
        schedule_id, upcoming = await self.bot.services.schedules.create(gid, request)
        lines = "\n".join(describe(o) for o in upcoming)
        await reply(interaction, f"Scheduled (series `{schedule_id}`{_repeat_text(request)}). Next meetings:\n{lines}")
        self.bot.delivery.kick()

    @schedule.autocomplete("meeting_format")
    async def _format_autocomplete(self, _i: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        templates = self.bot.services.schedules.templates
        return [
            app_commands.Choice(name=t.name, value=slug)
            for slug, t in sorted(templates.items())
            if current.lower() in (slug + t.name).lower()
        ][:25]

    @schedule.autocomplete("timezone")
    async def _zone_autocomplete(self, _i: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        from bot.domain.guild import search_zones

        return [app_commands.Choice(name=zone, value=zone) for zone in search_zones(current)]

    @app_commands.command(name="list", description="Upcoming meetings, shown in your own time zone")
    @app_commands.guild_only()
    async def list_(self, interaction: discord.Interaction) -> None:
        """Show the next meetings."""
        upcoming = await self.bot.services.schedules.upcoming(guild_id(interaction), limit=10)
        if not upcoming:
            await reply(interaction, "No meetings are scheduled yet.")
            return
        await reply(interaction, "**Upcoming meetings**\n" + "\n".join(describe(o) for o in upcoming))

    @app_commands.command(name="calendar", description="The group's meetings as a file to add to your own calendar")
    @app_commands.guild_only()
    async def calendar(self, interaction: discord.Interaction) -> None:
        """Send the caller the group's meetings as an .ics file; nothing about who asked is kept."""
        group_name = interaction.guild.name if interaction.guild else "SMART meetings"
        ics = await group_calendar_file(self.bot.database, self.bot.clock, guild_id(interaction), group_name)
        await interaction.response.send_message(
            "The group's meetings: open the file to add them to your calendar app.",
            file=discord.File(io.BytesIO(ics.data), filename=ics.filename),
            ephemeral=True,
        )

    @app_commands.command(name="cancel", description="Cancel one meeting, or its whole series (facilitators)")
    @app_commands.describe(
        meeting="Start typing its title or day, then pick the meeting",
        reason="Members will see this",
        series="Cancel every meeting of its series",
    )
    @app_commands.autocomplete(meeting=meetings_to_cancel)
    @app_commands.guild_only()
    async def cancel(
        self,
        interaction: discord.Interaction,
        meeting: RecordId,
        reason: app_commands.Range[str, 1, 300],
        series: bool = False,
    ) -> None:
        """Cancel and tell members why."""
        gid = await staff_guild(self.bot, interaction)
        if series:
            occurrence = await self.bot.services.meetings.get(meeting)
            if occurrence is None or occurrence.guild_id != gid or occurrence.schedule_id is None:
                await reply(interaction, f"Meeting `{meeting}` isn't part of a series here; `/meeting list` has ids.")
                return
            count = await self.bot.services.schedules.cancel_series(gid, occurrence.schedule_id, reason)
            cancelled_text = f"Cancelled the series: {plural(count, 'upcoming meeting')}. Members have been told."
            await reply(interaction, cancelled_text)
        else:
            cancelled = await self.bot.services.schedules.cancel_occurrence(gid, meeting, reason)
            await reply(interaction, f"Cancelled: {describe(cancelled)}. Members have been told.")
        self.bot.delivery.kick()

    @app_commands.command(name="skip", description="Skip the next meeting of a series (facilitators)")
    @app_commands.describe(series="Start typing its title, then pick the series", reason="Members will see this")
    @app_commands.autocomplete(series=series_to_skip)
    @app_commands.guild_only()
    async def skip(
        self,
        interaction: discord.Interaction,
        series: RecordId,
        reason: app_commands.Range[str, 1, 300] = "No meeting this week.",
    ) -> None:
        """Cancel the next meeting of a series."""
        gid = await staff_guild(self.bot, interaction)
        skipped = await self.bot.services.schedules.skip_next(gid, series, reason)
        await reply(interaction, f"Skipped: {describe(skipped)}. Members have been told.")
        self.bot.delivery.kick()

    @app_commands.command(name="edit", description="Change a meeting series (facilitators)")
    @app_commands.describe(
        series="Start typing its title, then pick the series",
        title="New title",
        time="New local start time, e.g. 7pm, 7:30pm or 19:00",
        weekday="New day",
        week_of_month="Meet monthly on this weekday of the month, or every week again",
        duration="New length in minutes",
        channel="New channel",
    )
    @app_commands.choices(weekday=WEEKDAY_CHOICES, week_of_month=EDIT_WEEK_OF_MONTH_CHOICES)
    @app_commands.autocomplete(series=series_to_edit)
    @app_commands.guild_only()
    async def edit(
        self,
        interaction: discord.Interaction,
        series: RecordId,
        title: app_commands.Range[str, 1, 100] | None = None,
        time: str | None = None,
        weekday: app_commands.Choice[int] | None = None,
        week_of_month: app_commands.Choice[int] | None = None,
        duration: app_commands.Range[int, 10, 300] | None = None,
        channel: discord.VoiceChannel | discord.StageChannel | discord.TextChannel | None = None,
    ) -> None:
        """Apply the changes to upcoming meetings and their events."""
        gid = await staff_guild(self.bot, interaction)
        kind = None
        if channel is not None:
            kind = (
                "stage"
                if isinstance(channel, discord.StageChannel)
                else "voice"
                if isinstance(channel, discord.VoiceChannel)
                else "text"
            )
        upcoming = await self.bot.services.schedules.edit(
            gid,
            series,
            title=title,
            local_time=parse_time(time) if time else None,
            weekday=weekday.value if weekday else None,
            week_of_month=week_of_month.value if week_of_month else None,
            duration_minutes=duration,
            channel_id=channel.id if channel else None,
            location_kind=kind,
        )
        await reply(interaction, "Updated. Next meetings:\n" + "\n".join(describe(o) for o in upcoming))
        self.bot.delivery.kick()

    @app_commands.command(name="start", description="Open the next meeting now, or an unscheduled one (facilitators)")
    @app_commands.describe(title="Title for an unscheduled meeting", channel="Voice channel for an unscheduled meeting")
    @app_commands.guild_only()
    async def start(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 1, 100] | None = None,
        channel: discord.VoiceChannel | discord.StageChannel | None = None,
    ) -> None:
        """Start a meeting with the caller as facilitator."""
        gid = await staff_guild(self.bot, interaction)
        kind = "text" if channel is None else "stage" if isinstance(channel, discord.StageChannel) else "voice"
        occurrence = await self.bot.services.meetings.start_now(
            gid, interaction.user.id, title=title, channel_id=channel.id if channel else None, location_kind=kind
        )
        await reply(interaction, f"Starting {describe(occurrence)}. Your control panel is in the meeting thread.")
        self.bot.delivery.kick()

    @app_commands.command(name="remind-me", description="Get (or stop) a ping before each meeting")
    @app_commands.guild_only()
    async def remind_me(self, interaction: discord.Interaction, setting: Literal["on", "off"]) -> None:
        """Add or remove the opt-in reminder role."""
        gid = guild_id(interaction)
        settings = await self.bot.services.guild_config.get(gid)
        settings.require("reminder_role_id")
        member = interaction.user
        guild = interaction.guild
        role = guild.get_role(settings.reminder_role_id or 0) if guild else None
        if role is None or not isinstance(member, discord.Member):
            await reply(interaction, "The reminder role no longer exists. Please tell a coordinator.")
            return
        if setting == "on":
            await member.add_roles(role, reason="Opted in to meeting reminders")
            await reply(interaction, "Done: you'll get a ping before each meeting. `/meeting remind-me off` stops it.")
        else:
            await member.remove_roles(role, reason="Opted out of meeting reminders")
            await reply(interaction, "Done: no more meeting reminders.")
