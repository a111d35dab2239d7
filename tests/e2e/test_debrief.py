"""End to end: after each meeting the facilitator who ran it is asked privately how it was, and only counts remain.

Fine thanks them; Tough is only counted (per group and month, never who); I'd like to talk tells the coordinators,
naming the facilitator since they asked. One answer per question; an unanswered one forgets who it was for after a
few days. The facilitator who runs every meeting also prompts a kind suggestion to the coordinators to share duties.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models_care import FacilitatorDebrief
from bot.domain.care import DEBRIEF_KEPT
from bot.domain.disclosure import DisclosurePolicy
from bot.services.care.debrief import figures_line, figures_markdown
from tests.e2e.conftest import BotHarness, Group, MeetingDriver
from tests.e2e.test_milestones import run_meeting
from tests.fixtures.meeting import START
from tests.sandbox.models import Message
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

WEEK = timedelta(days=7)
QUESTION = "How was that for you?"


def questions(sandbox: Sandbox, group: Group) -> list[Message]:
    return [m for m in sandbox.dms(group.facilitator) if QUESTION in m.content]


def buttons(message: Message) -> list[dict[str, object]]:
    return [c for row in message.components for c in row["components"]]


async def answer(sandbox: Sandbox, group: Group, harness: BotHarness, label: str) -> None:
    """Click `label` on the newest debrief question as the facilitator, and wait until the bot is done."""
    handle = await sandbox.actors.click(group.facilitator, questions(sandbox, group)[-1], label=label)
    await handle.response()
    await harness.idle()


async def debriefs(harness: BotHarness) -> list[FacilitatorDebrief]:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        return list((await session.scalars(select(FacilitatorDebrief).order_by(FacilitatorDebrief.id))).all())


async def meeting_at(sandbox: Sandbox, group: Group, harness: BotHarness, start: datetime) -> Message:
    await run_meeting(sandbox, group, harness, start)
    question = questions(sandbox, group)[-1]
    assert "Tuesday SMART" in question.content
    assert [b["label"] for b in buttons(question)] == ["Fine", "Tough", "I'd like to talk"]
    return question


async def test_the_three_answers_and_counts_without_identities(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    bot = await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    facilitator = group.facilitator.user.id

    # Tough: a kind reply with a pointer to support, the buttons disabled, and nobody else told anything.
    await meeting_at(sandbox, group, harness, START)
    coordinators_before = len(sandbox.channel_messages(group.coordinators))
    assert len(questions(sandbox, group)) == 1  # asked once, privately (a DM), of the facilitator who ran it
    await answer(sandbox, group, harness, "Tough")
    question = questions(sandbox, group)[-1]
    assert "be kind to yourself" in question.content and "`/crisis`" in question.content
    assert all(b.get("disabled") for b in buttons(question))
    with pytest.raises(AssertionError, match="disabled"):
        await sandbox.actors.click(group.facilitator, question, label="Fine")
    [tough] = await debriefs(harness)
    assert (tough.answer, tough.facilitator_id, tough.month) == ("tough", None, "2026-12")
    assert len(sandbox.channel_messages(group.coordinators)) == coordinators_before

    # I'd like to talk: the coordinators hear privately, naming the facilitator; the facilitator is told so.
    await meeting_at(sandbox, group, harness, START + WEEK)
    await answer(sandbox, group, harness, "I'd like to talk")
    assert "one of them will be in touch" in questions(sandbox, group)[-1].content
    talk = sandbox.last_message(group.coordinators)
    assert f"<@{facilitator}>" in talk.content and "would like a chat" in talk.content
    assert talk.mentions == []  # named, not pinged

    # Fine: thanks, and nothing more.
    await meeting_at(sandbox, group, harness, START + 2 * WEEK)
    told = len(sandbox.channel_messages(group.coordinators))
    await answer(sandbox, group, harness, "Fine")
    assert "Thank you for giving your time" in questions(sandbox, group)[-1].content
    assert len(sandbox.channel_messages(group.coordinators)) == told

    # The fourth meeting in a row run by one facilitator: a kind word to the coordinators to share the load.
    await meeting_at(sandbox, group, harness, START + 3 * WEEK)
    suggestion = sandbox.last_message(group.coordinators)
    assert "gentle suggestion" in suggestion.content and "`/rota generate`" in suggestion.content
    # Unanswered, the fourth forgets whom it was for after a few days; a late click changes nothing.
    assert (await debriefs(harness))[-1].facilitator_id == facilitator
    await harness.advance_to(harness.clock.now() + DEBRIEF_KEPT + timedelta(minutes=1))
    assert (await debriefs(harness))[-1].facilitator_id is None
    late_click = await sandbox.actors.click(group.facilitator, questions(sandbox, group)[-1], label="Tough")
    late = await late_click.response()
    assert late.ephemeral and "expired" in late.content
    rows = await debriefs(harness)
    assert [row.answer for row in rows] == ["tough", "talk", "fine", None]
    assert all(row.facilitator_id is None for row in rows)

    # The office's figures: per group and month, counts only; exact for the check here, protected as published.
    exact = await bot.services.care.debriefs.figures("2026-12", "2026-12", DisclosurePolicy(exact=True))
    assert [(r.guild_id, r.month, r.asked, r.answered, r.tough) for r in exact.rows] == [
        (group.guild.id, "2026-12", 4, 3, 1)
    ]
    protected = await bot.services.care.debriefs.figures("2026-12", "2026-12", DisclosurePolicy())
    assert [(r.asked, r.answered, r.tough) for r in protected.rows] == [(None, None, None)]  # 1 to 7: suppressed
    published = figures_markdown(protected, {group.guild.id: "SMART Online Group"}) + figures_line(protected)
    assert "| SMART Online Group | 2026-12 | * | * | * |" in published and "fewer than 8 tough" in published
    for needle in (str(facilitator), group.facilitator.user.username):
        assert needle not in published
