"""A slow or locked SQLite: another connection holds the write lock while the bot works.

The bot waits for the lock (busy_timeout) and carries on; past the timeout a command fails with an apology and an
error id, a timer step is retried a second later, and nothing is ever half written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bot.db import engine
from bot.db.models import MeetingOccurrence, MeetingReminder, MeetingSchedule, Outbox
from bot.db.urls import sqlite_path_of
from cogs import _replies
from tests.e2e.test_meetings import START, schedule_tuesday
from tests.e2e.test_rota import duty_holders, rota_group
from tests.faults.test_open_forms import FEEDBACK, with_button
from tests.fixtures.bot import BotHarness, Group, configure
from tests.fixtures.meeting import MeetingDriver
from tests.sandbox.handles import DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, InteractionHandle
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

SHORT_BUSY_TIMEOUT_MS = 200
TABLES = (MeetingSchedule, MeetingOccurrence, MeetingReminder, Outbox)
SCHEDULE = {"title": "Thursday SMART", "time": "18:30", "weekday": 3}


@contextlib.contextmanager
def write_lock(harness: BotHarness) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock from another connection (as another process would) until the block ends."""
    path = sqlite_path_of(harness.database_url)
    assert isinstance(path, Path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


async def row_counts(harness: BotHarness) -> dict[str, int]:
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        return {
            table.__tablename__: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in TABLES
        }


@contextlib.contextmanager
def first_write(harness: BotHarness) -> Iterator[asyncio.Event]:
    """Yield an event set once the bot sends its first write statement to SQLite, where it meets any lock."""
    assert harness.bot is not None
    engine, sent = harness.bot.database.engine.sync_engine, asyncio.Event()

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            sent.set()

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the bot give up waiting for the lock after 200 ms instead of 5 s (set before it connects)."""
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)


async def held_until_answered(handle: InteractionHandle) -> None:
    """Keep the lock until Discord has the bot's first answer or shows the interaction failed (past its deadline).

    The handler cannot finish while the lock is held, so an answer in time can only be the bot's deferral.
    """
    await handle.sb.interactions.wait_answered(handle.interaction, handle.sb.interaction_deadline + 5)


async def test_a_write_lock_held_for_a_moment_is_waited_for_and_the_command_succeeds(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    with write_lock(harness), first_write(harness) as writing:
        handle = await sandbox.actors.invoke(
            group.guild, group.facilitator, "meeting schedule", {**SCHEDULE, "channel": group.voice}
        )
        await writing.wait()  # the bot's write has met the lock; without a busy timeout SQLite refuses it at once
        assert not handle.responded  # the bot is waiting for the lock, not failing
    answer = await handle.response()
    assert answer.ephemeral and answer.content.startswith("Scheduled"), answer.content
    assert (await row_counts(harness))["meeting_schedule"] == 1


async def test_a_write_lock_held_past_the_busy_timeout_fails_the_command_with_an_error_id_and_writes_nothing(
    sandbox: Sandbox, group: Group, harness: BotHarness, short_busy_timeout: None, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.start()
    await configure(sandbox, group)
    before = await row_counts(harness)
    with write_lock(harness), caplog.at_level(logging.ERROR, logger="cogs._errors"):
        refused = await (
            await sandbox.actors.invoke(
                group.guild, group.facilitator, "meeting schedule", {**SCHEDULE, "channel": group.voice}
            )
        ).response()
        listing = await (await sandbox.actors.invoke(group.guild, group.member, "meeting list")).response()
        assert await row_counts(harness) == before
    assert refused.ephemeral and "Sorry, something went wrong" in refused.content
    error_id = re.search(r"error id `([0-9a-f]{8})`", refused.content)
    assert error_id is not None, refused.content
    assert [r.error_id for r in caplog.records if r.name == "cogs._errors"] == [error_id[1]]  # type: ignore[attr-defined]
    assert "database is locked" not in refused.content  # no exception text reaches the member
    assert listing.content == "No meetings are scheduled yet."  # readers are never blocked (WAL)
    # The lock is gone: the same command now works.
    again = await (
        await sandbox.actors.invoke(
            group.guild, group.facilitator, "meeting schedule", {**SCHEDULE, "channel": group.voice}
        )
    ).response()
    assert again.content.startswith("Scheduled"), again.content


async def test_a_locked_database_at_a_meeting_start_opens_it_once_a_second_after_the_lock_is_gone(
    sandbox: Sandbox, group: Group, harness: BotHarness, short_busy_timeout: None
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START - timedelta(minutes=1))
    before = await row_counts(harness)
    with write_lock(harness):
        await harness.advance_to(START)
        assert await row_counts(harness) == before
        assert not [c for c in group.guild.channels.values() if c.is_thread]
    await harness.advance_to(START + timedelta(seconds=1))
    threads = [c for c in group.guild.channels.values() if c.is_thread]
    assert len(threads) == 1
    opening = [m.content for m in sandbox.channel_messages(threads[0])]
    assert len(opening) == len(set(opening)) == 4, opening
    assert "late start" not in opening[0]
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        row = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.starts_at == START))
    assert row is not None and row.state == "running" and not row.started_late


async def test_a_lock_outlasting_discords_answer_deadline_still_gets_the_member_an_answer(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.start()
    await configure(sandbox, group)
    sandbox.interaction_deadline = 0.3  # Discord's 3 s, scaled down with the lock so the test stays quick
    monkeypatch.setattr(_replies, "AUTO_DEFER_AFTER", 0.1)  # the bot's 2 s, scaled with room for a loaded machine
    with write_lock(harness):
        handle = await sandbox.actors.invoke(
            group.guild, group.facilitator, "meeting schedule", {**SCHEDULE, "channel": group.voice}
        )
        await held_until_answered(handle)
    await harness.idle()
    saved = (await row_counts(harness))["meeting_schedule"]
    assert not handle.failed, f"Discord showed 'This interaction failed'; schedules saved: {saved}"
    assert (await handle.response()).type == DEFERRED_CHANNEL_MESSAGE
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content.startswith("Scheduled"), answer.content  # as private as ever
    assert saved == 1


async def test_a_panel_click_during_a_long_lock_is_answered_in_time_and_privately(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    await meeting.open_meeting()
    panel = meeting.panel()
    harness.clock.set(START + timedelta(minutes=1))
    sandbox.interaction_deadline = 0.3
    monkeypatch.setattr(_replies, "AUTO_DEFER_AFTER", 0.1)
    with write_lock(harness):
        handle = await sandbox.actors.click(group.facilitator, panel, label="Next phase")
        await held_until_answered(handle)
    await harness.idle()
    assert not handle.failed, "Discord showed 'This interaction failed' for a panel click"
    assert (await handle.response()).type == DEFERRED_UPDATE_MESSAGE  # silent: the panel itself is not touched
    [answer] = await handle.wait_followups()
    assert answer.ephemeral and answer.content == "Moved to the next phase.", answer.content


async def test_a_rota_confirmation_during_a_long_lock_still_updates_the_dm(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await rota_group(sandbox, group, harness)
    lead, _co, _free = duty_holders(sandbox, group, people)
    await harness.advance_to(START - timedelta(hours=72))
    request = sandbox.dms(lead)[-1]
    assert "Can you make it?" in request.content
    sandbox.interaction_deadline = 0.3
    monkeypatch.setattr(_replies, "AUTO_DEFER_AFTER", 0.1)
    with write_lock(harness):
        handle = await sandbox.actors.click(lead, request, label="Confirm")
        await held_until_answered(handle)
    await harness.idle()
    assert not handle.failed, "Discord showed 'This interaction failed' for a rota confirmation"
    assert (await handle.response()).type == DEFERRED_UPDATE_MESSAGE
    shown = next(m for m in sandbox.dms(lead) if m.id == request.id)
    # The edit follows the deferral once the lock is gone.
    await sandbox.wait_until(lambda: shown.content.startswith("Thank you"), what="the confirmation's edit")
    assert shown.content.startswith("Thank you: you're confirmed"), shown.content
    assert not shown.components  # the buttons are gone, as when answered at once


async def test_a_feedback_form_submitted_during_a_long_lock_is_answered_in_time_and_privately(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    await meeting.open_meeting()
    await meeting.click_through_phases("Closing", minutes_each=5)  # where the feedback button is
    opened = await sandbox.actors.click(group.member, with_button(sandbox, group, FEEDBACK), label=FEEDBACK)
    await opened.response()
    sandbox.interaction_deadline = 0.3
    monkeypatch.setattr(_replies, "AUTO_DEFER_AFTER", 0.1)
    with write_lock(harness):
        sent = await sandbox.actors.submit_modal(opened, {"How helpful was today's meeting?": "5"})
        await held_until_answered(sent)
    await harness.idle()
    assert not sent.failed, "Discord showed 'This interaction failed' for a feedback form"
    assert (await sent.response()).type == DEFERRED_UPDATE_MESSAGE  # a form opened from a button defers silently
    [answer] = await sent.wait_followups()
    assert answer.ephemeral and "anonymous totals" in answer.content, answer.content
