"""Volunteer care's services on each backend: a milestone recorded once, one answer per debrief, ids forgotten."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select

from bot.db.models import GuildConfig, MeetingOccurrence, Outbox
from bot.db.models_care import FacilitatorDebrief, GroupMilestone
from bot.domain.care import DEBRIEF_KEPT
from bot.domain.disclosure import DisclosurePolicy
from bot.domain.states import OccurrenceState
from bot.errors import InvalidInputError
from bot.services.care.debrief import DebriefService, ask_facilitator
from bot.services.care.milestones import record_milestone
from bot.services.guild_config import GuildConfigService
from tests.fixtures.db import FakeClock

GUILD = 1 << 22
FACILITATOR = 4242
MEETINGS, COORDINATORS = 20, 30


async def configure(database, clock: FakeClock) -> None:
    await GuildConfigService(database, clock).update(
        GUILD, timezone="Europe/London", meetings_channel_id=MEETINGS, coordinators_channel_id=COORDINATORS
    )


async def posts(database, channel_id: int) -> list[str]:
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.kind == "message"))).all()
    return [json.loads(r.payload)["content"] for r in rows if json.loads(r.payload).get("channel_id") == channel_id]


async def test_a_milestone_recorded_by_two_at_once_is_celebrated_once(database, clock: FakeClock) -> None:
    await configure(database, clock)

    async def record() -> bool:
        async with database.session() as session:
            config = await session.get(GuildConfig, GUILD)
            return await record_milestone(session, config, GUILD, "held:10", clock.now(), clock.now())

    results = [await record(), await record()] if database.is_sqlite else await asyncio.gather(record(), record())
    assert sorted(results) == [False, True]
    assert len(await posts(database, MEETINGS)) == 1
    async with database.session() as session:
        assert len((await session.scalars(select(GroupMilestone))).all()) == 1


async def asked(database, clock: FakeClock) -> int:
    async with database.session() as session:
        row = MeetingOccurrence(
            guild_id=GUILD,
            local_start="2026-12-01T19:00:00",
            starts_at=clock.now(),
            ends_at=clock.now() + timedelta(hours=1),
            state=OccurrenceState.COMPLETED,
            title="Tuesday SMART",
            template_slug="standard",
            location_kind="voice",
            channel_id=40,
            facilitator_id=FACILITATOR,
            created_at=clock.now(),
        )
        session.add(row)
        await session.flush()
        debrief = await ask_facilitator(session, row, await session.get(GuildConfig, GUILD), clock.now())
    assert debrief is not None
    return debrief


async def test_one_answer_per_debrief_and_talk_reaches_the_coordinators(database, clock: FakeClock) -> None:
    await configure(database, clock)
    service = DebriefService(database, clock)
    debrief = await asked(database, clock)
    try:
        await service.answer(debrief, FACILITATOR + 1, "tough")
        raise AssertionError("someone else answered")
    except InvalidInputError:
        pass
    outcome = await service.answer(debrief, FACILITATOR, "talk")
    assert "in touch" in outcome.reply
    [note] = await posts(database, COORDINATORS)
    assert f"<@{FACILITATOR}>" in note
    try:
        await service.answer(debrief, FACILITATOR, "fine")
        raise AssertionError("answered twice")
    except InvalidInputError as exc:
        assert "already answered" in str(exc)


async def test_an_unanswered_debrief_forgets_the_facilitator_and_counts_stay(database, clock: FakeClock) -> None:
    await configure(database, clock)
    service = DebriefService(database, clock)
    first, second = await asked(database, clock), await asked(database, clock)
    await service.answer(first, FACILITATOR, "tough")
    assert await service.next_due() == clock.now() + DEBRIEF_KEPT
    clock.advance(days=3)
    assert await service.tick() == 1
    assert await service.next_due() is None
    async with database.session() as session:
        rows = (await session.scalars(select(FacilitatorDebrief).order_by(FacilitatorDebrief.id))).all()
    assert [(r.id, r.answer, r.facilitator_id) for r in rows] == [(first, "tough", None), (second, None, None)]
    figures = await service.figures("2026-11", "2026-12", DisclosurePolicy(exact=True))
    assert [(r.asked, r.answered, r.tough) for r in figures.rows] == [(2, 1, 1)]
