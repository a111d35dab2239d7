"""End to end: the office keeps the resources library, any group member searches it; the office pairs groups."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BotHarness, Group, configure
from tests.e2e.test_announcements import HEADING, announcements, office_server
from tests.fixtures.bot import build_group
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


async def test_the_office_keeps_the_library_and_any_member_searches_it(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    actors = sandbox.actors
    office = await office_server(sandbox)
    bot = await harness.start()
    await configure(sandbox, group)
    await bot.services.participation.office.configure(office.guild.id, office.channel.id, office.role.id)

    refused = await (
        await actors.invoke(
            office.guild, office.visitor, "office resources add", {"title": "T", "description": "D", "tags": "t"}
        )
    ).response()
    assert refused.ephemeral and "Only members with" in refused.content
    neither = await (
        await actors.invoke(
            office.guild, office.staff, "office resources add", {"title": "T", "description": "D", "tags": "t"}
        )
    ).response()
    assert neither.ephemeral and "either a `link` or a `file`" in neither.content

    added = await (
        await actors.invoke(
            office.guild,
            office.staff,
            "office resources add",
            {
                "title": "Starting a new group",
                "description": "Everything a new group needs in its first months",
                "tags": "New groups, training",
                "link": "https://example.org/new-groups",
                "announce": True,
            },
        )
    ).response()
    assert "Added **Starting a new group**" in added.content and "on its way to 1 group" in added.content
    await actors.invoke(
        office.guild,
        office.staff,
        "office resources add",
        {
            "title": "Online safety",
            "description": "Keeping meetings safe",
            "tags": "online safety",
            "link": "https://example.org/safe",
        },
    )
    await harness.idle()
    [told] = announcements(sandbox, group.coordinators)
    assert "New in the resources library: **Starting a new group**" in told and "https://example.org/new-groups" in told

    # Any member of any group lists and searches it.
    listed = await (await actors.invoke(group.guild, group.member, "resources list")).response()
    assert listed.ephemeral and "**Starting a new group**" in listed.content and "**Online safety**" in listed.content
    tagged = await (await actors.invoke(group.guild, group.member, "resources list", {"tag": "new groups"})).response()
    assert "**Starting a new group**" in tagged.content and "Online safety" not in tagged.content
    searched = await (
        await actors.invoke(group.guild, group.member, "resources list", {"words": "safe meetings"})
    ).response()
    assert "**Online safety**" in searched.content and "Starting" not in searched.content
    suggestions = await actors.autocomplete(group.guild, group.member, "resources list", {"tag": "onl"}, focused="tag")
    assert [choice["value"] for choice in suggestions] == ["online safety"]
    nothing = await (await actors.invoke(group.guild, group.member, "resources list", {"words": "zebra"})).response()
    assert "no items matching that" in nothing.content

    [safe] = await bot.services.office.resources.search("safety")
    removed = await (
        await actors.invoke(office.guild, office.staff, "office resources remove", {"item": safe.id})
    ).response()
    assert "Removed" in removed.content
    after = await (await actors.invoke(group.guild, group.member, "resources list")).response()
    assert "Online safety" not in after.content
    assert not any(HEADING in m.content for m in sandbox.channel_messages(group.meetings))


async def test_the_office_pairs_a_new_group_with_an_experienced_one_until_it_ends_it(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    actors = sandbox.actors
    office = await office_server(sandbox)
    group.guild.name = "Leeds SMART"
    new = await build_group(sandbox)
    new.guild.name = "Brand New SMART"
    bot = await harness.start()
    for built in (group, new):
        await configure(sandbox, built)
    await bot.services.participation.office.configure(office.guild.id, office.channel.id, office.role.id)

    suggestions = await actors.autocomplete(
        office.guild, office.staff, "office pair", {"new_group": "brand", "experienced_group": "x"}, focused="new_group"
    )
    assert [choice["name"] for choice in suggestions] == ["Brand New SMART"]
    options = {"new_group": str(new.guild.id), "experienced_group": str(group.guild.id)}
    paired = await (await actors.invoke(office.guild, office.staff, "office pair", options)).response()
    assert "Paired **Brand New SMART** with **Leeds SMART**" in paired.content
    await harness.idle()
    [to_new] = [m.content for m in sandbox.channel_messages(new.coordinators)]
    [to_old] = [m.content for m in sandbox.channel_messages(group.coordinators)]
    assert "paired your group with **Leeds SMART**" in to_new
    assert "paired your group with **Brand New SMART**" in to_old
    assert [(p.new_group_name, p.experienced_group_name) for p in await bot.services.office.pairing.active_pairs()] == [
        ("Brand New SMART", "Leeds SMART")
    ]
    again = await (await actors.invoke(office.guild, office.staff, "office pair", options)).response()
    assert again.ephemeral and "already paired" in again.content

    ended = await (
        await actors.invoke(office.guild, office.staff, "office unpair", {"group": str(new.guild.id)})
    ).response()
    assert "Ended: Brand New SMART with Leeds SMART" in ended.content
    assert await bot.services.office.pairing.active_pairs() == []
