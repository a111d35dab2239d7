"""Autocomplete for options that take a meeting, a series or a duty: pick by title and local time, never by id.

Discord asks for choices on behalf of anyone who can see a command, so each callback checks the caller's rights the
way its command does and offers nothing to someone who could not act on what it would list. Only the caller's own
group's rows are ever read. A choice's value is still the id (or, for `/rota swap`, the date), so an id pasted from
an older message keeps working, and so do the commands' own messages for a bad one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.domain.picking import Pick
from bot.services.meetings.picking import series_picks, upcoming_meeting_picks
from bot.services.rota.picking import own_duty_picks
from cogs.shared import require_coordinator, require_facilitator

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

# Discord drops an autocomplete answer that comes 3 s after the typing; past this budget (which leaves room for
# the gateway's delay and the answer's own round trip) nothing is offered rather than something too late.
AUTOCOMPLETE_BUDGET = 2.0

PickList = Callable[["SmartBot", int, discord.Interaction, str], Awaitable[list[Pick]]]
Rights = Callable[["SmartBot", discord.Interaction, int], Awaitable[bool]]


async def _staff(bot: SmartBot, interaction: discord.Interaction, guild_id: int) -> bool:
    """Return whether the caller may run the facilitators' commands (as `staff_guild` decides)."""
    try:
        require_facilitator(interaction, await bot.services.guild_config.get(guild_id))
    except app_commands.CheckFailure:
        return False
    return True


async def _coordinator(bot: SmartBot, interaction: discord.Interaction, guild_id: int) -> bool:
    """Return whether the caller may run the coordinators' commands (as `coordinator_guild` decides)."""
    try:
        require_coordinator(interaction, await bot.services.guild_config.get(guild_id))
    except app_commands.CheckFailure:
        return False
    return True


async def _anyone(_bot: SmartBot, _interaction: discord.Interaction, _guild_id: int) -> bool:
    """Let every member of the group ask (the pick list itself is limited to what is theirs)."""
    return True


async def _offer(interaction: discord.Interaction, current: object, rights: Rights, pick_list: PickList) -> list[Pick]:
    """Return the picks for what the caller typed, if they may act on them, in time; on any failure, none."""
    guild_id = interaction.guild_id
    if guild_id is None:
        return []
    bot: SmartBot = interaction.client  # type: ignore[assignment]
    # While typing, Discord sends the raw text, even for an integer option.
    typed = "" if current is None else str(current)
    try:
        async with asyncio.timeout(AUTOCOMPLETE_BUDGET):
            if not await rights(bot, interaction, guild_id):
                return []
            return await pick_list(bot, guild_id, interaction, typed)
    except TimeoutError:
        log.warning("Autocomplete %s took too long in guild %s; offered nothing.", pick_list.__name__, guild_id)
    except Exception:
        # A raised error would only show "Loading options failed" (and discord.py would log the caller's id).
        log.exception("Autocomplete %s failed in guild %s; offered nothing.", pick_list.__name__, guild_id)
    return []


def _id_choices(picks: list[Pick]) -> list[app_commands.Choice[int]]:
    return [app_commands.Choice(name=pick.name, value=int(pick.value)) for pick in picks]


def _text_choices(picks: list[Pick]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=pick.name, value=str(pick.value)) for pick in picks]


async def _upcoming(bot: SmartBot, guild_id: int, _interaction: discord.Interaction, typed: str) -> list[Pick]:
    return await upcoming_meeting_picks(bot.database, bot.clock, guild_id, typed)


async def _series(bot: SmartBot, guild_id: int, _interaction: discord.Interaction, typed: str) -> list[Pick]:
    return await series_picks(bot.database, bot.clock, guild_id, typed)


async def _skippable(bot: SmartBot, guild_id: int, _interaction: discord.Interaction, typed: str) -> list[Pick]:
    return await series_picks(bot.database, bot.clock, guild_id, typed, with_next_meeting=True)


async def _own_duties(bot: SmartBot, guild_id: int, interaction: discord.Interaction, typed: str) -> list[Pick]:
    return await own_duty_picks(bot.database, bot.clock, guild_id, interaction.user.id, typed)


async def meetings_to_cancel(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Offer facilitators the group's meetings yet to start (`/meeting cancel`)."""
    return _id_choices(await _offer(interaction, current, _staff, _upcoming))


async def series_to_edit(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Offer facilitators the group's active series (`/meeting edit`)."""
    return _id_choices(await _offer(interaction, current, _staff, _series))


async def series_to_skip(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Offer facilitators the group's series that have a meeting ahead (`/meeting skip`)."""
    return _id_choices(await _offer(interaction, current, _staff, _skippable))


async def meetings_to_staff(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Offer coordinators the group's meetings yet to start (`/rota pin`)."""
    return _id_choices(await _offer(interaction, current, _coordinator, _upcoming))


async def own_duty_dates(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Offer the caller their own duties ahead, as the dates `/rota swap` takes."""
    return _text_choices(await _offer(interaction, current, _anyone, _own_duties))
