"""Referral routes on Discord: read the invites' use counts, delete a retired route's invite, post the pinned note.

Reading counts lists a channel's invites (Discord shows `uses` only there, to those with Manage Channels in the
channel); only the numbers go on to the service, never who used an invite, which Discord does not say anyway.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.delivery.errors import PermanentDeliveryError
from bot.domain.referral import COUNT_PERMISSION_PROBLEM
from bot.services.outbox import OutboxItem
from bot.services.outbox_payloads import InviteDelete, WelcomeNote
from bot.services.referral.service import CountRead

if TYPE_CHECKING:
    from bot.client import SmartBot
    from bot.delivery.delivery import Delivery

log = logging.getLogger(__name__)

CHANNEL_GONE_PROBLEM = (
    "The channel the referral links open on no longer exists, so their counts can't be read: retire them and make "
    "new ones (choose a channel with `/referral welcome-channel`)."
)
PIN_PROBLEM = "I posted the “New here?” note but couldn't pin it: I need 'Pin Messages' in the welcome channel."


async def read_due_counts(delivery: Delivery) -> None:
    """Read the counts of every group whose hourly read is due."""
    for read in await delivery.bot.services.referral.claim_due_reads():
        await _read(delivery.bot, read)


async def read_counts_now(bot: SmartBot, guild_id: int) -> None:
    """Read one group's counts at once (`/referral list` shows fresh numbers)."""
    for read in await bot.services.referral.claim_due_reads(guild_id):
        await _read(bot, read)


async def _read(bot: SmartBot, read: CountRead) -> None:
    service = bot.services.referral
    for channel_id in read.channel_ids:
        try:
            channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.GuildChannel):
                raise PermanentDeliveryError(f"channel {channel_id} has no invites")
            invites = await channel.invites()
        except discord.Forbidden:
            await service.record_problem(read.guild_id, COUNT_PERMISSION_PROBLEM)
            continue
        except (discord.NotFound, PermanentDeliveryError):
            await service.record_problem(read.guild_id, CHANNEL_GONE_PROBLEM)
            continue
        except (discord.HTTPException, TimeoutError, OSError) as exc:
            # Discord is having a bad moment: the next hourly read catches up (the use counts keep growing).
            log.warning("Reading guild %s's referral counts failed (%s); trying again next time.", read.guild_id, exc)
            continue
        uses = {invite.code: int(invite.uses or 0) for invite in invites}
        added = await service.record_uses(read.guild_id, channel_id, uses)
        log.info("Guild %s: %d join(s) through referral routes since the last read.", read.guild_id, added)


async def delete_invite(delivery: Delivery, item: OutboxItem, payload: InviteDelete) -> None:
    """Count a retired route's last joins, then delete its invite (already gone is fine)."""
    bot = delivery.bot
    try:
        channel = bot.get_channel(payload.channel_id) or await bot.fetch_channel(payload.channel_id)
        if isinstance(channel, discord.abc.GuildChannel):
            invites = await channel.invites()
            uses = {invite.code: int(invite.uses or 0) for invite in invites}
            await bot.services.referral.record_uses(item.guild_id, payload.channel_id, uses)
    except discord.HTTPException as exc:
        # The last count is a nicety; deleting the invite is what retiring promises.
        log.info("Could not read a retired route's last count in guild %s (%s).", item.guild_id, exc.status)
    try:
        await bot.delete_invite(payload.code, reason="Referral route retired")
    except discord.NotFound:
        log.info("A retired route's invite in guild %s was already gone.", item.guild_id)


async def post_welcome_note(delivery: Delivery, item: OutboxItem, payload: WelcomeNote) -> int:
    """Edit the pinned note where it is, or post and pin it (the old one, elsewhere, is deleted)."""
    service = delivery.bot.services.referral
    where = await service.welcome_message(item.guild_id)
    if where.message_id is not None and where.channel_id is not None:
        try:
            old = await delivery.fetch_message(where.channel_id, where.message_id)
        except (discord.NotFound, PermanentDeliveryError):
            old = None
        except discord.Forbidden:
            old = None
        if old is not None and where.channel_id == payload.channel_id:
            await old.edit(content=payload.content, allowed_mentions=discord.AllowedMentions.none())
            return old.id
        if old is not None:
            try:
                await old.delete()
            except discord.HTTPException:
                log.info("Could not delete guild %s's old newcomers' note after it moved.", item.guild_id)
    channel = await delivery.channel(payload.channel_id)
    message = await channel.send(payload.content, nonce=item.nonce, allowed_mentions=discord.AllowedMentions.none())
    await service.record_welcome_message(item.guild_id, payload.channel_id, message.id)
    try:
        await message.pin(reason="The newcomers' note")
    except discord.Forbidden:
        # Posted is most of the point; the coordinators hear why it isn't pinned.
        await service.record_problem(item.guild_id, PIN_PROBLEM)
    return message.id
