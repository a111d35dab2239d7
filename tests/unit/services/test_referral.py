"""Referral routes' service: names, the hourly claim, counting growth once per month, retiring, and the note."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Outbox
from bot.domain.referral import COUNT_INTERVAL, DEFAULT_WELCOME_TEXT
from bot.errors import InvalidInputError, NotConfiguredError, NotFoundError
from bot.services.guild_config import GuildConfigService
from bot.services.referral.counts import referral_counts
from bot.services.referral.routes import active_routes, route_by_name
from bot.services.referral.service import ReferralService

GUILD = 1
OTHER = 2
MEETINGS = 100
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
async def service(database, clock) -> ReferralService:
    clock.set(NOON)
    await GuildConfigService(database, clock).update(GUILD, timezone="Europe/London", meetings_channel_id=MEETINGS)
    return ReferralService(database, clock)


async def outbox(database) -> list[tuple[str, dict[str, object]]]:
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
    return [(row.kind, json.loads(row.payload)) for row in rows]


async def test_routes_open_on_the_meetings_channel_until_a_welcome_channel_is_chosen(service, database) -> None:
    assert await service.welcome_channel(GUILD) == MEETINGS
    with pytest.raises(NotConfiguredError):
        await service.welcome_channel(OTHER)
    await service.set_welcome_channel(GUILD, 555)
    assert await service.welcome_channel(GUILD) == 555


async def test_names_are_unique_among_active_routes_any_case(service, database) -> None:
    route = await service.add_route(GUILD, "  Anytown   Alcohol Service ", "abc", MEETINGS)
    assert route.name == "Anytown Alcohol Service" and route.url == "https://discord.gg/abc"
    with pytest.raises(InvalidInputError, match="already a route"):
        await service.check_new_route(GUILD, "anytown alcohol SERVICE")
    assert await service.check_new_route(OTHER, "Anytown Alcohol Service") == "Anytown Alcohol Service"
    assert [r.name for r in await active_routes(database, GUILD)] == ["Anytown Alcohol Service"]
    assert (await route_by_name(database, GUILD, "ANYTOWN alcohol service")).code == "abc"
    with pytest.raises(NotFoundError):
        await route_by_name(database, GUILD, "nobody")


async def test_the_hourly_read_is_claimed_once_and_counts_growth_by_month(service, database, clock) -> None:
    route = await service.add_route(GUILD, "GP", "gp", MEETINGS)
    assert await service.next_due() == NOON + COUNT_INTERVAL
    assert await service.claim_due_reads() == []  # not due yet
    clock.set(NOON + COUNT_INTERVAL)
    [read] = await service.claim_due_reads()
    assert read.guild_id == GUILD and read.channel_ids == [MEETINGS] and [r.code for r in read.routes] == ["gp"]
    assert await service.claim_due_reads() == []  # another process finds it claimed
    assert await service.next_due() == NOON + 2 * COUNT_INTERVAL
    assert await service.record_uses(GUILD, MEETINGS, {"gp": 3, "someone-elses": 40}) == 3
    assert await service.record_uses(GUILD, MEETINGS, {"gp": 3}) == 0  # the same count again adds nothing
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert await service.record_uses(GUILD, MEETINGS, {"gp": 5}) == 2
    rows = await referral_counts(database, date(2026, 11, 1), date(2026, 12, 31), exact=True)
    assert [(r.route, r.month, r.joins) for r in rows if r.scope == "group"] == [
        ("GP", "2026-11", 3),
        ("GP", "2026-12", 2),
    ]
    listing = await service.listing(GUILD)
    assert [(s.route.id, s.this_month, s.total) for s in listing.routes] == [(route.id, 2, 5)]


async def test_a_missing_invite_is_marked_and_a_problem_is_kept_until_a_read_works(service, database) -> None:
    await service.add_route(GUILD, "GP", "gp", MEETINGS)
    await service.record_problem(GUILD, "no permission")
    assert (await service.listing(GUILD)).count_problem == "no permission"
    await service.record_uses(GUILD, MEETINGS, {})
    listing = await service.listing(GUILD)
    assert listing.count_problem is None and listing.routes[0].route.invite_missing


async def test_retiring_queues_the_invite_deletion_and_frees_the_name(service, database) -> None:
    await service.add_route(GUILD, "GP", "gp", MEETINGS)
    retired = await service.retire(GUILD, "gp")
    assert retired.code == "gp"
    assert ("invite_delete", {"route_id": retired.id, "channel_id": MEETINGS, "code": "gp"}) in await outbox(database)
    with pytest.raises(NotFoundError):
        await service.retire(GUILD, "GP")
    assert await service.check_new_route(GUILD, "GP") == "GP"
    assert [s.route.name for s in (await service.listing(GUILD, include_retired=True)).routes] == ["GP"]
    assert (await service.listing(GUILD)).routes == []


async def test_the_note_is_posted_once_with_the_first_route_and_edited_after(service, database) -> None:
    await service.add_route(GUILD, "GP", "gp", MEETINGS)
    await service.add_route(GUILD, "Agency", "ag", MEETINGS)
    notes = [payload for kind, payload in await outbox(database) if kind == "welcome_note"]
    assert notes == [{"channel_id": MEETINGS, "content": DEFAULT_WELCOME_TEXT}]
    await service.set_welcome_text(GUILD, "  Welcome! Cameras optional.  ")
    assert await service.welcome_text(GUILD) == "Welcome! Cameras optional."
    with pytest.raises(InvalidInputError):
        await service.set_welcome_text(GUILD, "   ")
    with pytest.raises(InvalidInputError):
        await service.set_welcome_text(GUILD, "x" * 1801)
    assert await service.set_welcome_text(GUILD, None) == DEFAULT_WELCOME_TEXT
    notes = [payload["content"] for kind, payload in await outbox(database) if kind == "welcome_note"]
    assert notes == [DEFAULT_WELCOME_TEXT, "Welcome! Cameras optional.", DEFAULT_WELCOME_TEXT]


async def test_counts_outside_the_range_and_other_groups_are_left_out(service, database, clock) -> None:
    await service.add_route(GUILD, "GP", "gp", MEETINGS)
    await service.record_uses(GUILD, MEETINGS, {"gp": 9})
    clock.set(NOON + timedelta(days=40))
    rows = await referral_counts(database, date(2027, 1, 1), date(2027, 1, 31), [GUILD])
    assert [(r.scope, r.month, r.joins) for r in rows] == [
        ("group", "2027-01", 0),
        ("all groups", "2027-01", 0),
        ("total", None, 0),
    ]
    assert [r.scope for r in await referral_counts(database, date(2026, 11, 1), date(2026, 11, 30), [OTHER])] == [
        "all groups",
        "total",
    ]
