"""The facilitators' network and the shared resources library (the office's own commands: `office_commands`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.network._commands import Network, ReplyButton, Resources

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cogs and register the persistent Reply button."""
    bot.add_dynamic_items(ReplyButton)
    await bot.add_cog(Network(bot))
    await bot.add_cog(Resources(bot))
