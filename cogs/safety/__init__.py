"""Safety: `/crisis` and `/alert-facilitator`, and the "I'm on it" button that makes an alert reach a person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.safety._buttons import AlertTakeButton
from cogs.safety._commands import Safety

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cog and register the persistent alert button."""
    bot.add_dynamic_items(AlertTakeButton)
    await bot.add_cog(Safety(bot))
