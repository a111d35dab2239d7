"""`/referral poster` and `/referral listing on|off`: thin handlers over the poster and public listing services.

A mixin for the `/referral` group cog: its commands join that group (discord.py collects a GroupCog's commands
from every class it is built from).
"""

from __future__ import annotations

import io
import logging
from typing import Literal, TYPE_CHECKING

import discord
from discord import app_commands

from bot.errors import InvalidInputError
from bot.services.referral.listing import ListingService
from bot.services.referral.routes import active_routes, route_by_name
from cogs.shared import coordinator_guild, defer_when_slow, follow_up, require_coordinator

if TYPE_CHECKING:
    from discord.ext.commands import GroupCog as _CommandsBase

    from bot.client import SmartBot
else:
    # A plain mixin at run time (`Referral` brings the GroupCog); typed as one so its commands type-check.
    _CommandsBase = object

log = logging.getLogger(__name__)

ROUTE_CHOICES_LIMIT = 25


async def route_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Offer the group's active referral routes by name, to coordinators only."""
    bot: SmartBot = interaction.client  # type: ignore[assignment]
    if interaction.guild_id is None:
        return []
    try:
        require_coordinator(interaction, await bot.services.guild_config.get(interaction.guild_id))
    except app_commands.CheckFailure:
        return []
    typed = current.strip().lower()
    routes = await active_routes(bot.database, interaction.guild_id)
    return [app_commands.Choice(name=route.name, value=route.name) for route in routes if typed in route.name.lower()][
        :ROUTE_CHOICES_LIMIT
    ]


class PublicityCommands(_CommandsBase):
    """Posters, leaflets and the opt-in public listing (coordinators)."""

    bot: SmartBot

    listing = app_commands.Group(
        name="listing", description="The group's public meeting listing (feed, calendar and page)", guild_only=True
    )

    @app_commands.command(name="poster", description="A printable poster or leaflet of the group's meetings")
    @app_commands.describe(
        route="The referral route whose link goes in the QR code (default: the public listing's join link)",
        size="A4 poster or A5 leaflet",
    )
    @app_commands.autocomplete(route=route_names)
    @app_commands.guild_only()
    async def poster(
        self,
        interaction: discord.Interaction,
        route: app_commands.Range[str, 1, 80] | None = None,
        size: Literal["a4", "a5"] = "a4",
    ) -> None:
        """Send the coordinator a PDF poster only they can see."""
        gid = await coordinator_guild(self.bot, interaction)
        defer_when_slow(interaction)
        name = interaction.guild.name if interaction.guild is not None else None
        listing = await ListingService(self.bot.database, self.bot.clock).get(gid)
        # Imported here: the PDF stack (fpdf2, Pillow, fontTools) costs the bot about 33 MB from start-up for
        # a command used a few times a year.
        from bot.services.referral.poster import make_poster

        made = await make_poster(
            self.bot.database,
            self.bot.clock,
            gid,
            group_name=listing.public_name if listing is not None else name,
            route=route,
            size=size,
            office_contact=self.bot.settings.office_contact,
        )
        qr = (
            f"The QR code opens {made.link}."
            if made.link
            else ("It has no QR code: pick a `route`, or turn on `/referral listing` with a join link.")
        )
        text = f"Here is your {'poster' if size == 'a4' else 'leaflet'}, ready to print. {qr}"
        file = discord.File(io.BytesIO(made.data), filename=made.filename)
        if interaction.response.is_done():
            await follow_up(interaction, text, file=file, ephemeral=True)
        else:
            await interaction.response.send_message(text, file=file, ephemeral=True)

    @listing.command(name="on", description="List the group's meetings publicly, with the join link you choose")
    @app_commands.describe(
        route="A referral route whose invite is the join link",
        join_link="Or a Discord invite link (https://discord.gg/...)",
        description="A few public sentences about the group (plain text)",
        name="The public group name (default: the server's name)",
    )
    @app_commands.autocomplete(route=route_names)
    async def listing_on(
        self,
        interaction: discord.Interaction,
        route: app_commands.Range[str, 1, 80] | None = None,
        join_link: app_commands.Range[str, 1, 200] | None = None,
        description: app_commands.Range[str, 1, 1000] | None = None,
        name: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """Turn the listing on; what is left out keeps its earlier choice."""
        gid = await coordinator_guild(self.bot, interaction)
        if route is not None and join_link is not None:
            raise InvalidInputError("Give a referral route or a join link, not both: the listing has one join link.")
        service = ListingService(self.bot.database, self.bot.clock)
        url = (await route_by_name(self.bot.database, gid, route)).url if route is not None else join_link
        before = await service.get(gid)
        public_name = name or (before.public_name if before is not None else None)
        if public_name is None:
            public_name = interaction.guild.name if interaction.guild is not None else "SMART Recovery group"
        view = await service.list_group(gid, public_name=public_name, description=description, join_url=url)
        await interaction.response.send_message(
            f"The group is listed publicly as **{discord.utils.escape_markdown(view.public_name)}** "
            f"(address name `{view.slug}`), joining through {view.join_url}. Only that, the description and the "
            "meeting times are published; `/referral listing off` takes it down.",
            ephemeral=True,
        )

    @listing.command(name="off", description="Take the group out of the public listing")
    async def listing_off(self, interaction: discord.Interaction) -> None:
        """Turn the listing off (the choices are kept for next time)."""
        gid = await coordinator_guild(self.bot, interaction)
        await ListingService(self.bot.database, self.bot.clock).unlist_group(gid)
        await interaction.response.send_message(
            "The group is no longer in the public listing: the next feed and pages leave it out.", ephemeral=True
        )
