"""The facilitator rota: commands, confirmation and cover buttons, milestone thanks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.rota._buttons import RotaButton
from cogs.rota._commands import Rota, RotaEvents

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cogs and register the persistent rota buttons."""
    bot.add_dynamic_items(RotaButton)
    await bot.add_cog(Rota(bot))
    await bot.add_cog(RotaEvents(bot))
