"""End to end (issue 12): the referral question for newcomers only, feedback after an early end, "not counted at all"
in `/privacy`, and groups named in reports by their server's name or their coordinators' label."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import MeetingOccurrence
from bot.db.models_participation import ParticipationMark, ParticipationSettings
from bot.services.participation.export import ExportRequest
from bot.services.participation.report import build_report
from tests.e2e.conftest import BotHarness, Group
from tests.e2e.test_participation import START, at, message_with, numbers, settle, start_meeting
from tests.sandbox.handles import InteractionHandle
from tests.sandbox.models import Channel, Member
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

FEEDBACK = "How was today? (anonymous)"
HEARD = "How did you first hear about SMART?"
HELPFUL = "How helpful was today's meeting?"
ENDED = "This meeting has ended"


def form_labels(opened: InteractionHandle) -> list[str]:
    """Return the questions of the feedback form the bot opened."""
    assert opened.modal is not None
    return [str(component.get("label")) for component in opened.modal.get("components") or []]


def newest_thread(group: Group) -> Channel:
    threads = [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]
    return max(threads, key=lambda thread: thread.id)


async def check_in(sandbox: Sandbox, thread: Channel, *members: Member) -> None:
    welcome = message_with(sandbox, thread, "I'm here")
    for member in members:
        await (await sandbox.actors.click(member, welcome, label="I'm here")).response()


async def end_early(sandbox: Sandbox, group: Group, harness: BotHarness, thread: Channel) -> None:
    """End the meeting from the facilitator's panel, long before its closing phase."""
    panel = next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)
    ended = await (await sandbox.actors.click(group.facilitator, panel, label="End meeting")).response()
    assert ended.content == "Meeting ended."
    await settle(harness)


async def open_form(sandbox: Sandbox, member: Member, thread: Channel) -> InteractionHandle:
    """Press the feedback button on the "this meeting has ended" message."""
    ended = message_with(sandbox, thread, FEEDBACK)
    assert ENDED in ended.content
    opened = await sandbox.actors.click(member, ended, label=FEEDBACK)
    await opened.response()
    return opened


async def occurrence_at(harness: BotHarness, days: int) -> int:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        found = await session.scalar(
            select(MeetingOccurrence.id).where(MeetingOccurrence.starts_at == START + timedelta(days=days))
        )
    assert found is not None
    return found


async def test_a_meeting_ended_early_still_collects_feedback(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    await sandbox.actors.post(group.member, thread, "hello")
    await at(harness, 10)
    await end_early(sandbox, group, harness, thread)
    # The closing phase (with its button) was never reached: the ended message carries the button.
    opened = await open_form(sandbox, group.member, thread)
    thanks = await (await sandbox.actors.submit_modal(opened, {HELPFUL: "4"})).response()
    assert "anonymous totals" in thanks.content
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.feedback_answers, result.fb_helpful_4) == (1, 1, 1)


