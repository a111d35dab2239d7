"""Reply helpers shared by the cogs: ephemeral by default, long text split across messages."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.utils import MISSING

from bot.domain.text import MESSAGE_LIMIT, split_text


async def reply(
    interaction: discord.Interaction,
    text: str = "",
    *,
    ephemeral: bool = True,
    embed: discord.Embed = MISSING,
    view: discord.ui.View = MISSING,
) -> None:
    """Answer the interaction; text longer than one message continues in follow-ups, never truncated.

    The embed and view go with the last piece so buttons sit under the end of the text.
    """
    pieces = split_text(text, MESSAGE_LIMIT) if text else [""]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        content = piece or MISSING
        piece_embed = embed if last else MISSING
        piece_view = view if last else MISSING
        if index == 0 and not interaction.response.is_done():
            await interaction.response.send_message(
                content or None, embed=piece_embed, view=piece_view, ephemeral=ephemeral
            )
        else:
            await interaction.followup.send(content, embed=piece_embed, view=piece_view, ephemeral=ephemeral)


def guild_id(interaction: discord.Interaction) -> int:
    """Return the guild the interaction came from; commands marked guild_only never get here without one."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild_id
