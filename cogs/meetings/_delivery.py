"""Deliver the outbox to Discord, and wake the meeting runner when something is due."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, TYPE_CHECKING

import discord

from bot.domain.alerts import body_of, escalation_post, taken_line
from bot.services.alerts import take_button
from bot.services.outbox import OutboxItem
from cogs.meetings._lanes import LaneFlush

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

WAKE_JOB = "meetings:wake"
MATERIALISE_JOB = "meetings:materialise"
# How soon a step that was due but is still pending (it failed) is tried again.
FAILED_STEP_RETRY = timedelta(seconds=1)
# The least time ahead a wake-up is set for, so that it never fires while the run setting it is still going.
WAKE_AHEAD = timedelta(milliseconds=10)
# Discord's answer to starting a thread from a message that already has one.
THREAD_ALREADY_CREATED = 160004
BUTTON_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


class PermanentDeliveryError(Exception):
    """Retrying will not help (the channel is gone, or the bot lacks a permission)."""


def build_view(buttons: list[dict[str, str]]) -> discord.ui.View:
    """Turn plain button specs into a view; clicks are handled by the panel's dynamic items."""
    view = discord.ui.View(timeout=None)
    for spec in buttons:
        view.add_item(
            discord.ui.Button(
                label=spec["label"],
                custom_id=spec["custom_id"],
                style=BUTTON_STYLES.get(spec["style"], discord.ButtonStyle.secondary),
            )
        )
    return view


