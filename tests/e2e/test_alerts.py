"""End to end: `/alert-facilitator` reaches a person, the first "I'm on it" wins, coordinators hear if nobody does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest
from sqlalchemy import select

from bot.db.models import FacilitatorAlert
from tests.e2e.conftest import BotHarness, Group, configure
from tests.sandbox.models import Member, Message
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

SECRET = "zebra-marker-7731 someone keeps messaging me"


async def alert(sandbox: Sandbox, group: Group, who: Member, **options: object) -> str:
    """Raise an alert as `who` and return what they were told (the answer comes after a "thinking" deferral)."""
    handle = await sandbox.actors.invoke(group.guild, who, "alert-facilitator", options)
    first = await handle.response()
    if first.data.get("content"):
        assert first.ephemeral
        return str(first.data["content"])
    [answer] = await handle.wait_followups()
    assert answer.flags & 64, "the answer to an alert must be ephemeral"
    return answer.content


def alert_posts(sandbox: Sandbox, channel) -> list[Message]:
    return [m for m in sandbox.channel_messages(channel) if m.content.startswith("🚨")]


async def start_meeting(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    started = await (
        await sandbox.actors.invoke(group.guild, group.facilitator, "meeting start", {"title": "Tuesday SMART"})
    ).response()
    assert "Starting" in started.content, started.content
    await harness.idle()


async def test_alert_in_a_running_meeting_dms_and_mentions_the_running_facilitator(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await start_meeting(sandbox, group, harness)
    told = await alert(sandbox, group, group.member, text=SECRET)
    assert "facilitator running the meeting" in told and "privately" in told
    await harness.idle()

    [post] = alert_posts(sandbox, group.facilitators)
    assert f"<@{group.facilitator.user.id}>" in post.content and "Tuesday SMART" in post.content
    assert SECRET in post.content
    assert str(group.member.user.id) not in post.content  # anonymous unless the member shares their name
    # Allowed mentions name exactly the running facilitator: no role, nobody else, never @everyone.
    assert post.mentions == [group.facilitator.user.id]
    assert post.mention_roles == [] and not post.mention_everyone
    assert any(c["label"] == "I'm on it" for row in post.components for c in row["components"])

    [dm] = [m for m in sandbox.dms(group.facilitator) if "asked for a facilitator's attention" in m.content]
    assert SECRET in dm.content and "Tuesday SMART" in dm.content
    assert str(group.member.user.id) not in dm.content


async def test_alert_with_no_meeting_running_pings_the_facilitator_role(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    told = await alert(sandbox, group, group.member)
    assert "alerted the facilitators" in told
    [post] = alert_posts(sandbox, group.facilitators)
    assert f"<@&{group.facilitator_role.id}>" in post.content
    assert post.mention_roles == [group.facilitator_role.id]
    assert post.mentions == [] and not post.mention_everyone
    assert not [m for m in sandbox.dms(group.facilitator) if "attention" in m.content]


async def test_a_shared_name_is_shown_without_pinging_the_member(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await alert(sandbox, group, group.member, text="please contact me", share_name=True)
    [post] = alert_posts(sandbox, group.facilitators)
    assert f"<@{group.member.user.id}>" in post.content
    assert group.member.user.id not in post.mentions


async def test_two_simultaneous_im_on_it_clicks_have_one_winner_and_the_member_is_told(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    second = await sandbox.actors.create_member(group.guild, "gil", roles=[group.facilitator_role])
    await alert(sandbox, group, group.member, text=SECRET)
    [post] = alert_posts(sandbox, group.facilitators)
    clicks = await asyncio.gather(
        sandbox.actors.click(group.facilitator, post, label="I'm on it"),
        sandbox.actors.click(second, post, label="I'm on it"),
    )
    answers = [await handle.response() for handle in clicks]
    assert all(answer.ephemeral for answer in answers)
    winners = [a for a in answers if a.content.startswith("It's yours")]
    losers = [a for a in answers if "already has this one" in a.content]
    assert len(winners) == 1 and len(losers) == 1, [a.content for a in answers]
    winner = group.facilitator if answers[0] in winners else second
    assert f"<@{winner.user.id}>" in losers[0].content
    await harness.idle()

    edited = sandbox.state.messages[post.id]
    assert f"<@{winner.user.id}> is on it" in edited.content and edited.components == []
    assert SECRET in edited.content  # the facilitators still see what was asked
    [told] = [m for m in sandbox.dms(group.member) if "has seen your alert" in m.content]
    assert f"<@{winner.user.id}>" in told.content
    # Nobody learns who raised it: the member's id appears in no post, and the row no longer holds it.
    assert all(str(group.member.user.id) not in m.content for m in sandbox.channel_messages(group.facilitators))
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.scalar(select(FacilitatorAlert))
        assert row is not None and row.state == "taken" and row.member_id is None
    # Taken in time: the coordinators are never called.
    await harness.advance_to(harness.clock.now() + timedelta(minutes=30))
    assert alert_posts(sandbox, group.coordinators) == []


async def test_a_member_cannot_take_an_alert(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    await configure(sandbox, group)
    await alert(sandbox, group, group.member)
    [post] = alert_posts(sandbox, group.facilitators)
    refused = await (await sandbox.actors.click(group.newcomer, post, label="I'm on it")).response()
    assert refused.ephemeral and "Only facilitators and coordinators" in refused.content
    assert sandbox.state.messages[post.id].components  # still open for a facilitator


async def test_an_untaken_alert_escalates_to_coordinators_after_the_wait(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    raised_at = harness.clock.now()
    await alert(sandbox, group, group.member, text=SECRET)
    await harness.advance_to(raised_at + timedelta(minutes=4, seconds=59))
    assert alert_posts(sandbox, group.coordinators) == []

    await harness.advance_to(raised_at + timedelta(minutes=5))
    [escalation] = alert_posts(sandbox, group.coordinators)
    assert f"<@&{group.coordinator_role.id}>" in escalation.content and "after 5 minutes" in escalation.content
    assert SECRET in escalation.content  # read back from the facilitators' post, never from our database
    assert escalation.mention_roles == [group.coordinator_role.id]
    assert escalation.mentions == [] and not escalation.mention_everyone
    assert str(group.member.user.id) not in escalation.content

    # A coordinator takes it from their own channel: both posts show who has it.
    taken = await (await sandbox.actors.click(group.coordinator, escalation, label="I'm on it")).response()
    assert taken.content.startswith("It's yours")
    await harness.idle()
    [post] = alert_posts(sandbox, group.facilitators)
    for message_id in (post.id, escalation.id):
        message = sandbox.state.messages[message_id]
        assert f"<@{group.coordinator.user.id}> is on it" in message.content and message.components == []
    await harness.advance_to(harness.clock.now() + timedelta(hours=1))
    assert len(alert_posts(sandbox, group.coordinators)) == 1  # escalated once


async def test_the_escalation_wait_is_configurable(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    await configure(sandbox, group)
    bad = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup alerts", {"escalate_after_minutes": 0})
    ).response()
    assert bad.ephemeral and "1 to 60 minutes" in bad.content
    done = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup alerts", {"escalate_after_minutes": 2})
    ).response()
    assert "2 minutes" in done.content
    raised_at = harness.clock.now()
    await alert(sandbox, group, group.member)
    await harness.advance_to(raised_at + timedelta(minutes=2))
    [escalation] = alert_posts(sandbox, group.coordinators)
    assert "after 2 minutes" in escalation.content


async def test_the_alert_text_is_never_stored(sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path) -> None:
    await harness.start()
    await configure(sandbox, group)
    await start_meeting(sandbox, group, harness)
    await alert(sandbox, group, group.member, text=SECRET, share_name=True)
    await harness.advance_to(harness.clock.now() + timedelta(minutes=10))  # escalated too
    await harness.stop()
    for path in tmp_path.glob("bot.sqlite3*"):
        assert b"zebra-marker-7731" not in path.read_bytes(), path.name


async def test_an_unpingable_facilitator_role_calls_the_coordinators_at_once(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await sandbox.actors.edit_role(group.guild, group.facilitator_role, mentionable=False)  # changed by hand later
    await alert(sandbox, group, group.member)
    await harness.idle()
    [escalation] = alert_posts(sandbox, group.coordinators)
    assert "could not alert a facilitator" in escalation.content
    assert escalation.mention_roles == [group.coordinator_role.id]


async def test_when_the_facilitators_channel_refuses_the_post_coordinators_and_the_running_facilitator_hear(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await start_meeting(sandbox, group, harness)
    bot_role = next(role for role in group.guild.roles.values() if role.bot_id == sandbox.state.bot.id)
    await sandbox.actors.set_overwrite(group.facilitators, bot_role, deny=discord.Permissions(send_messages=True))
    told = await alert(sandbox, group, group.member, text=SECRET)
    assert "alerted the coordinators" in told and "private message" in told
    await harness.idle()
    assert alert_posts(sandbox, group.facilitators) == []
    assert [m for m in sandbox.dms(group.facilitator) if SECRET in m.content]
    [escalation] = alert_posts(sandbox, group.coordinators)
    assert f"<@&{group.coordinator_role.id}>" in escalation.content


async def test_with_no_channel_to_alert_the_member_is_told_plainly(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    saved = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup configure", {"timezone": "Europe/London"})
    ).response()
    assert saved.content.startswith("Saved.")
    told = await alert(sandbox, group, group.member)
    assert "couldn't reach anyone" in told and "/crisis" in told


async def test_setup_show_warns_when_a_staff_role_cannot_be_pinged(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    assert group.guild.roles[group.facilitator_role.id].mentionable  # configure made it so
    shown = await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()
    assert "cannot ping" not in shown.content
    await sandbox.actors.edit_role(group.guild, group.coordinator_role, mentionable=False)
    shown = await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()
    assert f"Alerts cannot ping <@&{group.coordinator_role.id}>" in shown.content
