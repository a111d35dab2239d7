"""End to end: facilitators join the network from their own server, and groups ask it questions and get replies."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import BotHarness, Group, configure
from tests.fixtures.bot import build_group
from tests.sandbox import permissions as perms
from tests.sandbox.models import Channel, Guild, Member, Role
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

INVITE = re.compile(r"https://discord\.gg/([A-Za-z0-9]+)")


async def rota_join(sandbox: Sandbox, group: Group, who: Member) -> None:
    handle = await sandbox.actors.invoke(
        group.guild, who, "rota join", {"roles": "lead,co", "trained_since": "2024-01-15"}
    )
    await handle.response()


async def test_join_ask_and_reply_through_the_network(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    # The office's server: the bot may create invites and give roles below its own.
    office: Guild = await actors.create_guild(
        "SMART Central Office", bot_permissions=perms.DEFAULT_BOT | perms.CREATE_INSTANT_INVITE | perms.MANAGE_ROLES
    )
    await actors.create_channel(office, "office")
    network: Channel = await actors.create_channel(office, "facilitators-network")
    staff_role: Role = await actors.create_role(office, "Central office")
    network_role: Role = await actors.create_role(office, "Network")
    staff = await actors.create_member(office, "olive", roles=[staff_role])
    group.guild.name = "Tuesday Evening SMART"
    other = await build_group(sandbox)
    other.guild.name = "Leeds SMART"
    bot = await harness.start()
    for built in (group, other):
        await configure(sandbox, built)
    await bot.services.participation.office.configure(office.id, network.id, staff_role.id)
    setup = await (
        await actors.invoke(office, staff, "office network-setup", {"channel": network, "role": network_role})
    ).response()
    assert "facilitators' network meets in" in setup.content and "give me" not in setup.content
    await rota_join(sandbox, group, group.facilitator)
    await rota_join(sandbox, other, other.facilitator)

    # Not on the rota: neither join nor ask.
    for command, options in (("network join", {}), ("network ask", {"question": "Anyone there?"})):
        refused = await (await actors.invoke(group.guild, group.member, command, options)).response()
        assert refused.ephemeral and "rota" in refused.content, command
    assert not [m for m in sandbox.channel_messages(network) if "asks:" in m.content]

    # Join: a one-use invite that gives the network role on arrival.
    joined = await (await actors.invoke(other.guild, other.facilitator, "network join")).response()
    assert joined.ephemeral
    match = INVITE.search(joined.content)
    assert match, joined.content
    member = await actors.join_via_invite(match.group(1), other.facilitator.user)
    assert network_role.id in member.roles
    assert match.group(1) not in sandbox.state.invites  # spent

    # Ask as the group: posted under the group's name, never the facilitator's.
    asked = await (
        await actors.invoke(
            group.guild, group.facilitator, "network ask", {"question": "How do you welcome newcomers?"}
        )
    ).response()
    assert "Asked the network as **Tuesday Evening SMART**" in asked.content
    await harness.idle()
    [question] = [m for m in sandbox.channel_messages(network) if "asks:" in m.content]
    assert question.content == "**Tuesday Evening SMART** asks: How do you welcome newcomers?"
    assert "fran" not in question.content.casefold()

    # Reply with the button, as a facilitator of another group who chose to sign.
    opened = await actors.click(member, question, label="Reply")
    done = await (
        await actors.submit_modal(
            opened, {"Your reply": "We pair each newcomer with a buddy.", "Sign with your name? (optional)": "Sam"}
        )
    ).response()
    assert done.ephemeral and "on its way" in done.content
    await harness.idle()
    [relayed] = [m for m in sandbox.channel_messages(group.facilitators) if "replied" in m.content]
    assert "**Leeds SMART (Sam)** replied" in relayed.content
    assert (
        "How do you welcome newcomers?" in relayed.content and "We pair each newcomer with a buddy." in relayed.content
    )
    [thread] = [c for c in office.channels.values() if c.is_thread and c.parent_id == network.id]
    assert any("We pair each newcomer" in m.content for m in sandbox.channel_messages(thread))

    # Someone in the office's server who is neither on a rota nor staff cannot reply.
    stranger = await actors.create_member(office, "sid")
    blocked = await (await actors.click(stranger, question, label="Reply")).response()
    assert blocked.ephemeral and "Only facilitators on a group's rota" in blocked.content
