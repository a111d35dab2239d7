"""Scheduled meetings: commands, the facilitator panel, and delivery of what meetings post."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.meetings._commands import Meetings
from cogs.meetings._panel import PanelButton

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cogs and register the persistent panel buttons."""
    bot.add_dynamic_items(PanelButton)
    await bot.add_cog(Meetings(bot))
