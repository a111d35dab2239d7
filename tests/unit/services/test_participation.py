"""Counting, finalising, feedback, opt-out and retention on SQLite (and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_participation import (
    FEEDBACK_COLUMNS,
    FeedbackGiven,
    ParticipationLive,
    ParticipationMark,
    ParticipationOccurrence,
    ParticipationOptOut,
)
from bot.domain.meeting_format import load_templates
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.services.participation.feedback import FEEDBACK_QUESTIONS, column_of
from bot.services.participation.service import (
    FEEDBACK_WINDOW,
    ParticipationKeys,
    ParticipationService,
    optout_key_path,
    rekey_state,
)

GUILD = 1
VOICE = 300
THREAD = 301
START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
KEY = bytes(range(32))
OPTOUT_KEY = bytes(range(32, 64))
ALICE, BOB, CAROL = 10**17 + 1, 10**17 + 2, 10**17 + 3


@pytest.fixture
async def service(database, clock):
    clock.set(START)
    async with database.session() as session:
        session.add(GuildConfig(guild_id=GUILD, timezone="Europe/London", created_at=START, updated_at=START))
    return ParticipationService(database, clock, load_templates(), ParticipationKeys(KEY, OPTOUT_KEY))


async def add_meeting(database, starts_at=START, *, state="running", kind="voice", **extra) -> int:
    async with database.session() as session:
        row = MeetingOccurrence(
            guild_id=extra.pop("guild_id", GUILD),
            schedule_id=None,
            local_start=starts_at.isoformat()[:19],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=90),
            state=state,
            title="Tuesday SMART",
            template_slug="standard-90",
            location_kind=kind,
            channel_id=VOICE,
            venue_id=THREAD,
            phase_nudged=False,
            phase_timings='[{"key": "welcome", "started": "2026-12-01T19:00:00+00:00", "ended": null}]',
            started_late=False,
            no_facilitator_alerted=False,
            event_requested=False,
            actual_start=starts_at if state != "scheduled" else None,
            created_at=starts_at,
            **extra,
        )
        session.add(row)
        await session.flush()
        return row.id


async def end_meeting(database, clock, occurrence_id: int, *, facilitator: int | None = 99) -> None:
    async with database.session() as session:
        row = await session.get(MeetingOccurrence, occurrence_id)
        row.state = "completed"
        row.actual_end = clock.now()
        row.facilitator_id = facilitator


async def aggregate(database, occurrence_id: int) -> ParticipationOccurrence:
    async with database.session() as session:
        row = await session.get(ParticipationOccurrence, occurrence_id)
        assert row is not None
        return row


async def count(database, model) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def test_voice_time_counts_from_ten_minutes_summed_over_rejoins(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.voice_changed(GUILD, ALICE, None, VOICE)
    await service.voice_changed(GUILD, BOB, None, VOICE)
    clock.advance(minutes=9)
    await service.voice_changed(GUILD, ALICE, VOICE, None)  # 9 minutes: not yet
    await service.voice_changed(GUILD, BOB, VOICE, None)
    clock.advance(minutes=5)
    await service.voice_changed(GUILD, BOB, None, VOICE)  # rejoins: 9 + 1 = 10
    clock.advance(minutes=1)
    await service.voice_changed(GUILD, BOB, VOICE, 999)  # moves to another channel
    assert (await service.tally(meeting)).attendees == 1
    await end_meeting(database, clock, meeting)
    assert await service.finalise(meeting)
    numbers = await aggregate(database, meeting)
    assert (numbers.attendees, numbers.voice_attendees, numbers.new_attendees) == (1, 1, 1)
    assert await count(database, ParticipationLive) == 0


async def test_someone_still_in_voice_counts_up_to_the_end(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.sync_presence(meeting, [ALICE, BOB])
    clock.advance(minutes=10)
    await service.voice_changed(GUILD, BOB, VOICE, None)
    await end_meeting(database, clock, meeting)
    clock.advance(minutes=30)  # finalised late: time after the end does not count
    await service.finalise(meeting)
    assert (await aggregate(database, meeting)).attendees == 2


async def test_posts_and_checkins_count_once_per_member(service, database, clock) -> None:
    meeting = await add_meeting(database)
    assert await service.message_posted(GUILD, ALICE, THREAD)
    assert await service.message_posted(GUILD, ALICE, VOICE)  # the voice channel's own chat
    assert not await service.message_posted(GUILD, ALICE, 12345)  # elsewhere
    await service.check_in(GUILD, ALICE, meeting)
    await service.check_in(GUILD, ALICE, meeting)
    await service.check_in(GUILD, BOB, meeting)
    await service.voice_changed(GUILD, ALICE, None, VOICE)
    clock.advance(minutes=20)
    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    numbers = await aggregate(database, meeting)
    assert (numbers.attendees, numbers.checkins, numbers.posters, numbers.voice_attendees) == (2, 2, 1, 1)
    assert numbers.outcome == "held" and numbers.facilitators == 1
    assert (numbers.phases_reached, numbers.phases_total) == (1, 6)  # pass the hat is off by default


async def test_events_for_a_meeting_not_running_are_ignored(service, database) -> None:
    meeting = await add_meeting(database, state="scheduled")
    assert await service.voice_changed(GUILD, ALICE, None, VOICE) == 0
    assert not await service.message_posted(GUILD, ALICE, THREAD)
    with pytest.raises(ConflictError):
        await service.check_in(GUILD, ALICE, meeting)
    with pytest.raises(NotFoundError):
        await service.check_in(GUILD + 1, ALICE, meeting)


async def test_text_meeting_ignores_voice(service, database) -> None:
    meeting = await add_meeting(database, kind="text")
    assert await service.voice_changed(GUILD, ALICE, None, VOICE) == 0
    assert not await service.sync_presence(meeting, [ALICE])
    assert not await service.message_posted(GUILD, ALICE, VOICE)
    assert await service.message_posted(GUILD, ALICE, THREAD)


async def test_replayed_events_count_nobody_twice(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.voice_changed(GUILD, ALICE, None, VOICE)
    await service.voice_changed(GUILD, ALICE, None, VOICE)  # a replay after a resume
    clock.advance(minutes=6)
    await service.sync_presence(meeting, [ALICE])  # after a restart: still there
    clock.advance(minutes=6)
    await service.voice_changed(GUILD, ALICE, VOICE, None)
    await service.voice_changed(GUILD, ALICE, VOICE, None)
    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    assert (await aggregate(database, meeting)).attendees == 1


async def test_concurrent_signals_lose_nobody(service, database, clock) -> None:
    meeting = await add_meeting(database)
    users = [ALICE + n * 10 for n in range(12)]
    await asyncio.gather(*(service.check_in(GUILD, user, meeting) for user in users))
    await asyncio.gather(*(service.message_posted(GUILD, user, THREAD) for user in users))
    assert (await service.tally(meeting)).attendees == 12


async def test_new_then_returning_within_a_period_and_new_again_in_the_next(service, database, clock) -> None:
    first = await add_meeting(database)
    await service.check_in(GUILD, ALICE, first)
    await end_meeting(database, clock, first)
    await service.finalise(first)

    second = await add_meeting(database, START + timedelta(days=7))
    clock.set(START + timedelta(days=7))
    await service.check_in(GUILD, ALICE, second)
    await service.check_in(GUILD, BOB, second)
    await end_meeting(database, clock, second)
    await service.finalise(second)
    numbers = await aggregate(database, second)
    assert (numbers.new_attendees, numbers.returning_attendees) == (1, 1)

    # 2027 is another period: another key, so everyone is new again.
    third = await add_meeting(database, datetime(2027, 1, 5, 19, 0, tzinfo=UTC))
    clock.set(datetime(2027, 1, 5, 19, 0, tzinfo=UTC))
    await service.check_in(GUILD, ALICE, third)
    await end_meeting(database, clock, third)
    await service.finalise(third)
    numbers = await aggregate(database, third)
    assert (numbers.period, numbers.new_attendees, numbers.returning_attendees) == ("2027", 1, 0)
    async with database.session() as session:
        marks = (await session.execute(select(ParticipationMark.period, ParticipationMark.pseudonym))).all()
    assert len({pseudonym for _period, pseudonym in marks}) == 3  # Alice in 2026, Bob, Alice in 2027


async def test_a_replaced_key_makes_the_same_member_new(service, database, clock) -> None:
    first = await add_meeting(database)
    await service.check_in(GUILD, ALICE, first)
    await end_meeting(database, clock, first)
    await service.finalise(first)
    rotated = ParticipationService(database, clock, None, ParticipationKeys(bytes(32), OPTOUT_KEY))
    second = await add_meeting(database, START + timedelta(days=7))
    clock.set(START + timedelta(days=7))
    await rotated.check_in(GUILD, ALICE, second)
    await end_meeting(database, clock, second)
    await rotated.finalise(second)
    assert (await aggregate(database, second)).new_attendees == 1


async def test_finalise_is_idempotent_and_waits_for_the_end(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.check_in(GUILD, ALICE, meeting)
    assert not await service.finalise(meeting)  # still running
    await end_meeting(database, clock, meeting)
    assert await service.finalise(meeting)
    assert not await service.finalise(meeting)
    assert await count(database, ParticipationMark) == 1
    assert (await aggregate(database, meeting)).attendees == 1


async def test_opted_out_member_is_counted_unlinked_and_never_marked(service, database, clock) -> None:
    assert await service.set_opt_out(GUILD, ALICE, True)
    assert not await service.set_opt_out(GUILD, ALICE, True)
    assert await service.is_opted_out(GUILD, ALICE)
    assert not await service.is_opted_out(GUILD + 1, ALICE)
    meeting = await add_meeting(database)
    await service.check_in(GUILD, ALICE, meeting)
    await service.check_in(GUILD, BOB, meeting)
    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    numbers = await aggregate(database, meeting)
    assert (numbers.attendees, numbers.new_attendees, numbers.unlinked_attendees) == (2, 1, 1)
    assert await count(database, ParticipationMark) == 1
    assert await service.set_opt_out(GUILD, ALICE, False)
    assert not await service.is_opted_out(GUILD, ALICE)


async def test_opting_out_mid_meeting_switches_the_key_at_once(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.voice_changed(GUILD, ALICE, None, VOICE)
    clock.advance(minutes=5)
    await service.set_opt_out(GUILD, ALICE, True)
    clock.advance(minutes=5)  # 5 + 5 minutes under two keys would count for neither; one key counts 10
    await service.voice_changed(GUILD, ALICE, VOICE, None)
    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    numbers = await aggregate(database, meeting)
    assert (numbers.attendees, numbers.unlinked_attendees, numbers.new_attendees) == (1, 1, 0)
    assert await count(database, ParticipationMark) == 0


def test_rekey_keeps_the_earliest_signal() -> None:
    from bot.domain.attendance import AttendanceTracker, CheckedIn, MessagePosted

    tracker = AttendanceTracker()
    tracker.record(CheckedIn("a" * 64, START + timedelta(minutes=5)))
    tracker.record(CheckedIn("u-b", START + timedelta(minutes=1)))
    tracker.record(MessagePosted("a" * 64, START))
    moved = AttendanceTracker.from_json(rekey_state(tracker.to_json(), "a" * 64, "u-b"))
    assert moved.checked_in == {"u-b"} and moved.posted == {"u-b"}
    assert moved.counted(START) == {"u-b"}
    with pytest.raises(ValueError, match="version"):
        rekey_state('{"version": 99}', "a", "b")


async def test_feedback_counts_answers_once_per_member(service, database, clock) -> None:
    meeting = await add_meeting(database)
    answers = {"helpful": "4", "plan": "yes", "heard": "health", "again": "maybe"}
    await service.check_in(GUILD, ALICE, meeting)  # counted as new, so she is asked how she heard of SMART
    await service.feedback.check_open(GUILD, ALICE, meeting)
    await service.feedback.submit(GUILD, ALICE, meeting, answers)
    with pytest.raises(ConflictError, match="already"):
        await service.feedback.check_open(GUILD, ALICE, meeting)
    with pytest.raises(ConflictError, match="already"):
        await service.feedback.submit(GUILD, ALICE, meeting, answers)
    await service.feedback.submit(GUILD, BOB, meeting, {"helpful": "5", "plan": None, "heard": "", "again": "yes"})
    with pytest.raises(InvalidInputError, match="didn't choose"):
        await service.feedback.submit(GUILD, CAROL, meeting, {"helpful": None})
    with pytest.raises(InvalidInputError):
        await service.feedback.submit(GUILD, CAROL, meeting, {"helpful": "6"})
    with pytest.raises(InvalidInputError):
        await service.feedback.submit(GUILD, CAROL, meeting, {"name": "x"})

    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    clock.advance(minutes=30)  # after the end, within the window
    await service.feedback.submit(GUILD, CAROL, meeting, {"helpful": "4"})
    numbers = await aggregate(database, meeting)
    assert numbers.feedback_answers == 3
    assert (numbers.fb_helpful_4, numbers.fb_helpful_5, numbers.fb_plan_yes, numbers.fb_heard_health) == (2, 1, 1, 1)
    assert (numbers.fb_again_maybe, numbers.fb_again_yes, numbers.fb_again_no) == (1, 1, 0)
    assert numbers.feedback_until == START + FEEDBACK_WINDOW

    assert await service.feedback.next_close() == START + FEEDBACK_WINDOW
    clock.set(START + FEEDBACK_WINDOW)
    with pytest.raises(ConflictError, match="closed"):
        await service.feedback.submit(GUILD, ALICE + 99, meeting, answers)
    assert await service.feedback.close() == 3
    assert await count(database, FeedbackGiven) == 0
    assert await service.feedback.next_close() is None


async def test_feedback_tokens_are_unlinkable_to_pseudonyms(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.check_in(GUILD, ALICE, meeting)
    await service.feedback.submit(GUILD, ALICE, meeting, {"helpful": "3"})
    async with database.session() as session:
        token = await session.scalar(select(FeedbackGiven.token))
        live = await session.get(ParticipationLive, meeting)
    assert token is not None and token[2:] not in live.state
    assert service.keys.attendance.pseudonym(GUILD, ALICE, "2026") in live.state


async def test_no_feedback_for_a_meeting_that_did_not_happen(service, database, clock) -> None:
    meeting = await add_meeting(database, state="cancelled", reason="Facilitator unwell")
    with pytest.raises(ConflictError, match="didn't take place"):
        await service.feedback.submit(GUILD, ALICE, meeting, {"helpful": "3"})


async def test_reconcile_records_missed_and_cancelled_meetings_without_their_reasons(service, database, clock) -> None:
    cancelled = await add_meeting(database, state="cancelled", reason="Fran is unwell")
    missed = await add_meeting(database, START + timedelta(days=1), state="missed", reason="bot down")
    unstaffed = await add_meeting(database, START + timedelta(days=2), state="running")
    future = await add_meeting(database, START + timedelta(days=30), state="cancelled", reason="holiday")
    await end_meeting(database, clock, unstaffed, facilitator=None)
    clock.set(START + timedelta(days=3))
    assert await service.reconcile() == 3
    assert await service.reconcile() == 0
    outcomes = {
        occurrence: ((row := await aggregate(database, occurrence)).outcome, row.missed_reason)
        for occurrence in (cancelled, missed, unstaffed)
    }
    assert outcomes == {
        cancelled: ("missed", "cancelled"),
        missed: ("missed", "bot down"),
        unstaffed: ("missed", "no facilitator"),
    }
    async with database.session() as session:
        assert await session.get(ParticipationOccurrence, future) is None
        reasons = set((await session.scalars(select(ParticipationOccurrence.missed_reason))).all())
    assert "Fran is unwell" not in reasons


async def test_reconcile_for_a_range_finalises_only_the_meetings_that_may_fall_in_it(service, database, clock) -> None:
    # The group's zone is London (UTC in December): a day's margin either side of 2 to 3 December.
    too_early = await add_meeting(database, START - timedelta(days=1, hours=1), state="cancelled")  # 30 Nov 18:00
    margin_before = await add_meeting(database, START - timedelta(hours=1), state="cancelled")  # 1 Dec
    inside = await add_meeting(database, START + timedelta(days=1), state="missed", reason="bot down")  # 2 Dec
    margin_after = await add_meeting(database, START + timedelta(days=3), state="cancelled")  # 4 Dec
    too_late = await add_meeting(database, START + timedelta(days=4), state="cancelled")  # 5 Dec
    clock.set(START + timedelta(days=10))
    assert await service.reconcile(date(2026, 12, 2), date(2026, 12, 3)) == 3
    async with database.session() as session:
        done = {
            occurrence
            for occurrence in (too_early, margin_before, inside, margin_after, too_late)
            if await session.get(ParticipationOccurrence, occurrence) is not None
        }
    assert done == {margin_before, inside, margin_after}
    assert await service.reconcile() == 2  # without a range: everything still waiting


async def test_marks_are_purged_after_the_retention_period(service, database, clock) -> None:
    meeting = await add_meeting(database)
    await service.check_in(GUILD, ALICE, meeting)
    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    other = await add_meeting(database, guild_id=2)
    await service.check_in(2, ALICE, other)
    await end_meeting(database, clock, other)
    await service.finalise(other)
    await service.update_settings(2, retention_months=14)

    clock.set(START + timedelta(days=13 * 31))
    assert await service.purge_marks() == 1  # guild 1 at 13 months; guild 2 keeps 14
    assert (await aggregate(database, meeting)).attendees == 1  # the numbers stay
    clock.set(START + timedelta(days=14 * 31))
    await service.housekeeping()
    assert await count(database, ParticipationMark) == 0


async def test_settings_are_validated(service) -> None:
    assert (await service.settings(GUILD)).min_voice_minutes == 10
    changed = await service.update_settings(GUILD, min_voice_minutes=5, period_months=6)
    assert (changed.min_voice_minutes, changed.period_months, changed.retention_months) == (5, 6, 13)
    for bad in ({"min_voice_minutes": 0}, {"period_months": 5}, {"retention_months": 6}, {"period_anchor_month": 13}):
        with pytest.raises(InvalidInputError):
            await service.update_settings(GUILD, **bad)
    with pytest.raises(InvalidInputError):
        await service.update_settings(GUILD, colour=3)
    assert (await service.settings(GUILD)).min_voice_minutes == 5


async def test_group_voice_threshold_and_half_year_periods(service, database, clock) -> None:
    await service.update_settings(GUILD, min_voice_minutes=5, period_months=6)
    meeting = await add_meeting(database)
    await service.voice_changed(GUILD, ALICE, None, VOICE)
    clock.advance(minutes=5)
    await end_meeting(database, clock, meeting)
    await service.finalise(meeting)
    numbers = await aggregate(database, meeting)
    assert (numbers.attendees, numbers.period, numbers.local_week, numbers.local_month) == (
        1,
        "2026-H2",
        "2026-W49",
        "2026-12",
    )


def test_questions_match_the_counter_columns() -> None:
    columns = tuple(column_of(q.key, value) for q in FEEDBACK_QUESTIONS for value, _label in q.options)
    assert columns == FEEDBACK_COLUMNS
    for question in FEEDBACK_QUESTIONS:
        assert len(question.label) <= 45 and len(question.placeholder) <= 150
        assert all(len(label) <= 100 for _value, label in question.options)


def test_keys_are_created_with_owner_only_access_and_never_shown(tmp_path) -> None:
    keys = ParticipationKeys.from_file(tmp_path / "pseudonym.key")
    assert optout_key_path(tmp_path / "pseudonym.key") == tmp_path / "pseudonym.optout.key"
    for path in (tmp_path / "pseudonym.key", tmp_path / "pseudonym.optout.key"):
        assert path.stat().st_mode & 0o777 == 0o600
    assert "redacted" in repr(keys)
    assert keys.optout_hash(GUILD, ALICE) != keys.attendance.pseudonym(GUILD, ALICE, "2026")
    again = ParticipationKeys.from_file(tmp_path / "pseudonym.key")
    assert again.optout_hash(GUILD, ALICE) == keys.optout_hash(GUILD, ALICE)


async def test_counting_refuses_to_run_without_a_key(database, clock) -> None:
    service = ParticipationService(database, clock)
    meeting = await add_meeting(database)
    with pytest.raises(RuntimeError, match="key"):
        await service.check_in(GUILD, ALICE, meeting)
    async with database.session() as session:
        assert (await session.scalars(select(ParticipationOptOut))).all() == []
