"""Handlers of a member's alert: calling the coordinators, and showing who took it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.delivery.errors import PermanentDeliveryError
from bot.delivery.views import build_view
from bot.domain.alerts import body_of, escalation_post, taken_line
from bot.domain.discord_ids import mention_role
from bot.domain.states import AlertState
from bot.services.alerts import take_button
from bot.services.outbox import OutboxItem
from bot.services.outbox_payloads import AlertEscalate, AlertTaken

if TYPE_CHECKING:
    from bot.delivery.delivery import Delivery

log = logging.getLogger(__name__)


async def escalate(delivery: Delivery, item: OutboxItem, payload: AlertEscalate) -> int | None:
    """Alert the coordinators' channel to an alert no facilitator took, mentioning the coordinator role."""
    services = delivery.bot.services
    alert = await services.alerts.get(payload.alert_id)
    if alert is None or alert.state != AlertState.OPEN:
        return None  # taken while this waited: nobody needs calling
    settings = await services.guild_config.get(item.guild_id)
    if settings.coordinators_channel_id is None:
        raise PermanentDeliveryError("no coordinators' channel to escalate an alert to")
    channel = await delivery.channel(settings.coordinators_channel_id)
    # What the member wrote is not stored: it is read back from the facilitators' post, if there is one.
    body = ""
    if alert.facilitators_message_id is not None and settings.facilitators_channel_id is not None:
        try:
            posted = await delivery.fetch_message(settings.facilitators_channel_id, alert.facilitators_message_id)
            body = body_of(posted.content)
        except (discord.HTTPException, PermanentDeliveryError):
            log.info("Alert %s: the facilitators' post could not be read for the escalation.", alert.id)
    role = settings.coordinator_role_id
    content = escalation_post(
        role_mention=mention_role(role) if role else None,
        minutes=payload.minutes,
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


async def record_escalation(delivery: Delivery, payload: AlertEscalate, message_id: int) -> None:
    """Remember the coordinators' post, so that taking the alert can show it there too."""
    await delivery.bot.services.alerts.record_post(payload.alert_id, coordinators_message_id=message_id)


async def show_taken(delivery: Delivery, item: OutboxItem, payload: AlertTaken) -> None:
    """Show on every post of an alert who took it, and remove the button."""
    services = delivery.bot.services
    alert = await services.alerts.get(payload.alert_id)
    if alert is None or alert.taken_at is None:
        return
    settings = await services.guild_config.get(item.guild_id)
    line = taken_line(payload.taken_by, alert.taken_at)
    posts = (
        (settings.facilitators_channel_id, alert.facilitators_message_id),
        (settings.coordinators_channel_id, alert.coordinators_message_id),
    )
    for channel_id, message_id in posts:
        if channel_id is None or message_id is None:
            continue
        message = await delivery.fetch_message(channel_id, message_id)
        if line in message.content:
            continue  # an earlier try got this far
        await message.edit(
            content=f"{message.content}\n{line}", view=None, allowed_mentions=discord.AllowedMentions.none()
        )
    return
