"""SMART tools: look-up, paging, sharing in meetings, and private worksheets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.tools._commands import PageButton, Tools
from cogs.tools._worksheet import WorkButton

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cog and register its persistent buttons."""
    bot.add_dynamic_items(PageButton, WorkButton)
    await bot.add_cog(Tools(bot))
