"""Handlers of the office's outbox kinds: announcements and their report, the network's questions and replies."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord

from bot.delivery.errors import PermanentDeliveryError
from bot.delivery.messages import THREAD_ALREADY_CREATED
from bot.delivery.views import view_or_missing
from bot.services.office.announcements import SETTLED, report_text
from bot.services.outbox import MAX_ATTEMPTS, OutboxItem
from bot.services.outbox_payloads import AnnouncementPost, AnnouncementReport, NetworkAnswer, NetworkQuestion

if TYPE_CHECKING:
    from bot.delivery.delivery import Delivery

log = logging.getLogger(__name__)

THREAD_NAME_MAX = 100


def _why(exc: BaseException) -> tuple[str, bool]:
    """Return what the office is told about a failed try, and whether retrying could help."""
    if isinstance(exc, discord.Forbidden):
        return f"the bot may not post in that channel (Discord said 403, code {exc.code})", True
    if isinstance(exc, discord.NotFound):
        return f"the channel no longer exists (Discord said 404, code {exc.code})", True
    if isinstance(exc, PermanentDeliveryError):
        return str(exc), True
    if isinstance(exc, discord.HTTPException):
        passing = exc.status >= 500 or exc.status == 429
        return f"Discord answered {exc.status}", not passing
    return f"could not reach Discord ({type(exc).__name__})", False


async def post_announcement(delivery: Delivery, item: OutboxItem, payload: AnnouncementPost) -> int | None:
    """Post an announcement in one group's channel; record the outcome for the delivery report whatever it is."""
    announcements = delivery.bot.services.office.announcements
    outgoing = await announcements.outgoing(payload.target_id)
    if outgoing is None:
        raise PermanentDeliveryError("announcement target no longer exists")
    target = outgoing.target
    if target.state in SETTLED:
        return target.message_id  # an earlier try got as far as recording it
    try:
        if target.channel_id is None:
            raise PermanentDeliveryError("the group has no coordinators' channel set up")
        channel = await delivery.channel(target.channel_id)
        files = (
            [discord.File(io.BytesIO(outgoing.file_data), filename=outgoing.file_name or "file")]
            if outgoing.file_data is not None
            else []
        )
        message = await channel.send(
            outgoing.content, files=files, nonce=item.nonce, allowed_mentions=discord.AllowedMentions.none()
        )
    except (discord.HTTPException, PermanentDeliveryError, TimeoutError, OSError) as exc:
        reason, permanent = _why(exc)
        # The outbox gives a passing failure up after MAX_ATTEMPTS tries: the report must say so then, not "retrying".
        final = permanent or item.attempts >= MAX_ATTEMPTS
        await announcements.record_failed(target.id, reason, final=final)
        raise
    await announcements.record_delivered(target.id, message.id)
    return message.id


async def show_announcement_report(delivery: Delivery, item: OutboxItem, payload: AnnouncementReport) -> int | None:
    """Post an announcement's delivery report in the office's channel, or edit it to show the latest outcomes."""
    announcements = delivery.bot.services.office.announcements
    report = await announcements.claim_report(payload.announcement_id)
    if report is None:
        return None
    channel = await delivery.channel(report.channel_id)
    content = report_text(report)
    if report.message_id is None:
        message = await channel.send(content, nonce=item.nonce, allowed_mentions=discord.AllowedMentions.none())
        await announcements.record_report_message(report.announcement_id, message.id)
        return message.id
    if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
        raise PermanentDeliveryError("the report's channel has no messages")
    await channel.get_partial_message(report.message_id).edit(content=content)
    return None


async def post_question(delivery: Delivery, item: OutboxItem, payload: NetworkQuestion) -> int:
    """Post a group's question in the network channel, with its Reply button."""
    channel = await delivery.channel(payload.channel_id)
    message = await channel.send(
        payload.content,
        nonce=item.nonce,
        allowed_mentions=discord.AllowedMentions.none(),
        view=view_or_missing(payload.buttons),
    )
    return message.id


async def record_question(delivery: Delivery, payload: NetworkQuestion, message_id: int) -> None:
    """Remember the question's message, under which replies are shown."""
    await delivery.bot.services.office.network.record_question_message(payload.question_id, message_id)


async def post_answer(delivery: Delivery, item: OutboxItem, payload: NetworkAnswer) -> int:
    """Show a reply in the question's thread in the network channel (started by the first reply)."""
    question = await delivery.bot.services.office.network.question(payload.question_id)
    if question is None or question.message_id is None:
        raise PermanentDeliveryError("the question was never posted in the network channel")
    parent = await delivery.channel(question.channel_id)
    if not isinstance(parent, discord.TextChannel):
        raise PermanentDeliveryError("the network channel is not a text channel")
    name = f"Replies to {question.group_name}"[:THREAD_NAME_MAX]
    try:
        thread: discord.abc.Messageable = await parent.get_partial_message(question.message_id).create_thread(
            name=name, auto_archive_duration=10080
        )
    except discord.HTTPException as exc:
        if exc.code != THREAD_ALREADY_CREATED:
            raise
        # A thread started from a message has the message's id.
        thread = await delivery.channel(question.message_id)
    message = await thread.send(payload.content, nonce=item.nonce, allowed_mentions=discord.AllowedMentions.none())
    return message.id
