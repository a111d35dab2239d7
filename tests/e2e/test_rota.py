"""End to end: the facilitator rota through the real bot and the sandbox, driven by an injected clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.e2e.conftest import BotHarness, Group, configure
from tests.e2e.test_meetings import START, schedule_tuesday
from tests.sandbox.models import Member
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


async def rota_group(sandbox: Sandbox, group: Group, harness: BotHarness) -> list[Member]:
    """Three facilitators on the rota, a weekly meeting, and a generated plan."""
    await harness.start()
    await configure(sandbox, group)
    extra = [
        await sandbox.actors.create_member(group.guild, name, roles=[group.facilitator_role]) for name in ("flo", "gil")
    ]
    people = [group.facilitator, *extra]
    for person in people:
        answer = await (
            await sandbox.actors.invoke(
                group.guild, person, "rota join", {"roles": "lead,co", "trained_since": "2024-01-15"}
            )
        ).response()
        assert "on the rota" in answer.content, answer.content
    await schedule_tuesday(sandbox, group)
    generated = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "rota generate", {"weeks": 4})
    ).response()
    assert "Planned 8 duties for the next 4 weeks" in generated.content, generated.content
    await harness.idle()
    return people


def last_cover_request(sandbox: Sandbox, group: Group):
    return next(m for m in reversed(sandbox.channel_messages(group.facilitators)) if "Cover needed" in m.content)


def duty_holders(sandbox: Sandbox, group: Group, people: list[Member]) -> tuple[Member, Member, Member]:
    """Return (lead, co, free) for the first meeting, read from the posted rota."""
    post = next(m for m in sandbox.channel_messages(group.facilitators) if "The rota is out" in m.content)
    first_lines = post.content.splitlines()[1:3]
    lead = next(p for p in people if f"lead: <@{p.user.id}>" in first_lines[0] + first_lines[1])
    co = next(p for p in people if f"co-facilitator: <@{p.user.id}>" in first_lines[0] + first_lines[1])
    free = next(p for p in people if p not in (lead, co))
    return lead, co, free


async def test_plan_is_posted_and_confirmed(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, co, _free = duty_holders(sandbox, group, people)
    assert lead is not co
    await harness.advance_to(START - timedelta(hours=72))
    request = sandbox.dms(lead)[-1]
    assert "Can you make it?" in request.content
    answer = await (await sandbox.actors.click(lead, request, label="Confirm")).response()
    assert "confirmed" in answer.data["content"]
    mine = await (await sandbox.actors.invoke(group.guild, lead, "rota mine")).response()
    assert "✓" in mine.content.splitlines()[1]
    await harness.advance_to(START - timedelta(hours=24))
    assert not any("The lead duty isn't confirmed" in m.content for m in sandbox.channel_messages(group.coordinators))


async def test_decline_leads_to_cover_taken_by_another(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, free = duty_holders(sandbox, group, people)
    await harness.advance_to(START - timedelta(hours=72))
    await (await sandbox.actors.click(lead, sandbox.dms(lead)[-1], label="Can't make it")).response()
    await harness.idle()
    cover = last_cover_request(sandbox, group)
    taken = await (await sandbox.actors.click(free, cover, label="Take this shift")).response()
    assert "It's yours" in taken.content
    await harness.idle()
    assert f"taken by <@{free.user.id}>" in sandbox.state.messages[cover.id].content
    assert sandbox.state.messages[cover.id].components == []
    assert any("is covering your" in m.content for m in sandbox.dms(lead))
    # The cover is now the meeting's facilitator: the meeting runs with them.
    await harness.advance_to(START)
    assert not any("no facilitator" in m.content for m in sandbox.channel_messages(group.meetings))


async def test_two_simultaneous_takes_have_exactly_one_winner(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, free = duty_holders(sandbox, group, people)
    fourth = await sandbox.actors.create_member(group.guild, "hal", roles=[group.facilitator_role])
    await (
        await sandbox.actors.invoke(group.guild, fourth, "rota join", {"roles": "lead", "trained_since": "2023-05-01"})
    ).response()
    swap = await (await sandbox.actors.invoke(group.guild, lead, "rota swap", {"date": "2026-12-01"})).response()
    assert "asked the facilitators" in swap.content
    await harness.idle()
    cover = last_cover_request(sandbox, group)
    clicks = await asyncio.gather(
        sandbox.actors.click(free, cover, label="Take this shift"),
        sandbox.actors.click(fourth, cover, label="Take this shift"),
    )
    answers = [await handle.response() for handle in clicks]
    winners = [a for a in answers if "It's yours" in a.content]
    losers = [a for a in answers if "Someone else took" in a.content]
    assert len(winners) == 1 and len(losers) == 1


async def test_unconfirmed_duty_escalates_at_24_hours(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await rota_group(sandbox, group, harness)
    await harness.advance_to(START - timedelta(hours=25))
    assert not any("isn't confirmed" in m.content for m in sandbox.channel_messages(group.coordinators))
    await harness.advance_to(START - timedelta(hours=24))
    alerts = [m.content for m in sandbox.channel_messages(group.coordinators) if "isn't confirmed" in m.content]
    assert len(alerts) == 2  # the lead and the co-facilitator duty
    # Coordinators are asked to help cover; the facilitator who hasn't answered is not named as late.
    assert all(alert.startswith("Could you help") and "<@" not in alert for alert in alerts)


async def test_one_gentle_reminder_comes_between_the_request_and_the_escalation(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    people = await rota_group(sandbox, group, harness)
    second = START + timedelta(days=7)  # planned 8 days ahead: every step of its duties falls due in turn

    def reminders() -> list[str]:
        return [m.content for person in people for m in sandbox.dms(person) if "gentle reminder" in m.content]

    def escalations() -> list[str]:
        return [m.content for m in sandbox.channel_messages(group.coordinators) if "isn't confirmed" in m.content]

    await harness.advance_to(second - timedelta(hours=72))
    # The first meeting's duties were asked for only 31 hours ahead, past their reminder time: no reminder followed.
    assert reminders() == []
    escalated_before = len(escalations())
    await harness.advance_to(second - timedelta(hours=48, seconds=1))
    assert reminders() == []
    await harness.advance_to(second - timedelta(hours=48))
    sent = reminders()
    assert len(sent) == 2 and all(f"<t:{int(second.timestamp())}:F>" in text for text in sent)
    assert len(escalations()) == escalated_before  # the coordinators have heard nothing about it yet
    await harness.advance_to(second - timedelta(hours=24))
    assert len(escalations()) == escalated_before + 2
    assert len(reminders()) == 2  # one reminder, never repeated


async def test_a_member_cannot_join_the_rota(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    await configure(sandbox, group)
    refused = await (
        await sandbox.actors.invoke(
            group.guild, group.member, "rota join", {"roles": "lead", "trained_since": "2024-01-01"}
        )
    ).response()
    assert refused.ephemeral and f"<@&{group.facilitator_role.id}>" in refused.content
    generate = await (await sandbox.actors.invoke(group.guild, group.facilitator, "rota generate")).response()
    assert generate.ephemeral and f"<@&{group.coordinator_role.id}>" in generate.content


async def test_restart_keeps_pending_confirmations_and_escalations(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, _free = duty_holders(sandbox, group, people)
    await harness.kill()
    harness.clock.set(START - timedelta(hours=70))  # the 72-hour request fell due while the bot was down
    await harness.start()
    requests = [m for m in sandbox.dms(lead) if "Can you make it?" in m.content]
    assert len(requests) == 1
    await harness.kill()
    await harness.start()
    assert len([m for m in sandbox.dms(lead) if "Can you make it?" in m.content]) == 1  # not asked twice
    await harness.advance_to(START - timedelta(hours=24))
    assert any("isn't confirmed" in m.content for m in sandbox.channel_messages(group.coordinators))


async def test_meeting_without_a_facilitator_does_not_run(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, _free = duty_holders(sandbox, group, people)
    await (await sandbox.actors.invoke(group.guild, lead, "rota swap", {"date": "2026-12-01"})).response()
    await harness.advance_to(START)
    notice = sandbox.last_message(group.meetings)
    assert "can't go ahead today" in notice.content and "no facilitator" in notice.content
    assert any("did not go ahead" in m.content for m in sandbox.channel_messages(group.coordinators))
    assert not [c for c in group.guild.channels.values() if c.is_thread]


async def test_calendar_and_stats(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, _free = duty_holders(sandbox, group, people)
    handle = await sandbox.actors.invoke(group.guild, lead, "rota calendar")
    response = await handle.response()
    assert response.ephemeral
    assert response.message.attachments[0]["filename"] == "my-duties.ics"
    stats = await (await sandbox.actors.invoke(group.guild, group.coordinator, "rota stats")).response()
    assert "No meetings held" in stats.content


async def test_long_rota_is_split_across_messages_not_truncated(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await rota_group(sandbox, group, harness)
    for day in (3, 5):  # two more weekly meetings: 3 meetings x 2 duties x 8 weeks
        await schedule_tuesday(sandbox, group, weekday=day)
    await (await sandbox.actors.invoke(group.guild, group.coordinator, "rota generate", {"weeks": 8})).response()
    requests_before = len(sandbox.transcript.dms())
    await (await sandbox.actors.invoke(group.guild, group.coordinator, "rota generate", {"weeks": 8})).response()
    await harness.idle()
    assert len(sandbox.transcript.dms()) == requests_before  # regenerating asks nobody twice
    handle = await sandbox.actors.invoke(group.guild, group.facilitator, "rota show", {"weeks": 8})
    first = await handle.response()
    followups = await handle.wait_followups(1)
    pieces = [first.content] + [m.content for m in followups]
    assert len(pieces) >= 2 and all(len(piece) <= 2000 for piece in pieces)
    lines = "\n".join(pieces).count("Tuesday SMART")
    assert lines == 48  # every duty shown, none cut off


async def test_away_pin_and_milestones(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, free = duty_holders(sandbox, group, people)
    away = await (
        await sandbox.actors.invoke(
            group.guild, lead, "rota away", {"first_day": "2026-12-01", "last_day": "2026-12-02"}
        )
    ).response()
    assert away.content == "Noted. 1 duty in that time is now open for cover."
    await harness.idle()
    assert "Cover needed" in sandbox.last_message(group.facilitators).content
    back = await (await sandbox.actors.invoke(group.guild, lead, "rota back")).response()
    assert "Welcome back" in back.content
    assert harness.bot is not None
    upcoming = await harness.bot.services.schedules.upcoming(group.guild.id, limit=1)
    pinned = await (
        await sandbox.actors.invoke(
            group.guild, group.coordinator, "rota pin", {"meeting": upcoming[0].id, "role": "lead", "facilitator": free}
        )
    ).response()
    assert "Pinned" in pinned.content and f"<@{free.user.id}>" in pinned.content
    # Regeneration never moves a pinned duty.
    await (await sandbox.actors.invoke(group.guild, group.coordinator, "rota generate", {"weeks": 4})).response()
    show = await (await sandbox.actors.invoke(group.guild, group.coordinator, "rota show", {"weeks": 1})).response()
    assert f"lead: <@{free.user.id}>" in show.content
    # The pinned lead runs nine meetings without thanks, and is thanked at the tenth, by name unless opted out.
    await (await sandbox.actors.invoke(group.guild, free, "rota thanks", {"named": "off"})).response()
    runner = harness.bot.services.meetings
    for _week in range(10):
        occurrence = (await harness.bot.services.schedules.upcoming(group.guild.id, limit=1))[0]
        await harness.bot.services.rota.pin(group.guild.id, occurrence.id, "lead", free.user.id)
        harness.clock.set(occurrence.starts_at)
        await runner.tick()
        await runner.control(group.guild.id, occurrence.id, "end", 0, free.user.id)
        await harness.bot.services.schedules.materialise_all()
        await harness.bot.delivery.run_due()  # delivers the meeting_closed event to the rota's listener

    def thanks() -> list[str]:
        return [m.content for m in sandbox.channel_messages(group.facilitators) if "facilitated" in m.content]

    await sandbox.wait_until(thanks, what="the 10th-meeting thanks")
    await harness.idle()
    assert thanks() == ["🎉 One of our facilitators has now facilitated 10 meetings. Thank you!"]
