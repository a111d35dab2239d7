"""Listen to meetings as they happen and count attendance; no name, id or message text ever leaves this module.

Events of one guild are handled one at a time, in the order discord.py dispatched them, so a quick leave-and-join
is applied in that order. The service makes every change a conditional UPDATE, so a replayed event after a gateway
resume, or a sync after a restart, never counts anyone twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

DAILY_JOB = "participation:daily"
FEEDBACK_CLOSE_JOB = "participation:feedback-close"
DAY_SECONDS = 24 * 3600


class Counting(commands.Cog):
    """Voice presence, thread posts, and the meeting life cycle, turned into anonymous counts."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._busy: set[asyncio.Task[object]] = set()

    async def cog_load(self) -> None:
        """Load the pseudonym key once, catch up on meetings that ended while the bot was away, and set timers."""
        self.bot.services.participation.load_keys(self.bot.settings.pseudonym_key_file)
        self.bot.scheduler.schedule_every(DAILY_JOB, DAY_SECONDS, self.daily)
        await self.daily()

    async def cog_unload(self) -> None:
        """Stop the timers this cog set."""
        self.bot.scheduler.cancel(DAILY_JOB)
        self.bot.scheduler.cancel(FEEDBACK_CLOSE_JOB)

    async def idle(self) -> None:
        """Wait until every event handed to this cog so far has been counted (tests and shutdown)."""
        while self._busy:
            await asyncio.gather(*list(self._busy), return_exceptions=True)

    async def daily(self) -> None:
        """Finalise meetings missed or closed while away, close feedback windows, purge old marks and payloads."""
        try:
            await self.bot.services.participation.housekeeping()
        except Exception:
            log.exception("Participation housekeeping failed; it runs again tomorrow.")
        try:
            # Delivered DMs keep their recipient's id and text in the outbox until this blanks them (docs/PRIVACY.md).
            await self.bot.services.outbox.purge_delivered()
        except Exception:
            log.exception("Purging delivered outbox items failed; it runs again tomorrow.")
        await self.schedule_feedback_close()

    async def schedule_feedback_close(self) -> None:
        """Arrange to forget who answered a meeting's feedback as soon as its window closes."""
        when = await self.bot.services.participation.feedback.next_close()
        if when is None:
            self.bot.scheduler.cancel(FEEDBACK_CLOSE_JOB)
        else:
            self.bot.scheduler.schedule_at(FEEDBACK_CLOSE_JOB, when, self._close_feedback)

    async def _close_feedback(self) -> None:
        await self.bot.services.participation.feedback.close()
        await self.schedule_feedback_close()

    async def _serially(self, guild_id: int, what: str, work: Callable[[], Awaitable[object]]) -> None:
        """Run one guild's counting steps in arrival order; log failures without anyone's id."""
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            async with self._locks[guild_id]:
                await work()
        except Exception:
            log.exception("Counting attendance (%s) failed in guild %s.", what, guild_id)
        finally:
            if task is not None:
                self._busy.discard(task)

    # --- Discord events ------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Count time in a meeting's voice or stage channel (mute and deafen changes are ignored)."""
        left = before.channel.id if before.channel is not None else None
        joined = after.channel.id if after.channel is not None else None
        if member.bot or left == joined:
            return
        participation = self.bot.services.participation
        await self._serially(
            member.guild.id, "voice", lambda: participation.voice_changed(member.guild.id, member.id, left, joined)
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Count the author of a post in a meeting's thread; the text is never read (and never sent to the bot)."""
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return
        guild_id, author_id, channel_id = message.guild.id, message.author.id, message.channel.id
        participation = self.bot.services.participation
        await self._serially(guild_id, "post", lambda: participation.message_posted(guild_id, author_id, channel_id))

    @commands.Cog.listener()
    async def on_meeting_started(self, guild_id: int, occurrence_id: int) -> None:
        """Start the tally with whoever is already in the meeting's voice channel."""
        await self._serially(guild_id, "start", lambda: self._sync_guild(guild_id, only=occurrence_id))

    @commands.Cog.listener()
    async def on_meeting_closed(self, guild_id: int, occurrence_id: int) -> None:
        """Turn the tally into the meeting's numbers and marks."""

        async def close() -> None:
            await self.bot.services.participation.finalise(occurrence_id)
            await self.schedule_feedback_close()

        await self._serially(guild_id, "close", close)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """After a restart or an outage, reconcile running meetings with who is in voice now."""
        await self._remember_name(guild)
        await self._serially(guild.id, "sync", lambda: self._sync_guild(guild.id))

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Remember a new server's name, so that reports can name the group."""
        await self._remember_name(guild)

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        """Keep the server's name in step when it is renamed."""
        if before.name != after.name:
            await self._remember_name(after)

    async def _remember_name(self, guild: discord.Guild) -> None:
        # GUILD_CREATE and GUILD_UPDATE carry the name without any privileged intent; a label set by the coordinators
        # takes precedence over it in reports.
        try:
            await self.bot.services.participation.remember_guild_name(guild.id, guild.name or "")
        except Exception:
            log.exception("Remembering the name of guild %s failed.", guild.id)

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        """After a resumed connection, check voice presence again (replayed events are harmless anyway)."""
        guild_ids = {meeting.guild_id for meeting in await self.bot.services.participation.running_voice_meetings()}
        for guild_id in sorted(guild_ids):
            await self._serially(guild_id, "sync", functools.partial(self._sync_guild, guild_id))

    async def _sync_guild(self, guild_id: int, *, only: int | None = None) -> None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return
        own_id = self.bot.user.id if self.bot.user is not None else None
        for meeting in await self.bot.services.participation.running_voice_meetings(guild_id):
            if only is not None and meeting.occurrence_id != only:
                continue
            channel = guild.get_channel(meeting.channel_id)
            if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                continue
            present = [user_id for user_id in channel.voice_states if user_id != own_id]
            await self.bot.services.participation.sync_presence(meeting.occurrence_id, present)


__all__ = ["DAILY_JOB", "FEEDBACK_CLOSE_JOB", "Counting"]
