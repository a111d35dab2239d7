"""`/referral`: agency referral links counted as numbers only, and the newcomers' pinned "New here?" note.

The commands live in `_commands.py` on one GroupCog, `Referral`. More `/referral` subcommands (the poster, the public
listing) go in their own module of this package as a plain mixin class (no Cog base) whose methods are decorated
with `@app_commands.command`, added to `Referral`'s bases in `_commands.py`: discord.py collects a GroupCog's
commands from every class in its MRO, so they become `/referral <name>` with the same error handling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.domain.referral import REFERRAL_PERMISSION_LABELS, ReferralFacts, check_referrals
from bot.domain.server_setup import Finding
from bot.errors import NotConfiguredError
from cogs.referral._commands import Referral

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the referral commands."""
    await bot.add_cog(Referral(bot))


async def referral_findings(bot: SmartBot, guild: discord.Guild, bot_role: str) -> list[Finding]:
    """Return what `/setup check` should say about the referral links and the note (the welcome channel's rights)."""
    service = bot.services.referral
    routes = len(await service.active_routes(guild.id))
    where = await service.welcome_message(guild.id)
    try:
        channel_id: int | None = await service.welcome_channel(guild.id)
    except NotConfiguredError:  # no welcome or meetings channel: the setup check names that already
        channel_id = None
    channel = guild.get_channel(channel_id) if channel_id else None
    has = channel.permissions_for(guild.me) if channel is not None else discord.Permissions.none()
    facts = ReferralFacts(
        routes=routes,
        channel_name=channel.name if channel is not None else None,
        bot_has=frozenset(name for name in REFERRAL_PERMISSION_LABELS if getattr(has, name)),
        bot_role=bot_role,
        note_posted=where.message_id is not None,
    )
    return check_referrals(facts)
