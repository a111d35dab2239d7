"""What a member has open in Discord when the bot restarts still works after it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.test_meetings import START, schedule_tuesday
from tests.faults.killswitch import crash
from tests.fixtures.bot import BotHarness, Group, configure
from tests.sandbox.handles import MODAL
from tests.sandbox.models import Message
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

FEEDBACK = "How was today? (anonymous)"


def with_button(sandbox: Sandbox, group: Group, label: str) -> Message:
    thread = next(c for c in group.guild.channels.values() if c.is_thread)
    return next(
        m
        for m in reversed(sandbox.channel_messages(thread))
        if any(b.get("label") == label for row in m.components for b in row.get("components", []))
    )


async def test_a_feedback_form_opened_before_a_restart_is_accepted_after_it(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START)
    for minute in range(5, 35, 5):  # on to the closing, where the feedback button is
        harness.clock.set(START + timedelta(minutes=minute))
        panel = with_button(sandbox, group, "Next phase")
        await (await sandbox.actors.click(group.facilitator, panel, label="Next phase")).response()
        await harness.idle()
    opened = await sandbox.actors.click(group.member, with_button(sandbox, group, FEEDBACK), label=FEEDBACK)
    assert (await opened.response()).type == MODAL
    await crash(harness)  # while the member fills the form in
    await harness.start()
    sent = await sandbox.actors.submit_modal(opened, {"How helpful was today's meeting?": "5"})
    answer = await sent.response()
    assert answer.ephemeral and "anonymous totals" in answer.content


async def test_two_members_with_the_same_meetings_form_open_are_both_answered(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    # Both forms share the custom_id fb:form:<meeting>: one in-memory form per custom_id would answer only the first.
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START)
    for minute in range(5, 35, 5):
        harness.clock.set(START + timedelta(minutes=minute))
        panel = with_button(sandbox, group, "Next phase")
        await (await sandbox.actors.click(group.facilitator, panel, label="Next phase")).response()
        await harness.idle()
    closing = with_button(sandbox, group, FEEDBACK)
    first = await sandbox.actors.click(group.member, closing, label=FEEDBACK)
    second = await sandbox.actors.click(group.newcomer, closing, label=FEEDBACK)
    assert (await first.response()).type == MODAL and (await second.response()).type == MODAL
    for opened in (first, second):
        answer = await (await sandbox.actors.submit_modal(opened, {"Will you come again?": "yes"})).response()
        assert answer.ephemeral and "anonymous totals" in answer.content
    again = await (await sandbox.actors.submit_modal(first, {"Will you come again?": "no"})).response()
    assert again.ephemeral and "already answered" in again.content
    empty = await (await sandbox.actors.submit_modal(second, {})).response()
    assert empty.ephemeral and "didn't choose any answer" in empty.content
