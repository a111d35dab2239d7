"""Answer any interaction error: a specific message for bad input, an apology with an error id otherwise."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import discord
from discord import app_commands

from bot.domain.text import MESSAGE_LIMIT
from bot.errors import UserFacingError
from cogs._replies import defer_when_slow, follow_up

log = logging.getLogger(__name__)


def _permission_names(names: list[str]) -> str:
    return ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in names)


def user_message(error: BaseException) -> str | None:
    """Return what to tell the user for an expected error, or None when it is unexpected."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, UserFacingError):
        return error.message
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        return (
            f"I need the {_permission_names(error.missing_permissions)} permission here to do that. "
            "Please ask a server admin to grant it."
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works inside a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Please wait {error.retry_after:.0f} seconds before using this again."
    if isinstance(error, app_commands.TransformerError):
        return f"`{str(error.value)[:100]}` isn't a valid value for that option."
    if isinstance(error, app_commands.CheckFailure) and str(error):
        # Our own checks raise CheckFailure with a message naming the role that is needed.
        return str(error)
    return None


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user what went wrong, ephemerally; log unexpected errors under an id they can quote."""
    message = user_message(error)
    if message is None:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else f"component {interaction.type.name}"
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.error(
            "Unexpected error %s in %s (guild %s).",
            error_id,
            command,
            interaction.guild_id,
            exc_info=original,
            extra={"error_id": error_id},
        )
        message = (
            "Sorry, something went wrong on my side. "
            f"If it keeps happening, tell a coordinator the error id `{error_id}`."
        )
    if len(message) > MESSAGE_LIMIT:
        # A refusal that echoes what was typed can outgrow one message; unsent, the user would hear nothing at all.
        message = message[: MESSAGE_LIMIT - 1] + "…"
    try:
        if interaction.response.is_done():
            await follow_up(interaction, message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not deliver an error message for interaction %s.", interaction.id, exc_info=True)


class BotView(discord.ui.View):
    """A view whose buttons answer in time however slow their work, and whose errors are answered like commands'."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Have a slow click deferred before Discord's deadline (an override calls this first)."""
        defer_when_slow(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        """Report the error to the user and the log."""
        await report_error(interaction, error)


class BotModal(discord.ui.Modal):
    """A form whose submission is answered in time (privately), and whose errors are answered like commands'."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Have a slow submission deferred before Discord's deadline (an override calls this first)."""
        defer_when_slow(interaction, ephemeral=True)
        return True

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        """Report the error to the user and the log."""
        await report_error(interaction, error)
