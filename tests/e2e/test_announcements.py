"""End to end: the central office's announcements reach each group once, across a kill, and report how it went."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.conftest import BotHarness, Group, configure
from tests.faults.killswitch import AFTER, KillSwitch, RequestPoint, run_step
from tests.fixtures.bot import build_group
from tests.sandbox import rest
from tests.sandbox.models import Channel, Guild, Member, Role
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

MESSAGES = "POST /channels/{channel_id}/messages"
EDITS = "PATCH /channels/{channel_id}/messages/{message_id}"
HEADING = "From the central office"
NAMES = ("Tuesday Evening SMART", "Leeds SMART", "Weekend Online SMART")


@dataclass
class Office:
    guild: Guild
    channel: Channel
    role: Role
    staff: Member
    visitor: Member


async def office_server(sandbox: Sandbox) -> Office:
    actors = sandbox.actors
    guild = await actors.create_guild("SMART Central Office")
    channel = await actors.create_channel(guild, "office")
    role = await actors.create_role(guild, "Central office")
    staff = await actors.create_member(guild, "olive", roles=[role])
    visitor = await actors.create_member(guild, "victor")
    return Office(guild, channel, role, staff, visitor)


async def three_groups(sandbox: Sandbox, group: Group) -> list[Group]:
    groups = [group, await build_group(sandbox), await build_group(sandbox)]
    for built, name in zip(groups, NAMES, strict=True):
        built.guild.name = name
    return groups


async def started(sandbox: Sandbox, group: Group, harness: BotHarness) -> tuple[Office, list[Group]]:
    office = await office_server(sandbox)
    groups = await three_groups(sandbox, group)
    bot = await harness.start()
    for built in groups:
        await configure(sandbox, built)
    await bot.services.participation.office.configure(office.guild.id, office.channel.id, office.role.id)
    # Discord's own limits, not the harness's compressed ones: pacing is what is under test.
    sandbox.ratelimits.set_limit(MESSAGES, 5, 5.0)
    sandbox.ratelimits.set_limit(EDITS, 5, 5.0)
    return office, groups


def announcements(sandbox: Sandbox, channel: Channel) -> list[str]:
    return [m.content for m in sandbox.channel_messages(channel) if HEADING in m.content]


def report(sandbox: Sandbox, office: Office) -> str:
    [posted] = [m for m in sandbox.channel_messages(office.channel) if "delivery report" in m.content]
    return posted.content


def describe(call: rest.Call) -> str:
    return "announcement" if HEADING in str(call.json().get("content", "")) else ""


async def test_an_announcement_reaches_every_group_once_across_a_kill_and_reports_it(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    office, groups = await started(sandbox, group, harness)
    switch = KillSwitch(sandbox, describe)
    sandbox.stats.reset()

    async def announce() -> None:
        handle = await sandbox.actors.invoke(
            office.guild, office.staff, "office announce", {"message": "Training on Saturday: all welcome."}
        )
        answer = await handle.response()
        assert answer.ephemeral and "on its way to 3 groups" in answer.content
        await harness.idle()

    # Killed once Discord has posted the second group's copy, before the bot learns it did.
    killed = await run_step(harness, switch, announce, RequestPoint(1, AFTER, MESSAGES, "announcement"))
    assert killed, "the bot was never killed mid-delivery"
    delivered_before = sum(1 for built in groups if announcements(sandbox, built.coordinators))
    assert 1 <= delivered_before <= 3
    await harness.start()
    await harness.idle()

    for built in groups:
        assert announcements(sandbox, built.coordinators) == [
            f"📣 **{HEADING}**\nTraining on Saturday: all welcome."
        ], built.guild.name
        assert announcements(sandbox, built.facilitators) == []  # not opted in
    text = report(sandbox, office)
    assert "Delivered 3 of 3 · failed 0 · still sending 0" in text
    for name in NAMES:
        assert f"- {name}: ✅ delivered" in text
    assert "Finished" in text
    # Paced within Discord's limits: discord.py waited where a bucket ran dry, and nothing was refused with 429.
    assert sandbox.stats.rate_limited == 0
    assert sandbox.stats.statuses[429] == 0


async def test_a_deleted_channel_is_reported_failed_and_the_others_still_get_it(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    office, groups = await started(sandbox, group, harness)
    gone = groups[1].coordinators
    gone.deleted = True
    sandbox.state.dispatch(
        "CHANNEL_DELETE",
        {"id": str(gone.id), "guild_id": str(gone.guild_id), "type": gone.type, "name": gone.name},
        guild_id=gone.guild_id,
    )
    sandbox.stats.reset()

    handle = await sandbox.actors.invoke(
        office.guild, office.staff, "office announce", {"message": "New leaflets are ready."}
    )
    await handle.response()
    await harness.idle()

    assert len(announcements(sandbox, groups[0].coordinators)) == 1
    assert len(announcements(sandbox, groups[2].coordinators)) == 1
    text = report(sandbox, office)
    assert "Delivered 2 of 3 · failed 1 · still sending 0" in text
    assert f"- {NAMES[1]}: ❌ failed: the channel no longer exists" in text
    assert f"- {NAMES[0]}: ✅ delivered" in text and f"- {NAMES[2]}: ✅ delivered" in text
    # Given up at once, never retried in a loop: one try at the deleted channel at most.
    attempts = await harness.bot.services.outbox.pending_count()  # type: ignore[union-attr]
    assert attempts == 0
    assert sandbox.stats.statuses[429] == 0


async def test_chosen_groups_opt_in_copies_and_who_may_announce(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    office, groups = await started(sandbox, group, harness)
    actors = sandbox.actors
    opted = await (
        await actors.invoke(
            groups[2].guild, groups[2].coordinator, "network announcements", {"in_facilitators_channel": True}
        )
    ).response()
    assert "also in the facilitators' channel" in opted.content

    refused = await (await actors.invoke(office.guild, office.visitor, "office announce", {"message": "x"})).response()
    assert refused.ephemeral and "Only members with" in refused.content
    elsewhere = await (
        await actors.invoke(group.guild, group.coordinator, "office announce", {"message": "x"})
    ).response()
    assert elsewhere.ephemeral and "only in the central office's server" in elsewhere.content
    unknown = await (
        await actors.invoke(office.guild, office.staff, "office announce", {"message": "x", "groups": "Nowhere SMART"})
    ).response()
    assert unknown.ephemeral and "No set-up group is called 'Nowhere SMART'" in unknown.content

    suggestions = await actors.autocomplete(
        office.guild, office.staff, "office announce", {"message": "x", "groups": "Leeds SMART, week"}, focused="groups"
    )
    assert [choice["value"] for choice in suggestions] == ["Leeds SMART, Weekend Online SMART"]

    handle = await actors.invoke(
        office.guild,
        office.staff,
        "office announce",
        {"message": "Hello two groups", "groups": "Leeds SMART, Weekend Online SMART"},
    )
    assert "on its way to 2 groups" in (await handle.response()).content
    await harness.idle()
    assert announcements(sandbox, groups[0].coordinators) == []
    assert len(announcements(sandbox, groups[1].coordinators)) == 1
    assert len(announcements(sandbox, groups[2].coordinators)) == 1
    assert len(announcements(sandbox, groups[2].facilitators)) == 1
    text = report(sandbox, office)
    assert "Delivered 3 of 3" in text and "- Weekend Online SMART (facilitators' channel): ✅ delivered" in text
