"""What volunteer care does when a meeting completes, in the transaction that completes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import GuildConfig, MeetingOccurrence
from bot.services.care.debrief import ask_facilitator
from bot.services.care.load import suggest_if_overloaded
from bot.services.care.milestones import on_meeting_completed


async def after_meeting(
    session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime
) -> None:
    """Celebrate a milestone it reached, ask its facilitator how it went, and check their load."""
    await on_meeting_completed(session, row, config, now)
    await ask_facilitator(session, row, config, now)
    if row.facilitator_id is not None:
        await suggest_if_overloaded(session, row.guild_id, row.facilitator_id, config, now)
