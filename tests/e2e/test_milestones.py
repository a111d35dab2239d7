"""End to end: a group's milestones are celebrated once each in its meetings channel, and the office hears of them.

Meetings held are counted as each one completes (the first is run through the sandbox; earlier meetings are seeded
as completed rows to reach the 10th, 25th, 50th and 100th); the anniversary and a year without a missed meeting are
found by the hourly check, driven by the injected clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import MeetingOccurrence
from bot.db.models_care import GroupMilestone
from bot.domain.states import OccurrenceState
from cogs.care._commands import DATES_JOB
from tests.e2e.conftest import BotHarness, Group, MeetingDriver
from tests.fixtures.meeting import START
from tests.sandbox.models import Channel
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

WEEK = timedelta(days=7)
CELEBRATION_MARKS = ("🎉", "🌟")


def celebrations(sandbox: Sandbox, group: Group) -> list[str]:
    return [m.content for m in sandbox.channel_messages(group.meetings) if m.content.startswith(CELEBRATION_MARKS)]


def newest_thread(group: Group) -> Channel:
    threads = [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]
    return max(threads, key=lambda thread: thread.id)


async def seed_completed(harness: BotHarness, group: Group, count: int, *, before: datetime, state: str = "") -> None:
    """Record `count` weekly meetings that took place before `before`, as if held long ago."""
    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        for n in range(1, count + 1):
            starts = before - n * WEEK
            session.add(
                MeetingOccurrence(
                    guild_id=group.guild.id,
                    local_start=starts.isoformat()[:19],
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=90),
                    state=state or OccurrenceState.COMPLETED,
                    title="Tuesday SMART",
                    template_slug="standard",
                    location_kind="voice",
                    channel_id=group.voice.id,
                    created_at=starts,
                )
            )


async def run_meeting(sandbox: Sandbox, group: Group, harness: BotHarness, start: datetime) -> None:
    """Open the weekly meeting at `start` and end it from the panel as the facilitator."""
    await harness.advance_to(start)
    panel = next(m for m in sandbox.channel_messages(newest_thread(group)) if "Facilitator panel" in m.content)
    ended = await (await sandbox.actors.click(group.facilitator, panel, label="End meeting")).response()
    assert ended.content == "Meeting ended."
    await harness.idle()


async def dates_check(harness: BotHarness, when: datetime) -> None:
    """Move the clock to `when` and run the hourly check of dated milestones, as the scheduler would."""
    assert harness.scheduler is not None
    harness.clock.set(when)
    _when, job, args = harness.scheduler.jobs[DATES_JOB]
    await job(*args)  # type: ignore[operator]
    await harness.idle()


async def test_meetings_held_milestones_are_celebrated_once_each(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    await run_meeting(sandbox, group, harness, START)
    [first] = celebrations(sandbox, group)
    assert "held its first meeting" in first
    # The counts in between are reached by earlier meetings recorded as held; the next one run is the milestone.
    week = 1
    for seeded, milestone in ((8, 10), (14, 25), (24, 50), (49, 100)):
        await seed_completed(harness, group, seeded, before=START - 200 * WEEK + week * WEEK)
        await run_meeting(sandbox, group, harness, START + week * WEEK)
        week += 1
        assert f"held {milestone} meetings" in celebrations(sandbox, group)[-1]
    await run_meeting(sandbox, group, harness, START + week * WEEK)  # the 101st: nothing to celebrate
    assert len(celebrations(sandbox, group)) == 5

    # A restart, and the hourly check, celebrate nothing again.
    await harness.kill()
    await harness.start()
    await dates_check(harness, harness.clock.now() + timedelta(hours=1))
    texts = celebrations(sandbox, group)
    assert len(texts) == 5 and len(set(texts)) == 5
    assert not any(label in " ".join(texts).lower() for label in ("alcoholic", "addict", "sponsor"))
    shown = await (await sandbox.actors.invoke(group.guild, group.coordinator, "milestones")).response()
    assert shown.ephemeral and "are celebrated in the meetings channel" in shown.content
    for words in ("held its first meeting", "held its 10th meeting", "held its 100th meeting"):
        assert words in shown.content
    refused = await (await sandbox.actors.invoke(group.guild, group.member, "milestones")).response()
    assert refused.ephemeral and "Only members with" in refused.content


async def test_anniversary_and_a_year_without_a_missed_meeting_come_by_the_clock_and_reach_the_digest(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    actors = sandbox.actors
    office = await actors.create_guild("SMART Central Office")
    digest = await actors.create_channel(office, "digest")
    staff_role = await actors.create_role(office, "Central office")
    bot = await meeting.start_bot_and_configure()
    await bot.services.participation.office.configure(office.id, digest.id, staff_role.id)
    # Weekly meetings held since 5 January 2026, one of them (3 March) missed.
    first = datetime(2026, 1, 6, 19, 0, tzinfo=UTC)
    await seed_completed(harness, group, 47, before=first + 47 * WEEK)
    missed = first + 8 * WEEK
    async with bot.database.session() as session:
        row = await session.scalar(select(MeetingOccurrence).where(MeetingOccurrence.starts_at == missed))
        assert row is not None
        row.state = OccurrenceState.MISSED

    await dates_check(harness, first + timedelta(days=364))
    assert celebrations(sandbox, group) == []
    await dates_check(harness, first + timedelta(days=365, hours=1))
    [anniversary] = celebrations(sandbox, group)
    assert "A year ago today this group held its first meeting" in anniversary
    await dates_check(harness, first + timedelta(days=365, hours=2))
    assert len(celebrations(sandbox, group)) == 1
    # A year from the missed meeting, not from the first one.
    await dates_check(harness, missed + timedelta(days=364))
    assert len(celebrations(sandbox, group)) == 1
    await dates_check(harness, missed + timedelta(days=365, hours=1))
    assert "A whole year without missing a meeting" in celebrations(sandbox, group)[-1]
    await dates_check(harness, missed + timedelta(days=366))
    assert len(celebrations(sandbox, group)) == 2
    async with bot.database.session() as session:
        keys = (await session.scalars(select(GroupMilestone.key).order_by(GroupMilestone.id))).all()
    assert keys == ["anniversary:1", "unbroken-year:1"]

    # The office's monthly digest for March 2027 lists the group's milestone of that month by the group's name.
    harness.clock.set(datetime(2027, 4, 2, 9, 0, tzinfo=UTC))
    office_cog = bot.get_cog("Office")
    assert await office_cog.digest_if_due()  # type: ignore[union-attr]
    [sent] = sandbox.channel_messages(digest)
    assert sent.content.startswith("**Monthly digest: March 2027**")
    assert "SMART Online Group went a whole year without missing a meeting. Well done!" in sent.content
    assert "first anniversary" not in sent.content  # January's, not March's
    assert "Facilitator debriefs:" in sent.content


async def test_no_celebration_when_the_coordinators_turn_it_off(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    off = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "milestones", {"celebrate": False})
    ).response()
    assert off.ephemeral and "are not celebrated" in off.content
    await meeting.schedule_weekly()
    await run_meeting(sandbox, group, harness, START)
    await dates_check(harness, START + timedelta(days=365, hours=1))
    assert celebrations(sandbox, group) == []
    # Still recorded (the office hears of it), and never posted late if celebrations come back on.
    shown = await (
        await sandbox.actors.invoke(group.guild, group.coordinator, "milestones", {"celebrate": True})
    ).response()
    assert "held its first meeting" in shown.content
    await dates_check(harness, START + timedelta(days=365, hours=2))
    assert celebrations(sandbox, group) == []
