"""Handlers of the outbox kinds that post, edit and DM: meeting posts, the panel, the thread, cover requests."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.delivery.errors import PermanentDeliveryError
from bot.delivery.views import build_view, view_or_missing
from bot.domain.discord_ids import mention_user
from bot.services.outbox import OutboxItem
from bot.services.outbox_payloads import (
    CloseVenue,
    Cover,
    CoverEdit,
    DirectMessage,
    Message,
    Notify,
    OpenVenue,
    PanelEdit,
)

if TYPE_CHECKING:
    from bot.delivery.delivery import Delivery

log = logging.getLogger(__name__)

# Discord's answer to starting a thread from a message that already has one.
THREAD_ALREADY_CREATED = 160004


async def send_message(delivery: Delivery, item: OutboxItem, payload: Message) -> int:
    """Post a message (or the panel) in its channel or the meeting's thread; the nonce keeps a retry single."""
    channel = await delivery.channel(await _target(delivery, item, payload))
    role = payload.ping_role_id
    mentions = discord.AllowedMentions(roles=[discord.Object(role)]) if role else discord.AllowedMentions.none()
    embeds = [discord.Embed.from_dict(embed) for embed in payload.embeds]
    message = await channel.send(
        payload.content,
        embeds=embeds,
        nonce=item.nonce,
        allowed_mentions=mentions,
        view=view_or_missing(payload.buttons),
    )
    return message.id


async def send_cover(delivery: Delivery, item: OutboxItem, payload: Cover) -> int:
    """Ask the facilitators' channel for cover."""
    channel = await delivery.channel(payload.channel_id)
    message = await channel.send(
        payload.content,
        embeds=[],
        nonce=item.nonce,
        allowed_mentions=discord.AllowedMentions.none(),
        view=view_or_missing(payload.buttons),
    )
    return message.id


async def record_cover(delivery: Delivery, payload: Cover, message_id: int) -> None:
    """Remember the cover request's message on its duty, so that taking it can edit it."""
    await delivery.bot.services.rota.record_cover_message(payload.assignment_id, message_id)


async def _target(delivery: Delivery, item: OutboxItem, payload: Message) -> int:
    if payload.venue:
        venue = await delivery.venue_of(item.occurrence_id or 0)
        if venue is None:
            raise PermanentDeliveryError("meeting has no thread")
        return venue
    if payload.channel_id is None:
        raise PermanentDeliveryError("message has neither a channel nor a meeting thread")
    return payload.channel_id


async def open_venue(delivery: Delivery, item: OutboxItem, payload: OpenVenue) -> int:
    """Open the meeting's thread from an anchor message, so that however often it is retried there is one thread."""
    # A thread created on its own takes no nonce: a retry after Discord created it (a kill, or a lost answer
    # discord.py retries) would make a second. A message takes a nonce, and a message holds at most one thread.
    parent = await delivery.channel(payload.channel_id)
    if not isinstance(parent, discord.TextChannel):
        raise PermanentDeliveryError("meetings channel is not a text channel")
    anchor_id = item.checkpoint
    if anchor_id is None:
        content = payload.anchor or f"**{payload.name}** is starting now: join in the thread below."
        anchor = await parent.send(content, nonce=item.nonce, allowed_mentions=discord.AllowedMentions.none())
        anchor_id = anchor.id
        # Recorded before the thread is asked for: a retry minutes later, past Discord's nonce window, must
        # find this message rather than post another.
        await delivery.bot.services.outbox.record_checkpoint(item.id, anchor_id)
    try:
        thread = await parent.get_partial_message(anchor_id).create_thread(
            name=payload.name, auto_archive_duration=1440
        )
    except discord.HTTPException as exc:
        if exc.code != THREAD_ALREADY_CREATED:
            raise
        log.info("Meeting %s's thread already existed (an earlier try made it); using it.", item.occurrence_id)
        return anchor_id  # a thread started from a message has the message's id
    return thread.id


async def close_venue(delivery: Delivery, item: OutboxItem, payload: CloseVenue) -> None:
    """Lock and archive the meeting's thread, if it has one."""
    venue_id = await delivery.venue_of(item.occurrence_id or 0)
    if venue_id is None:
        return
    venue = await delivery.channel(venue_id)
    if isinstance(venue, discord.Thread):
        await venue.edit(locked=True, archived=True)
    return


async def notify(delivery: Delivery, item: OutboxItem, payload: Notify) -> None:
    """Dispatch a meeting's life-cycle event to the cogs, in its place among the meeting's steps."""
    delivery.bot.dispatch(payload.event, item.guild_id, item.occurrence_id)


async def edit_panel(delivery: Delivery, item: OutboxItem, payload: PanelEdit) -> None:
    """Show the facilitator panel's new state."""
    occurrence = await delivery.bot.services.meetings.get(item.occurrence_id or 0)
    if occurrence is None or occurrence.panel_message_id is None or occurrence.venue_id is None:
        return
    channel = await delivery.channel(occurrence.venue_id)
    if not isinstance(channel, discord.Thread | discord.TextChannel):
        raise PermanentDeliveryError("panel channel has no messages")
    message = channel.get_partial_message(occurrence.panel_message_id)
    await message.edit(content=payload.content, view=build_view(payload.buttons) if payload.buttons else None)
    return


async def direct_message(delivery: Delivery, item: OutboxItem, payload: DirectMessage) -> int | None:
    """DM a facilitator; when their DMs are closed, post in the fallback channel with a mention instead."""
    bot = delivery.bot
    user_id = payload.user_id
    if user_id:
        try:
            user = bot.get_user(user_id) or await bot.fetch_user(user_id)
            message = await user.send(payload.content, nonce=item.nonce, view=view_or_missing(payload.buttons))
            return message.id
        except discord.Forbidden:
            log.info("A facilitator's DMs are closed; using the facilitators' channel instead.")
    if payload.channel_id:
        channel = await delivery.channel(payload.channel_id)
        mention = f"{mention_user(user_id)} " if user_id else ""
        message = await channel.send(
            f"{mention}{payload.content}",
            nonce=item.nonce,
            view=view_or_missing(payload.buttons),
            allowed_mentions=discord.AllowedMentions(users=[discord.Object(user_id)])
            if user_id
            else discord.AllowedMentions.none(),
        )
        return message.id
    return None


async def edit_cover(delivery: Delivery, item: OutboxItem, payload: CoverEdit) -> None:
    """Show a cover request as taken, without its button."""
    message_id = await delivery.bot.services.rota.cover_message(payload.assignment_id)
    settings = await delivery.bot.services.guild_config.get(item.guild_id)
    if message_id is None or settings.facilitators_channel_id is None:
        return
    channel = await delivery.channel(settings.facilitators_channel_id)
    if not isinstance(channel, discord.TextChannel):
        raise PermanentDeliveryError("facilitators' channel is not a text channel")
    await channel.get_partial_message(message_id).edit(content=payload.content, view=None)
    return
