"""Deliver the outbox to Discord, and wake the meeting runner when something is due."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, TYPE_CHECKING

import discord

from bot.services.outbox import OutboxItem

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

WAKE_JOB = "meetings:wake"
MATERIALISE_JOB = "meetings:materialise"
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
        """Let the runner do what is due, deliver the results, and set the next wake-up."""
        try:
            await self.bot.services.meetings.tick()
            await self.bot.services.rota_timers.tick()
            await self.flush()
        except Exception:
            # A timer has no user to apologise to: log it; the next wake-up retries what is still due.
            log.exception("Running due meeting steps failed.")
        finally:
            await self.schedule_wake()

    async def schedule_wake(self) -> None:
        """Arrange for `run_due` to run at the next instant something is due."""
        candidates = [
            await self.bot.services.meetings.next_due(),
            await self.bot.services.rota_timers.next_due(),
            await self.bot.services.outbox.next_due(),
        ]
        due = [when for when in candidates if when is not None]
        when = min(due) if due else None
        if when is None:
            self.bot.scheduler.cancel(WAKE_JOB)
        else:
            # Never in the past: a step that keeps failing is retried each second, not in a tight loop.
            earliest = self.bot.clock.now() + timedelta(seconds=1)
            self.bot.scheduler.schedule_at(WAKE_JOB, max(when, earliest), self.run_due)

    async def flush(self) -> int:
        """Deliver every pending outbox item; return how many were delivered."""
        delivered = 0
        async with self._lock:
            while items := await self.bot.services.outbox.claim_batch():
                blocked: set[int] = set()
                for item in items:
                    if item.occurrence_id is not None and item.occurrence_id in blocked:
                        # Keep one meeting's steps in order: retry the rest after the failed one.
                        await self.bot.services.outbox.release(item.id)
                        continue
                    if await self._deliver_one(item):
                        delivered += 1
                    elif item.occurrence_id is not None:
                        blocked.add(item.occurrence_id)
                if blocked:
                    break
        return delivered

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
            parent = await self._channel(int(payload["channel_id"]))
            if not isinstance(parent, discord.TextChannel):
                raise PermanentDeliveryError("meetings channel is not a text channel")
            thread = await parent.create_thread(
                name=payload["name"],
                type=discord.ChannelType.public_thread,
                auto_archive_duration=1440,
            )
            return thread.id
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
        raise PermanentDeliveryError(f"unknown outbox kind {kind}")

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
