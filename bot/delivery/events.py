"""Handlers of the scheduled events that mirror meetings: create (without a second on a retry), edit, status."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, TYPE_CHECKING

import discord

from bot.delivery.errors import PermanentDeliveryError
from bot.domain.discord_ids import EntityType
from bot.services.outbox import OutboxItem
from bot.services.outbox_payloads import EventCreate, EventEdit, EventStatus

if TYPE_CHECKING:
    from bot.delivery.delivery import Delivery

log = logging.getLogger(__name__)


def _guild(delivery: Delivery, item: OutboxItem) -> discord.Guild:
    guild = delivery.bot.get_guild(item.guild_id)
    if guild is None:
        raise PermanentDeliveryError("guild not available")
    return guild


async def create_event(delivery: Delivery, item: OutboxItem, payload: EventCreate) -> int:
    """Create a meeting's scheduled event; a retry first adopts the event an earlier try may have made."""
    guild = _guild(delivery, item)
    kwargs = _create_kwargs(guild, payload)
    if item.attempts > 1:
        # An earlier try may have created the event and died before recording it; events take no nonce.
        # Only retries pay for the look-up: first tries are most of them, and groups create events in bulk.
        earlier = await _created_event(delivery, guild, payload, payload.start)
        if earlier is not None:
            log.info("Meeting %s's event already existed (an earlier try made it); using it.", item.occurrence_id)
            return earlier
    event = await guild.create_scheduled_event(**kwargs)
    return event.id


def _create_kwargs(guild: discord.Guild, payload: EventCreate) -> dict[str, Any]:
    """Return the arguments that create the payload's event, refusing for good when its voice channel is gone."""
    kwargs: dict[str, Any] = {
        "name": payload.name,
        "description": payload.description,
        "start_time": payload.start,
        "end_time": payload.end,
        "privacy_level": discord.PrivacyLevel.guild_only,
    }
    if payload.entity_type == EntityType.EXTERNAL:
        kwargs.update(entity_type=discord.EntityType.external, location=payload.location)
        return kwargs
    channel = guild.get_channel(payload.channel_id or 0)
    if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        raise PermanentDeliveryError("meeting voice channel is gone")
    stage = payload.entity_type == EntityType.STAGE_INSTANCE
    entity = discord.EntityType.stage_instance if stage else discord.EntityType.voice
    kwargs.update(channel=channel, entity_type=entity)
    return kwargs


async def _created_event(delivery: Delivery, guild: discord.Guild, payload: EventCreate, start: datetime) -> int | None:
    """Return the id of an event the bot already made for this item, if an earlier try made one."""
    bot = delivery.bot
    me = bot.user.id if bot.user else None
    taken = await bot.services.meetings.linked_event_ids(guild.id)
    for event in await guild.fetch_scheduled_events(with_counts=False):
        # Someone else's event, or another meeting's, is never adopted.
        if event.creator_id == me and event.id not in taken and _is_same_event(event, payload, start):
            return event.id
    return None


def _is_same_event(event: discord.ScheduledEvent, payload: EventCreate, start: datetime) -> bool:
    """Tell whether `event` has the payload's name, start and place."""
    if event.name != payload.name or event.start_time != start:
        return False
    if payload.entity_type == EntityType.EXTERNAL:
        return event.location == payload.location
    return event.channel_id == payload.channel_id


async def _linked_event(delivery: Delivery, guild: discord.Guild, item: OutboxItem) -> discord.ScheduledEvent | None:
    """Return the meeting's scheduled event, or None when it was never created."""
    occurrence = await delivery.bot.services.meetings.get(item.occurrence_id or 0)
    if occurrence is None or occurrence.event_id is None:
        return None
    return guild.get_scheduled_event(occurrence.event_id) or await guild.fetch_scheduled_event(occurrence.event_id)


async def set_event_status(delivery: Delivery, item: OutboxItem, payload: EventStatus) -> None:
    """Start, end or cancel a meeting's event, unless it is already there or over."""
    event = await _linked_event(delivery, _guild(delivery, item), item)
    if event is None:
        return  # the event was never created: nothing to keep in step
    status = discord.EventStatus(int(payload.status))
    if event.status == status or event.status in (discord.EventStatus.completed, discord.EventStatus.cancelled):
        return
    await event.edit(status=status)
    return


async def edit_event(delivery: Delivery, item: OutboxItem, payload: EventEdit) -> None:
    """Bring a meeting's event in line with its edited series."""
    guild = _guild(delivery, item)
    event = await _linked_event(delivery, guild, item)
    if event is None:
        return  # the event was never created: nothing to keep in step
    edit: dict[str, Any] = {
        "name": payload.name,
        "description": payload.description,
        "start_time": payload.start,
        "end_time": payload.end,
    }
    if payload.entity_type == EntityType.EXTERNAL:
        edit.update(entity_type=discord.EntityType.external, location=payload.location, channel=None)
    else:
        edit.update(channel=guild.get_channel(payload.channel_id or 0))
    await event.edit(**edit)
    return
