"""Alerts: one winner of "I'm on it", escalation at the group's wait, and ids forgotten after a day."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import FacilitatorAlert, Outbox
from bot.errors import InvalidInputError
from bot.services.alerts import AlertService
from bot.services.guild_config import GuildConfigService
from tests.fixtures.db import FakeClock

GUILD = 1 << 22
MEMBER = 555_000_111
FACILITATOR_ROLE = 777


async def configured(database, clock: FakeClock) -> AlertService:
    await GuildConfigService(database, clock).update(
        GUILD, timezone="Europe/London", facilitators_channel_id=10, facilitator_role_id=FACILITATOR_ROLE
    )
    return AlertService(database, clock)


async def outbox(database, kind: str) -> list[dict[str, object]]:
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.kind == kind))).all()
    return [json.loads(row.payload) for row in rows]


async def test_two_services_taking_the_same_alert_have_exactly_one_winner(database, clock: FakeClock) -> None:
    first = await configured(database, clock)
    second = AlertService(database, clock)  # another process reading the same row
    raised = await first.raise_alert(GUILD, MEMBER, 20)
    outcomes = await asyncio.gather(first.take(GUILD, raised.id, 1), second.take(GUILD, raised.id, 2))
    assert sorted(outcome.won for outcome in outcomes) == [False, True]
    winner = next(outcome for outcome in outcomes if outcome.won)
    loser = next(outcome for outcome in outcomes if not outcome.won)
    assert loser.taken_by == winner.taken_by
    # The member is told once, and only the winner's edit of the posts is queued.
    assert [payload["user_id"] for payload in await outbox(database, "dm")] == [MEMBER]
    assert len(await outbox(database, "alert_taken")) == 1


async def test_an_alert_escalates_at_the_groups_wait_and_only_once(database, clock: FakeClock) -> None:
    alerts = await configured(database, clock)
    await alerts.set_escalation_minutes(GUILD, 3)
    raised_at = clock.now()
    raised = await alerts.raise_alert(GUILD, MEMBER, 20)
    assert await alerts.next_due() == clock.now() + timedelta(minutes=3)
    clock.advance(minutes=2, seconds=59)
    assert await alerts.tick() == 0
    clock.advance(seconds=1)
    assert await alerts.tick() == 1
    assert await alerts.tick() == 0
    assert await outbox(database, "alert_escalate") == [{"alert_id": raised.id, "minutes": 3}]
    # Next, only the member's id is due to be forgotten (they have not been told yet: nobody took it).
    assert await alerts.next_due() == raised_at + timedelta(days=1, seconds=1)


async def test_a_taken_alert_never_escalates(database, clock: FakeClock) -> None:
    alerts = await configured(database, clock)
    raised_at = clock.now()
    raised = await alerts.raise_alert(GUILD, MEMBER, 20)
    await alerts.take(GUILD, raised.id, 1)
    clock.advance(minutes=30)
    assert await alerts.next_due() == raised_at + timedelta(days=1, seconds=1)  # forgetting who took it
    assert await alerts.tick() == 0
    clock.set(raised_at + timedelta(days=1, seconds=1))
    await alerts.tick()
    assert await alerts.next_due() is None


async def test_with_nobody_to_mention_coordinators_are_called_at_once(database, clock: FakeClock) -> None:
    await GuildConfigService(database, clock).update(GUILD, timezone="Europe/London", facilitators_channel_id=10)
    alerts = AlertService(database, clock)
    raised = await alerts.raise_alert(GUILD, MEMBER, 20)
    assert raised.facilitator_ids == () and raised.facilitator_role_id is None
    assert raised.escalate_at == clock.now()
    assert await alerts.tick() == 1


async def test_member_and_taker_ids_are_forgotten_after_a_day(database, clock: FakeClock) -> None:
    alerts = await configured(database, clock)
    untaken = await alerts.raise_alert(GUILD, MEMBER, 20)
    taken = await alerts.raise_alert(GUILD, MEMBER + 1, 20)
    await alerts.take(GUILD, taken.id, 99)
    clock.advance(hours=23)
    await alerts.tick()
    row = await alerts.get(untaken.id)
    assert row is not None and row.member_id == MEMBER  # still needed to tell them
    clock.advance(hours=1, seconds=1)
    await alerts.tick()
    async with database.session() as session:
        rows = (await session.scalars(select(FacilitatorAlert))).all()
    assert len(rows) == 2  # that alerts happened is kept
    assert all(row.member_id is None and row.taken_by is None for row in rows)


@pytest.mark.parametrize("minutes", [0, 61, -5])
async def test_a_wait_outside_one_to_sixty_minutes_is_refused_and_nothing_changes(
    database, clock: FakeClock, minutes: int
) -> None:
    alerts = await configured(database, clock)
    with pytest.raises(InvalidInputError, match="1 to 60 minutes"):
        await alerts.set_escalation_minutes(GUILD, minutes)
    raised = await alerts.raise_alert(GUILD, MEMBER, 20)
    assert raised.escalate_at == clock.now() + timedelta(minutes=5)
