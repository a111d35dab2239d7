"""The one place the bot touches a private detail of discord.py: the slot that caches `Interaction.response`.

discord.py makes `Interaction.response` on first read and keeps it in the private slot `_cs_response` (a
`discord.utils.cached_slot_property`). The auto-defer (`cogs/_replies.py`) fills that slot with its own response
before any handler reads it, so every handler's `interaction.response` is the one that can defer itself. discord.py
offers no public way to do this. If an upgrade renames the slot or stops caching the property,
`tests/unit/test_discord_private.py` fails naming this file: adapt the two functions below, nothing else.
"""

from __future__ import annotations

from typing import Any

import discord

# The slot behind `discord.Interaction.response` (discord.py 2.x).
RESPONSE_SLOT = "_cs_response"


def has_response(interaction: discord.Interaction[Any]) -> bool:
    """Tell whether the interaction's response object exists yet (made by discord.py on first read, or installed)."""
    return getattr(interaction, RESPONSE_SLOT, None) is not None


def install_response(interaction: discord.Interaction[Any], response: discord.InteractionResponse[Any]) -> None:
    """Make `response` what every later read of `interaction.response` returns."""
    setattr(interaction, RESPONSE_SLOT, response)
