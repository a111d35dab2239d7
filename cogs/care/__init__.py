"""Volunteer care: the debrief buttons in facilitators' DMs, and `/milestones`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.care._buttons import DebriefButton
from cogs.care._commands import Care

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cog and register the persistent debrief buttons."""
    bot.add_dynamic_items(DebriefButton)
    await bot.add_cog(Care(bot))
