"""`/setup`: a coordinator sets the group up (guided by `/setup start`, checked by `/setup check`); the welcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.setup._commands import Setup
from cogs.setup._welcome import Welcome

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the setup commands and the welcome listener."""
    await bot.add_cog(Setup(bot))
    await bot.add_cog(Welcome(bot))
