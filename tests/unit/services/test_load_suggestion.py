"""The load suggestion: coordinators hear kindly when one facilitator runs more than their share, not otherwise."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from bot.db.models import MeetingOccurrence, Outbox
from bot.db.models_care import LoadSuggestion
from bot.db.models_rota import RotaMember
from bot.domain.care import LoadFacts, is_overloaded
from bot.domain.states import OccurrenceState
from bot.services.care.load import LoadService
from bot.services.guild_config import GuildConfigService
from tests.fixtures.db import FakeClock

GUILD = 1 << 22
COORDINATORS = 30
ANNA, BEN, CAL = 501, 502, 503


async def configured(database, clock: FakeClock) -> LoadService:
    await GuildConfigService(database, clock).update(
        GUILD, timezone="Europe/London", coordinators_channel_id=COORDINATORS
    )
    return LoadService(database, clock)


async def held(database, clock: FakeClock, runners: list[int | None], *, days_apart: int = 7) -> None:
    """Record completed meetings run by `runners`, the last one just now and each earlier one `days_apart` before."""
    now = clock.now()
    async with database.session() as session:
        for back, runner in enumerate(reversed(runners)):
            starts = now - timedelta(days=days_apart * back, hours=1)
            session.add(
                MeetingOccurrence(
                    guild_id=GUILD,
                    local_start=starts.isoformat()[:19],
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=60),
                    state=OccurrenceState.COMPLETED,
                    title="Tuesday SMART",
                    template_slug="standard",
                    location_kind="voice",
                    channel_id=40,
                    facilitator_id=runner,
                    created_at=starts,
                )
            )


async def suggestions(database) -> list[str]:
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.kind == "message"))).all()
    return [json.loads(row.payload)["content"] for row in rows if json.loads(row.payload)["channel_id"] == COORDINATORS]


async def test_an_overloaded_facilitator_gets_a_kind_suggestion_once_in_four_weeks(database, clock: FakeClock) -> None:
    load = await configured(database, clock)
    await held(database, clock, [ANNA, BEN, ANNA, ANNA, CAL, ANNA])  # four of six in eight weeks: more than half
    assert await load.check(GUILD, ANNA) is True
    [text] = await suggestions(database)
    assert f"<@{ANNA}>" in text and "`/rota generate`" in text
    assert not any(char.isdigit() for char in text.replace(str(ANNA), ""))  # no figures about them
    # Not again within four weeks, even as they carry on; again once four weeks have passed.
    clock.advance(days=7)
    await held(database, clock, [ANNA])
    assert await load.check(GUILD, ANNA) is False
    clock.advance(days=21)
    await held(database, clock, [ANNA])
    assert await load.check(GUILD, ANNA) is True
    assert len(await suggestions(database)) == 2


async def test_a_balanced_rota_gets_no_suggestion(database, clock: FakeClock) -> None:
    load = await configured(database, clock)
    await held(database, clock, [ANNA, BEN, ANNA, BEN, CAL, ANNA, BEN, CAL])
    for facilitator in (ANNA, BEN, CAL):
        assert await load.check(GUILD, facilitator) is False
    assert await suggestions(database) == []
    async with database.session() as session:
        assert (await session.scalars(select(LoadSuggestion))).all() == []


async def test_too_few_meetings_are_no_evidence_of_overload(database, clock: FakeClock) -> None:
    load = await configured(database, clock)
    await held(database, clock, [ANNA, ANNA, ANNA])  # a new group: three meetings, all hers
    assert await load.check(GUILD, ANNA) is False
    # Meetings older than eight weeks do not count towards the share.
    await held(database, clock, [ANNA, ANNA, ANNA, ANNA, BEN], days_apart=20)
    assert await load.check(GUILD, BEN) is False


async def test_more_than_their_monthly_maximum_is_too_much_even_in_a_balanced_rota(database, clock: FakeClock) -> None:
    load = await configured(database, clock)
    clock.set(clock.now().replace(day=28, hour=21))
    async with database.session() as session:
        session.add(
            RotaMember(
                guild_id=GUILD,
                user_id=BEN,
                roles="lead",
                trained_since=date(2024, 1, 1),
                max_per_month=1,
                joined_at=clock.now(),
            )
        )
    await held(database, clock, [ANNA, BEN, ANNA, BEN], days_apart=3)  # two this month, one more than he asked for
    assert await load.check(GUILD, ANNA) is False
    assert await load.check(GUILD, BEN) is True


def test_the_rule_itself() -> None:
    assert is_overloaded(1, LoadFacts((1, 1, 1, 2), 0, None))
    assert not is_overloaded(1, LoadFacts((1, 1, 2, 2), 0, None))
    assert not is_overloaded(1, LoadFacts((1, 1, 1), 0, None))
    assert is_overloaded(1, LoadFacts((), 3, 2))
    assert not is_overloaded(1, LoadFacts((), 2, 2))
