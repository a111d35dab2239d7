"""Buttons as the outbox stores them, turned into discord.py views."""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.services.outbox_payloads import Button

BUTTON_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


def build_view(buttons: Iterable[Button]) -> discord.ui.View:
    """Turn plain button specs into a view; clicks are handled by the cogs' dynamic items."""
    view = discord.ui.View(timeout=None)
    for spec in buttons:
        view.add_item(
            discord.ui.Button(
                label=spec.label,
                custom_id=spec.custom_id,
                style=BUTTON_STYLES.get(spec.style, discord.ButtonStyle.secondary),
            )
        )
    return view


def view_or_missing(buttons: Iterable[Button]) -> discord.ui.View:
    """Return a view of the buttons for a new message, or discord.py's "no view" when there are none."""
    buttons = tuple(buttons)
    return build_view(buttons) if buttons else discord.utils.MISSING
