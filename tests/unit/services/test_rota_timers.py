"""When the rota's weekly post falls due: `next_due` must agree with what `tick` then does."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.db.models import Outbox
from bot.services.guild_config import GuildConfigService
from bot.services.rota.service import RotaService
from bot.services.rota.timers import RotaTimers
from tests.fixtures.db import FakeClock

GUILD = 1 << 22
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # past 09:00, when a week's rota is posted
NEXT_MONDAY_POST = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 09:00 in London, GMT in December


async def posts(database) -> int:
    async with database.session() as session:
        return len((await session.scalars(select(Outbox.id).where(Outbox.kind == "message"))).all())


async def group(database, clock: FakeClock, *, facilitators_channel: int | None, active: bool) -> RotaTimers:
    """Set up a group with one facilitator on its rota, and return its rota timers."""
    clock.set(MONDAY_NOON)
    await GuildConfigService(database, clock).update(
        GUILD, timezone="Europe/London", facilitators_channel_id=facilitators_channel
    )
    rota = RotaService(database, clock)
    await rota.join(GUILD, 7, roles={"lead"}, trained_since=date(2025, 1, 1), max_per_month=None)
    if not active:
        await rota.leave(GUILD, 7)
    return RotaTimers(database, clock, rota)


@pytest.mark.parametrize(
    ("facilitators_channel", "active"),
    [(None, True), (102, False)],
    ids=["no-facilitators-channel", "only-inactive-members"],
)
async def test_a_group_the_weekly_post_skips_is_not_reported_due(
    database, clock: FakeClock, facilitators_channel: int | None, active: bool
) -> None:
    timers = await group(database, clock, facilitators_channel=facilitators_channel, active=active)
    await timers.tick()
    assert await posts(database) == 0
    # Reported due now, the delivery loop would be told at every look that something waits which never happens.
    assert await timers.next_due() is None


async def test_after_the_weekly_post_the_next_one_is_due_next_monday(database, clock: FakeClock) -> None:
    timers = await group(database, clock, facilitators_channel=102, active=True)
    assert await timers.next_due() == MONDAY_NOON
    await timers.tick()
    assert await posts(database) == 1
    assert await timers.next_due() == NEXT_MONDAY_POST