class Delivery:
    """Carry out outbox items in order; one flush at a time per process."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def kick(self) -> None:
        """Run what is due in the background, after the interaction has been answered."""
        task = asyncio.create_task(self.run_due())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until background deliveries have finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def run_due(self) -> None:
        """Let the runner do what is due and deliver the results, again while more falls due; set the next wake-up."""
        recheck_edge = True
        while True:
            started = self.bot.clock.now()
            try:
                # First and on its own: a member's call for help must escalate even if another timer keeps failing.
                await self.bot.services.alerts.tick()
            except Exception:
                log.exception("Escalating alerts failed.")
            try:
                await self.bot.services.meetings.tick()
                await self.bot.services.rota_timers.tick()
                await self.flush()
            except Exception:
                # A timer has no user to apologise to: log it; the next wake-up retries what is still due.
                log.exception("Running due meeting steps failed.")
            asked = self.bot.clock.now()
            try:
                when = await self.next_due()
            except Exception:
                log.exception("Finding the next due meeting step failed; trying again in a second.")
                when = started
            now = self.bot.clock.now()
            if when is not None and started < when <= now and (when < asked or recheck_edge):
                # It fell due while this run was busy, so it has not been tried: run it now. Scheduling the wake job
                # for now from inside it would not do: APScheduler skips a job still running (max_instances=1).
                # A step due only from the instant we asked may be an overdue step reported as "now" (the rota's
                # weekly post, for a group it then does not post for, is one): look once more, then treat it as
                # failed, or such a report would keep this loop spinning.
                recheck_edge = when < asked
                continue
            self._schedule_wake(when, now)
            return

    async def next_due(self) -> datetime | None:
        """Return the next instant at which the runner, the rota or delivery has something to do."""
        candidates = [
            await self.bot.services.meetings.next_due(),
            await self.bot.services.rota_timers.next_due(),
            await self.bot.services.outbox.next_due(),
            await self.bot.services.alerts.next_due(),
        ]
        due = [when for when in candidates if when is not None]
        return min(due) if due else None

    def _schedule_wake(self, when: datetime | None, now: datetime) -> None:
        """Arrange for `run_due` to run at `when`, or a second from now for a step that is due yet still pending."""
        if when is None:
            self.bot.scheduler.cancel(WAKE_JOB)
        elif when <= now:
            # Due, and this run did not get it done: it failed. Retry each second, not in a tight loop.
            self.bot.scheduler.schedule_at(WAKE_JOB, now + FAILED_STEP_RETRY, self.run_due)
        else:
            # A little ahead at least, so that the job never fires while this run is still finishing (see above).
            self.bot.scheduler.schedule_at(WAKE_JOB, max(when, now + WAKE_AHEAD), self.run_due)

    async def flush(self) -> int:
        """Deliver every claimable outbox item, each meeting's in order; return how many were delivered."""
        async with self._lock:
            return await LaneFlush(self.bot.services.outbox, self._deliver_one).run()

    async def _deliver_one(self, item: OutboxItem) -> bool:
        try:
            result = await self._perform(item)
        except PermanentDeliveryError as exc:
            await self.bot.services.outbox.mark_failed(item.id, str(exc), permanent=True)
            return True
        except discord.Forbidden as exc:
            await self.bot.services.outbox.mark_failed(item.id, f"forbidden {exc.code}", permanent=True)
            return True
        except discord.NotFound as exc:
            await self.bot.services.outbox.mark_failed(item.id, f"not found {exc.code}", permanent=True)
            return True
        except discord.HTTPException as exc:
            # Discord refused the request itself (400, say an event that would now start in the past): retrying
            # the same body cannot help, and it must not hold up the meeting's later steps.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            await self.bot.services.outbox.mark_failed(item.id, f"HTTP {exc.status} {exc.code}", permanent=permanent)
            return permanent
        except (TimeoutError, OSError) as exc:
            await self.bot.services.outbox.mark_failed(item.id, f"{type(exc).__name__}", permanent=False)
            return False
        await self.bot.services.outbox.mark_sent(item.id, result)
        if result is not None and item.occurrence_id is not None:
            await self.bot.services.meetings.record_result(item.occurrence_id, item.kind, result)
        if result is not None and item.kind == "cover":
            await self.bot.services.rota.record_cover_message(int(item.payload["assignment_id"]), result)
        if result is not None and item.kind == "alert_escalate":
            await self.bot.services.alerts.record_post(int(item.payload["alert_id"]), coordinators_message_id=result)
        return True

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise PermanentDeliveryError(f"channel {channel_id} cannot hold messages")
        return channel

    async def _target(self, item: OutboxItem) -> int:
        payload = item.payload
        if payload.get("venue"):
            occurrence = await self.bot.services.meetings.get(item.occurrence_id or 0)
            if occurrence is None or occurrence.venue_id is None:
                raise PermanentDeliveryError("meeting has no thread")
            return occurrence.venue_id
        return int(payload["channel_id"])

    async def _perform(self, item: OutboxItem) -> int | None:
        payload: dict[str, Any] = item.payload
        kind = item.kind
        if kind in ("message", "panel", "cover"):
            channel = await self._channel(await self._target(item))
            role = payload.get("ping_role_id")
            mentions = discord.AllowedMentions(roles=[discord.Object(role)]) if role else discord.AllowedMentions.none()
            view = build_view(payload["buttons"]) if payload.get("buttons") else discord.utils.MISSING
            embeds = [discord.Embed.from_dict(embed) for embed in payload.get("embeds", [])]
            message = await channel.send(
                payload["content"], embeds=embeds, nonce=item.nonce, allowed_mentions=mentions, view=view
            )
            return message.id
        if kind == "panel_edit":
            return await self._edit_panel(item)
        if kind == "open_venue":
            return await self._open_venue(item)
        if kind == "close_venue":
            occurrence = await self.bot.services.meetings.get(item.occurrence_id or 0)
            if occurrence is None or occurrence.venue_id is None:
                return None
            venue = await self._channel(occurrence.venue_id)
            if isinstance(venue, discord.Thread):
                await venue.edit(locked=True, archived=True)
            return None
        if kind == "notify":
            # Meeting life-cycle events for other cogs (e.g. participation counting), delivered like any step.
            self.bot.dispatch(payload["event"], item.guild_id, item.occurrence_id)
            return None
        if kind == "dm":
            return await self._dm(item)
        if kind == "cover_edit":
            return await self._edit_cover(item)
        if kind in ("event_create", "event_edit", "event_status"):
            return await self._event(item)
        if kind == "alert_escalate":
            return await self._alert_escalate(item)
        if kind == "alert_taken":
            return await self._alert_taken(item)
        raise PermanentDeliveryError(f"unknown outbox kind {kind}")

    async def _open_venue(self, item: OutboxItem) -> int:
        """Open the meeting's thread from an anchor message, so that however often it is retried there is one thread."""
        # A thread created on its own takes no nonce: a retry after Discord created it (a kill, or a lost answer
        # discord.py retries) would make a second. A message takes a nonce, and a message holds at most one thread.
        payload = item.payload
        parent = await self._channel(int(payload["channel_id"]))
        if not isinstance(parent, discord.TextChannel):
            raise PermanentDeliveryError("meetings channel is not a text channel")
        anchor_id = item.checkpoint
        if anchor_id is None:
            content = payload.get("anchor") or f"**{payload['name']}** is starting now: join in the thread below."
            anchor = await parent.send(content, nonce=item.nonce, allowed_mentions=discord.AllowedMentions.none())
            anchor_id = anchor.id
            # Recorded before the thread is asked for: a retry minutes later, past Discord's nonce window, must
            # find this message rather than post another.
            await self.bot.services.outbox.record_checkpoint(item.id, anchor_id)
        try:
            thread = await parent.get_partial_message(anchor_id).create_thread(
                name=payload["name"], auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
            log.info("Meeting %s's thread already existed (an earlier try made it); using it.", item.occurrence_id)
            return anchor_id  # a thread started from a message has the message's id
        return thread.id

    async def _edit_panel(self, item: OutboxItem) -> int | None:
        occurrence = await self.bot.services.meetings.get(item.occurrence_id or 0)
        if occurrence is None or occurrence.panel_message_id is None or occurrence.venue_id is None:
            return None
        channel = await self._channel(occurrence.venue_id)
        if not isinstance(channel, discord.Thread | discord.TextChannel):
            raise PermanentDeliveryError("panel channel has no messages")
        message = channel.get_partial_message(occurrence.panel_message_id)
        buttons = item.payload.get("buttons") or []
        await message.edit(content=item.payload["content"], view=build_view(buttons) if buttons else None)
        return None

    async def _dm(self, item: OutboxItem) -> int | None:
        """DM a facilitator; when their DMs are closed, post in the fallback channel with a mention instead."""
        payload = item.payload
        user_id = payload.get("user_id")
        view = build_view(payload["buttons"]) if payload.get("buttons") else discord.utils.MISSING
        if user_id:
            try:
                user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
                message = await user.send(payload["content"], nonce=item.nonce, view=view)
                return message.id
            except discord.Forbidden:
                log.info("A facilitator's DMs are closed; using the facilitators' channel instead.")
        if payload.get("channel_id"):
            channel = await self._channel(int(payload["channel_id"]))
            mention = f"<@{user_id}> " if user_id else ""
            message = await channel.send(
                f"{mention}{payload['content']}",
                nonce=item.nonce,
                view=build_view(payload["buttons"]) if payload.get("buttons") else discord.utils.MISSING,
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(user_id)])
                if user_id
                else discord.AllowedMentions.none(),
            )
            return message.id
        return None

    async def _edit_cover(self, item: OutboxItem) -> int | None:
        """Show a cover request as taken, without its button."""
        message_id = await self.bot.services.rota.cover_message(int(item.payload["assignment_id"]))
        settings = await self.bot.services.guild_config.get(item.guild_id)
        if message_id is None or settings.facilitators_channel_id is None:
            return None
        channel = await self._channel(settings.facilitators_channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise PermanentDeliveryError("facilitators' channel is not a text channel")
        await channel.get_partial_message(message_id).edit(content=item.payload["content"], view=None)
        return None

    async def _alert_escalate(self, item: OutboxItem) -> int | None:
        """Alert the coordinators' channel to an alert no facilitator took, mentioning the coordinator role."""
        alert = await self.bot.services.alerts.get(int(item.payload["alert_id"]))
        if alert is None or alert.state != "open":
            return None  # taken while this waited: nobody needs calling
        settings = await self.bot.services.guild_config.get(item.guild_id)
        if settings.coordinators_channel_id is None:
            raise PermanentDeliveryError("no coordinators' channel to escalate an alert to")
        channel = await self._channel(settings.coordinators_channel_id)
        # What the member wrote is not stored: it is read back from the facilitators' post, if there is one.
        body = ""
        if alert.facilitators_message_id is not None and settings.facilitators_channel_id is not None:
            try:
                posted = await self._fetch_message(settings.facilitators_channel_id, alert.facilitators_message_id)
                body = body_of(posted.content)
            except (discord.HTTPException, PermanentDeliveryError):
                log.info("Alert %s: the facilitators' post could not be read for the escalation.", alert.id)
        role = settings.coordinator_role_id
        content = escalation_post(
            role_mention=f"<@&{role}>" if role else None,
            minutes=int(item.payload.get("minutes", 0)),
            raised_at=alert.raised_at,
            body=body,
        )
        mentions = (
            discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role)])
            if role
            else discord.AllowedMentions.none()
        )
        message = await channel.send(
            content, nonce=item.nonce, allowed_mentions=mentions, view=build_view([take_button(alert.id)])
        )
        return message.id

    async def _alert_taken(self, item: OutboxItem) -> int | None:
        """Show on every post of an alert who took it, and remove the button."""
        alert = await self.bot.services.alerts.get(int(item.payload["alert_id"]))
        if alert is None or alert.taken_at is None:
            return None
        settings = await self.bot.services.guild_config.get(item.guild_id)
        line = taken_line(int(item.payload["taken_by"]), alert.taken_at)
        posts = (
            (settings.facilitators_channel_id, alert.facilitators_message_id),
            (settings.coordinators_channel_id, alert.coordinators_message_id),
        )
        for channel_id, message_id in posts:
            if channel_id is None or message_id is None:
                continue
            message = await self._fetch_message(channel_id, message_id)
            if line in message.content:
                continue  # an earlier try got this far
            await message.edit(
                content=f"{message.content}\n{line}", view=None, allowed_mentions=discord.AllowedMentions.none()
            )
        return None

    async def _fetch_message(self, channel_id: int, message_id: int) -> discord.Message:
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise PermanentDeliveryError(f"channel {channel_id} has no messages to read")
        return await channel.fetch_message(message_id)

    async def _event(self, item: OutboxItem) -> int | None:
        guild = self.bot.get_guild(item.guild_id)
        if guild is None:
            raise PermanentDeliveryError("guild not available")
        payload = item.payload
        if item.kind == "event_create":
            start = discord.utils.parse_time(payload["start"])
            end = discord.utils.parse_time(payload["end"])
            kwargs: dict[str, Any] = {
                "name": payload["name"],
                "description": payload["description"],
                "start_time": start,
                "end_time": end,
                "privacy_level": discord.PrivacyLevel.guild_only,
            }
            if payload["entity_type"] == 3:
                kwargs.update(entity_type=discord.EntityType.external, location=payload["location"])
            else:
                channel = guild.get_channel(int(payload["channel_id"]))
                if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                    raise PermanentDeliveryError("meeting voice channel is gone")
                entity = discord.EntityType.stage_instance if payload["entity_type"] == 1 else discord.EntityType.voice
                kwargs.update(channel=channel, entity_type=entity)
            if item.attempts > 1:
                # An earlier try may have created the event and died before recording it; events take no nonce.
                # Only retries pay for the look-up: first tries are most of them, and groups create events in bulk.
                earlier = await self._created_event(guild, item, start)
                if earlier is not None:
                    log.info(
                        "Meeting %s's event already existed (an earlier try made it); using it.", item.occurrence_id
                    )
                    return earlier
            event = await guild.create_scheduled_event(**kwargs)
            return event.id
        occurrence = await self.bot.services.meetings.get(item.occurrence_id or 0)
        if occurrence is None or occurrence.event_id is None:
            return None  # the event was never created: nothing to keep in step
        event = guild.get_scheduled_event(occurrence.event_id) or await guild.fetch_scheduled_event(occurrence.event_id)
        if item.kind == "event_status":
            status = discord.EventStatus(int(payload["status"]))
            if event.status == status or event.status in (discord.EventStatus.completed, discord.EventStatus.cancelled):
                return None
            await event.edit(status=status)
            return None
        edit: dict[str, Any] = {
            "name": payload["name"],
            "description": payload["description"],
            "start_time": discord.utils.parse_time(payload["start"]),
            "end_time": discord.utils.parse_time(payload["end"]),
        }
        if payload["entity_type"] == 3:
            edit.update(entity_type=discord.EntityType.external, location=payload["location"], channel=None)
        else:
            edit.update(channel=guild.get_channel(int(payload["channel_id"])))
        await event.edit(**edit)
        return None

    async def _created_event(self, guild: discord.Guild, item: OutboxItem, start: datetime) -> int | None:
        """Return the id of an event the bot already made for this item, if an earlier try made one."""
        payload = item.payload
        me = self.bot.user.id if self.bot.user else None
        taken = await self.bot.services.meetings.linked_event_ids(guild.id)
        for event in await guild.fetch_scheduled_events(with_counts=False):
            if event.creator_id != me or event.id in taken:
                continue  # someone else's event, or another meeting's
            if event.name != payload["name"] or event.start_time != start:
                continue
            if payload["entity_type"] == 3:
                same_place = event.location == payload["location"]
            else:
                same_place = event.channel_id == int(payload["channel_id"])
            if same_place:
                return event.id
        return None