async def test_only_newcomers_are_asked_how_they_heard_and_only_once(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    actors = sandbox.actors
    first, thread = await start_meeting(sandbox, group, harness)
    await check_in(sandbox, thread, group.member)
    await at(harness, 10)
    await end_early(sandbox, group, harness, thread)
    opened = await open_form(sandbox, group.member, thread)
    assert HEARD in form_labels(opened)  # max is new this period
    await (await actors.submit_modal(opened, {HELPFUL: "5", HEARD: "friend"})).response()
    again = await actors.click(group.member, message_with(sandbox, thread, FEEDBACK), label=FEEDBACK)
    assert "already answered" in (await again.response()).content

    await harness.advance_to(START + timedelta(days=7))
    await settle(harness)
    thread = newest_thread(group)
    await check_in(sandbox, thread, group.member, group.newcomer)
    harness.clock.set(START + timedelta(days=7, minutes=10))
    await end_early(sandbox, group, harness, thread)
    returning = await open_form(sandbox, group.member, thread)
    assert HELPFUL in form_labels(returning) and HEARD not in form_labels(returning)  # answered last week
    with pytest.raises(AssertionError, match="has no field"):
        await actors.submit_modal(returning, {HEARD: "web"})
    await (await actors.submit_modal(returning, {HELPFUL: "4"})).response()
    newcomer = await open_form(sandbox, group.newcomer, thread)
    assert HEARD in form_labels(newcomer)
    await (await actors.submit_modal(newcomer, {HEARD: "web"})).response()

    week_one, week_two = await numbers(harness, first), await numbers(harness, await occurrence_at(harness, 7))
    assert (week_one.fb_heard_friend, week_one.new_attendees) == (1, 1)
    assert (week_two.feedback_answers, week_two.fb_heard_web, week_two.fb_heard_friend) == (2, 1, 0)
    assert (week_two.new_attendees, week_two.returning_attendees) == (1, 1)


async def test_privacy_offers_not_being_counted_at_all_and_shows_the_choice(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    actors = sandbox.actors
    occurrence_id, thread = await start_meeting(sandbox, group, harness)
    status = await (await actors.invoke(group.guild, group.member, "privacy status")).response()
    assert status.ephemeral and "counted normally" in status.content
    await check_in(sandbox, thread, group.member)  # counted, then changes their mind mid-meeting
    out = await (await actors.invoke(group.guild, group.member, "privacy opt-out", {"choice": "uncounted"})).response()
    assert out.ephemeral and "no longer counted" in out.content
    status = await (await actors.invoke(group.guild, group.member, "privacy status")).response()
    assert "not to be counted at all" in status.content
    about = await (await actors.invoke(group.guild, group.member, "privacy about")).response()
    assert "not to be counted at all" in about.content
    welcome = message_with(sandbox, thread, "I'm here")
    again = await (await actors.click(group.member, welcome, label="I'm here")).response()
    assert again.ephemeral and "nothing was recorded" in again.content
    await actors.post(group.member, thread, "hello")
    await actors.voice_join(group.member, group.voice)
    await check_in(sandbox, thread, group.newcomer)
    await actors.invoke(group.guild, group.newcomer, "privacy opt-out")  # the other choice: counted, unlinked
    await at(harness, 20)
    await end_early(sandbox, group, harness, thread)
    result = await numbers(harness, occurrence_id)
    assert (result.attendees, result.unlinked_attendees, result.checkins, result.posters) == (1, 1, 1, 0)
    assert result.voice_attendees == 0
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        assert (await session.scalars(select(ParticipationMark))).all() == []
    status = await (await actors.invoke(group.guild, group.newcomer, "privacy status")).response()
    assert "opted out of linking" in status.content


async def test_reports_name_the_group_by_its_server_then_by_its_label(
    sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path: Path
) -> None:
    _occurrence, thread = await start_meeting(sandbox, group, harness)
    await at(harness, 10)
    await end_early(sandbox, group, harness, thread)
    assert harness.bot is not None
    database = harness.bot.database
    async with database.session() as session:
        row = await session.get(ParticipationSettings, group.guild.id)
        assert row is not None and row.guild_name == "SMART Online Group"  # from GUILD_CREATE, no privileged intent
    request = ExportRequest(date(2026, 11, 1), date(2026, 12, 31))
    summary = (await build_report(database, request, tmp_path / "a", harness.clock.now())).summary.read_text()
    assert "| SMART Online Group | 1 | 1 |" in summary and str(group.guild.id) not in summary

    label = {"label": "Leeds Tuesday SMART"}
    refused = await (await sandbox.actors.invoke(group.guild, group.member, "participation settings", label)).response()
    assert "Only members with" in refused.content
    saved = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "participation settings", label)
    ).response()
    assert "Saved." in saved.content and "Leeds Tuesday SMART" in saved.content
    summary = (await build_report(database, request, tmp_path / "b", harness.clock.now())).summary.read_text()
    assert "| Leeds Tuesday SMART | 1 | 1 |" in summary and "SMART Online Group" not in summary
    back = {"label": "-"}
    shown = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "participation settings", back)
    ).response()
    assert "SMART Online Group" in shown.content
