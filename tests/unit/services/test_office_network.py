"""The office's services: announcements and their report, the resources library, the network, pairings."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.db.models import Outbox
from bot.db.models_office import OfficeAnnouncement
from bot.errors import InvalidInputError
from bot.services.guild_config import GuildConfigService
from bot.services.office import OfficeServices
from bot.services.office.announcements import DELIVERED, FAILED, RETRYING, report_text
from tests.fixtures.db import FakeClock

OFFICE = 900
GROUPS = {101: "Tuesday Evening SMART", 102: "Leeds SMART", 103: "Weekend Online SMART"}


async def configured(database, clock: FakeClock) -> OfficeServices:
    config = GuildConfigService(database, clock)
    for guild in GROUPS:
        await config.update(guild, coordinators_channel_id=guild * 10, facilitators_channel_id=guild * 10 + 1)
    await config.update(104, timezone="Europe/London")  # not set up for announcements: no coordinators' channel
    return OfficeServices.build(database, clock)


async def outbox(database) -> list[tuple[int, str, dict[str, object]]]:
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
    return [(row.guild_id, row.kind, json.loads(row.payload)) for row in rows]


async def test_an_announcement_queues_one_post_per_group_and_one_report(database, clock: FakeClock) -> None:
    office = await configured(database, clock)
    service = office.announcements
    await service.set_facilitators_copy(103, True)
    recipients = await service.recipients(GROUPS, exclude=[OFFICE])
    assert [r.name for r in recipients] == ["Leeds SMART", "Tuesday Evening SMART", "Weekend Online SMART"]
    assert [r.facilitators_channel_id for r in recipients] == [None, None, 1031]
    announcement = await service.announce(OFFICE, 5, "Hello", recipients, file_name="a.pdf", file_data=b"%PDF")
    queued = await outbox(database)
    assert [(guild, kind) for guild, kind, _ in queued] == [
        (OFFICE, "announcement_report"),
        (102, "announcement_post"),
        (101, "announcement_post"),
        (103, "announcement_post"),
        (103, "announcement_post"),
    ]
    report = await service.report(announcement)
    assert report is not None and len(report.targets) == 4 and not report.finished

    # Outcomes: a refresh is queued only when none waits; the file goes once everything has settled.
    first, second, third, fourth = report.targets
    await service.record_delivered(first.id, 1)
    assert len(await outbox(database)) == 5  # the first refresh still waits: it will show this outcome
    await service.claim_report(announcement)
    await service.record_failed(second.id, "Discord answered 503", final=False)
    await service.record_failed(third.id, "the channel no longer exists (Discord said 404, code 10003)", final=True)
    await service.record_delivered(fourth.id, 4)
    queued = await outbox(database)
    assert [kind for _, kind, _ in queued].count("announcement_report") == 2
    async with database.session() as session:
        assert (await session.get(OfficeAnnouncement, announcement)).file_data == b"%PDF"  # one still retrying
    await service.record_delivered(second.id, 2)
    report = await service.report(announcement)
    assert report is not None and report.finished
    assert [t.state for t in report.targets] == [DELIVERED, DELIVERED, FAILED, DELIVERED]
    async with database.session() as session:
        assert (await session.get(OfficeAnnouncement, announcement)).file_data is None
    text = report_text(report)
    assert "Delivered 3 of 4 · failed 1 · still sending 0" in text
    assert text.splitlines()[2].startswith("- Weekend Online SMART: ❌ failed: the channel no longer exists")
    assert "- Weekend Online SMART (facilitators' channel): ✅ delivered" in text
    # A settled target is never changed again (a late duplicate outcome).
    await service.record_failed(first.id, "late", final=False)
    report = await service.report(announcement)
    assert report is not None and report.targets[0].state == DELIVERED and RETRYING not in text


async def test_announcements_refuse_bad_input(database, clock: FakeClock) -> None:
    service = (await configured(database, clock)).announcements
    recipients = await service.recipients(GROUPS)
    with pytest.raises(InvalidInputError, match="empty"):
        await service.announce(OFFICE, 5, "  ", recipients)
    with pytest.raises(InvalidInputError, match="at most 1800"):
        await service.announce(OFFICE, 5, "x" * 1801, recipients)
    with pytest.raises(InvalidInputError, match="too large"):
        await service.announce(OFFICE, 5, "x", recipients, file_name="big", file_data=b"0" * (9 * 1024 * 1024))
    with pytest.raises(InvalidInputError, match="'Nowhere'"):
        service.choose(recipients, "Leeds SMART, Nowhere")
    assert [r.guild_id for r in service.choose(recipients, "leeds smart, Leeds SMART")] == [102]
    assert len(service.choose(recipients, "")) == 3
    assert await outbox(database) == []


async def test_the_library_is_searched_by_tag_and_words(database, clock: FakeClock) -> None:
    resources = (await configured(database, clock)).resources
    await resources.add("Starting a group", "What a new group needs", "New groups, training", url="https://x.org/a")
    await resources.add(
        "Staying safe online", "Privacy settings for members", "online safety", file_name="s.pdf", file_data=b"1"
    )
    assert [r.title for r in await resources.search(tag="new groups")] == ["Starting a group"]
    assert [r.title for r in await resources.search("privacy members")] == ["Staying safe online"]
    assert await resources.search("privacy", tag="training") == []
    assert await resources.tags() == ["new groups", "online safety", "training"]
    [safe] = await resources.search("safe")
    assert await resources.file(safe.id) == ("s.pdf", b"1")
    for bad in ({"url": "ftp://x"}, {}, {"url": "https://x.org", "file_data": b"1"}):
        with pytest.raises(InvalidInputError):
            await resources.add("T", "D", "t", **bad)  # type: ignore[arg-type]
    assert await resources.remove(safe.id) and not await resources.remove(safe.id)


async def test_questions_go_out_under_the_groups_name_and_replies_reach_its_facilitators(
    database, clock: FakeClock
) -> None:
    network = (await configured(database, clock)).network
    with pytest.raises(InvalidInputError, match="not set up"):
        await network.ask(OFFICE, 101, "Tuesday Evening SMART", "Hi?")
    await network.configure(channel_id=77, role_id=78)
    question = await network.ask(OFFICE, 101, "Tuesday Evening SMART", "How do you welcome newcomers?")
    await network.reply(OFFICE, question, "Leeds SMART", "With a buddy.")
    queued = await outbox(database)
    assert [(guild, kind) for guild, kind, _ in queued] == [
        (OFFICE, "network_question"),
        (101, "message"),
        (OFFICE, "network_answer"),
    ]
    assert queued[0][2]["content"] == "**Tuesday Evening SMART** asks: How do you welcome newcomers?"
    assert queued[1][2]["channel_id"] == 1011
    assert "**Leeds SMART** replied" in str(queued[1][2]["content"])
    assert await network.rota_groups(5) == [] and not await network.on_rota(101, 5)


async def test_pairing_introduces_both_groups_and_lasts_until_ended(database, clock: FakeClock) -> None:
    pairing = (await configured(database, clock)).pairing
    with pytest.raises(InvalidInputError, match="two different groups"):
        await pairing.pair(101, "A", 101, "A")
    with pytest.raises(InvalidInputError, match="no coordinators' channel"):
        await pairing.pair(104, "New", 101, "Tuesday Evening SMART")
    made = await pairing.pair(102, "Leeds SMART", 101, "Tuesday Evening SMART")
    with pytest.raises(InvalidInputError, match="already paired"):
        await pairing.pair(102, "Leeds SMART", 101, "Tuesday Evening SMART")
    queued = await outbox(database)
    assert [(guild, payload["channel_id"]) for guild, _, payload in queued] == [(102, 1020), (101, 1010)]
    assert "**Tuesday Evening SMART**" in str(queued[0][2]["content"])
    assert [p.id for p in await pairing.active_pairs()] == [made.id]
    assert [p.id for p in await pairing.unpair(101)] == [made.id]
    assert await pairing.active_pairs() == []
