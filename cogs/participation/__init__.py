"""Anonymous participation: counting, check-in and feedback buttons, `/privacy`, and the central office's `/office`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.participation._buttons import CheckInButton, FeedbackButton, FeedbackForms
from cogs.participation._commands import ParticipationSettingsCog, Privacy
from cogs.participation._counting import Counting
from cogs.participation._office import Office

if TYPE_CHECKING:
    from bot.client import SmartBot


async def setup(bot: SmartBot) -> None:
    """Load the cogs and register the persistent meeting buttons."""
    bot.add_dynamic_items(CheckInButton, FeedbackButton)
    await bot.add_cog(Counting(bot))
    await bot.add_cog(FeedbackForms(bot))
    await bot.add_cog(Privacy(bot))
    await bot.add_cog(ParticipationSettingsCog(bot))
    await bot.add_cog(Office(bot))
