"""`/referral ...`: coordinators make, list and retire referral links, and set up the newcomers' note.

A route's invite is made here, in the coordinator's interaction, because they need its link at once; everything
else Discord-side (reading counts, deleting a retired invite, posting the note) is delivery's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery.referral import read_counts_now
from bot.domain.discord_ids import mention_channel, timestamp
from bot.domain.referral import ROUTE_NAME_MAX, WELCOME_TEXT_MAX
from bot.errors import InvalidInputError
from bot.services.referral.service import Listing
from cogs.referral._publicity import PublicityCommands
from cogs.shared import BotModal, coordinator_guild, guild_id, reply, require_coordinator

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)


class Referral(
    PublicityCommands,
    commands.GroupCog,
    group_name="referral",
    group_description="Referral links and the newcomers' note",
):
    """Referral routes (one invite link per agency) and the pinned "New here?" note."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="create", description="Make a referral link for an agency or route (coordinators)")
    @app_commands.describe(
        name="Who the link is for, e.g. Anytown Alcohol Service",
        channel="Where the link opens (default: the welcome channel, else the meetings channel)",
    )
    @app_commands.guild_only()
    async def create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, ROUTE_NAME_MAX],
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Make the route's invite (never expiring) and store the route."""
        gid = await coordinator_guild(self.bot, interaction)
        service = self.bot.services.referral
        cleaned = await service.check_new_route(gid, name)
        channel_id = channel.id if channel is not None else await service.welcome_channel(gid)
        target = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        if not isinstance(target, discord.TextChannel):
            raise InvalidInputError(f"{mention_channel(channel_id)} can't hold an invite: choose a text channel.")
        try:
            invite = await target.create_invite(max_age=0, max_uses=0, unique=True, reason=f"Referral route: {cleaned}")
        except discord.Forbidden:
            raise InvalidInputError(
                f"I can't make an invite in {target.mention}: I need 'Create Invite' there. Allow it for my role in "
                "the channel's permissions (or choose another channel), then try again."
            ) from None
        try:
            route = await service.add_route(gid, cleaned, invite.code, target.id)
        except BaseException:
            # No route, no invite: a link nobody counts must not be left behind.
            await invite.delete(reason="Referral route not saved")
            raise
        self.bot.delivery.kick()
        await reply(
            interaction,
            f"Referral link for **{route.name}**: {route.url}\n"
            f"It opens on {target.mention} and never expires. Give it to the agency (or print it on a leaflet): "
            "I count how many people join through it each month, never who. `/referral list` shows the counts.",
        )

    @app_commands.command(name="list", description="Show the referral links and how many joined through each")
    @app_commands.describe(retired="Also show retired links (their past counts stay)")
    @app_commands.guild_only()
    async def list_routes(self, interaction: discord.Interaction, retired: bool = False) -> None:
        """Read the counts now, then list the routes with this month's and all-time joins."""
        gid = await coordinator_guild(self.bot, interaction)
        await read_counts_now(self.bot, gid)
        await reply(interaction, _listing_text(await self.bot.services.referral.listing(gid, include_retired=retired)))

    @app_commands.command(name="retire", description="Retire a referral link: it stops working, its counts stay")
    @app_commands.describe(name="The link's name")
    @app_commands.guild_only()
    async def retire(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, ROUTE_NAME_MAX]) -> None:
        """Retire the route; delivery takes a last count and deletes its invite."""
        gid = await coordinator_guild(self.bot, interaction)
        route = await self.bot.services.referral.retire(gid, name)
        self.bot.delivery.kick()
        await reply(
            interaction,
            f"Retired **{route.name}**: its link ({route.url}) will stop working in a moment. Its past counts stay "
            "in `/referral list retired:True` and in the office's figures.",
        )

    @retire.autocomplete("name")
    async def _route_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        gid = guild_id(interaction)
        try:
            require_coordinator(interaction, await self.bot.services.guild_config.get(gid))
        except app_commands.CheckFailure:
            return []
        wanted = current.casefold().strip()
        names = [route.name for route in await self.bot.services.referral.active_routes(gid)]
        return [app_commands.Choice(name=n, value=n) for n in names if wanted in n.casefold()][:25]

    @app_commands.command(name="welcome-channel", description="Choose where referral links open and the note is pinned")
    @app_commands.describe(channel="The channel newcomers land in, e.g. #welcome")
    @app_commands.guild_only()
    async def welcome_channel(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
    ) -> None:
        """Store the welcome channel; the note moves there."""
        gid = await coordinator_guild(self.bot, interaction)
        await self.bot.services.referral.set_welcome_channel(gid, channel.id)
        self.bot.delivery.kick()
        await reply(
            interaction,
            f"New referral links will open on {channel.mention}, and the “New here?” note is pinned there. Links "
            "made before keep opening where they did.",
        )

    @app_commands.command(name="welcome-text", description="Edit the pinned “New here?” note for newcomers")
    @app_commands.describe(reset="Go back to the standard note")
    @app_commands.guild_only()
    async def welcome_text(self, interaction: discord.Interaction, reset: bool = False) -> None:
        """Open the note in a form (or put the standard note back)."""
        gid = await coordinator_guild(self.bot, interaction)
        service = self.bot.services.referral
        if reset:
            await service.set_welcome_text(gid, None)
            self.bot.delivery.kick()
            await reply(interaction, "The “New here?” note is back to the standard text.")
            return
        await interaction.response.send_modal(WelcomeTextModal(self.bot, await service.welcome_text(gid)))


class WelcomeTextModal(BotModal, title="The “New here?” note"):
    """Edit the note pinned in the welcome channel."""

    text: discord.ui.TextInput[WelcomeTextModal] = discord.ui.TextInput(
        label="What a newcomer should know",
        style=discord.TextStyle.paragraph,
        max_length=WELCOME_TEXT_MAX,
    )

    def __init__(self, bot: SmartBot, current: str) -> None:
        super().__init__()
        self.bot = bot
        self.text.default = current

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the text and have the pinned note edited (or posted)."""
        gid = await coordinator_guild(self.bot, interaction)
        await self.bot.services.referral.set_welcome_text(gid, self.text.value)
        self.bot.delivery.kick()
        await reply(interaction, "Saved: the pinned “New here?” note will show it in a moment.")


def _listing_text(listing: Listing) -> str:
    """Return `/referral list`'s answer: each route with its link and counts, and any problem counting."""
    lines = []
    if listing.count_problem:
        lines += [f"⚠️ {listing.count_problem}", ""]
    if not listing.routes:
        lines.append("No referral links yet. Make one per agency with `/referral create name:...`.")
    else:
        lines.append("**Referral links** (people who joined through each: this month / since it was made)")
        for summary in listing.routes:
            route = summary.route
            status = ""
            if not route.active:
                status = " (retired)"
            elif route.invite_missing:
                status = " ⚠️ its invite was deleted in Discord: retire it and make a new one"
            lines.append(
                f"• **{route.name}**{status}: {route.url} → {mention_channel(route.channel_id)}: "
                f"{summary.this_month} / {summary.total}"
            )
        if listing.last_read is not None:
            lines.append(f"Counted {timestamp(listing.last_read, 'R')}; I count again every hour.")
    if listing.welcome_channel_id is not None:
        lines.append(f"New links open on {mention_channel(listing.welcome_channel_id)}.")
    lines.append("Only numbers are kept, never who joined. Counts are exact here; the office's figures are rounded.")
    return "\n".join(lines)
