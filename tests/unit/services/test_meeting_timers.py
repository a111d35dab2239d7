"""The runner's phase timers: only meetings with a timer due are read, and the next wake-up is found exactly."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence, MeetingReminder, Outbox
from bot.domain.meeting_format import MeetingTemplate, load_templates
from bot.domain.meeting_run import RunState
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.common import NO_FACILITATOR_ALERT, OVERRUN_LIMIT
from bot.services.meetings.runner import MeetingRunner
from bot.services.scope import in_scope
from tests.fixtures.db import FakeClock, statements

NOW = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
TEMPLATES = load_templates()


def with_long_leads() -> dict[str, MeetingTemplate]:
    """Return the bundled templates plus one whose nudges come 10 minutes (or never) before the deadline."""
    base = TEMPLATES["discussion-60"]
    leads = [10, 0, 5, 10, 1, 0, 10]
    phases = [
        phase.model_copy(update={"nudge_minutes_before": lead, "auto_advance": index % 2 == 0})
        for index, (phase, lead) in enumerate(zip(base.phases, leads, strict=True))
    ]
    return {**TEMPLATES, "long-leads": base.model_copy(update={"slug": "long-leads", "phases": phases})}


def occurrence(guild_id: int, **fields: Any) -> MeetingOccurrence:
    """Return a meeting row with plain defaults (running, standard format, deadline far away)."""
    values: dict[str, Any] = {
        "guild_id": guild_id,
        "schedule_id": None,
        "local_start": NOW.isoformat()[:19],
        "starts_at": NOW - timedelta(minutes=10),
        "ends_at": NOW + timedelta(minutes=80),
        "state": "running",
        "title": "SMART",
        "template_slug": "standard-90",
        "location_kind": "text",
        "channel_id": 300,
        "facilitator_id": 9,
        "phase_index": 1,
        "phase_deadline": NOW + timedelta(minutes=10),
        "phase_paused_seconds": None,
        "phase_nudged": False,
        # The current phase's timing (moving on closes it).
        "phase_timings": json.dumps([{"key": "current", "started": (NOW - timedelta(minutes=5)).isoformat()}]),
        "started_late": False,
        "no_facilitator_alerted": True,
        "event_requested": False,
        "created_at": NOW - timedelta(days=1),
    }
    values.update(fields)
    if values["state"] == "running":
        values.setdefault("actual_start", values["starts_at"])
    return MeetingOccurrence(**values)


async def add(database: Database, *rows: MeetingOccurrence | MeetingReminder) -> list[int]:
    async with database.session() as session:
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def old_next_due(runner: MeetingRunner) -> datetime | None:
    """Return `next_due` as the runner computed it before it learnt to stop early (every running meeting read)."""
    async with runner._db.session() as session:
        unstaffed = await session.scalar(
            select(func.min(MeetingOccurrence.starts_at)).where(
                MeetingOccurrence.state == "scheduled",
                MeetingOccurrence.facilitator_id.is_(None),
                MeetingOccurrence.no_facilitator_alerted.is_(False),
                in_scope(MeetingOccurrence.guild_id, runner.scope),
            )
        )
        candidates: list[datetime | None] = [
            await session.scalar(
                select(func.min(MeetingReminder.due_at)).where(
                    MeetingReminder.sent_at.is_(None), in_scope(MeetingReminder.guild_id, runner.scope)
                )
            ),
            await session.scalar(
                select(func.min(MeetingOccurrence.starts_at)).where(
                    MeetingOccurrence.state == "scheduled", in_scope(MeetingOccurrence.guild_id, runner.scope)
                )
            ),
            unstaffed - NO_FACILITATOR_ALERT if unstaffed else None,
        ]
        running = (
            await session.scalars(
                select(MeetingOccurrence).where(
                    MeetingOccurrence.state == "running", in_scope(MeetingOccurrence.guild_id, runner.scope)
                )
            )
        ).all()
        for row in running:
            state = runner._state_of(row, await session.get(GuildConfig, row.guild_id))
            auto_deadline = state.deadline if state.phase.auto_advance else None
            candidates += [state.nudge_at(), auto_deadline, row.ends_at + OVERRUN_LIMIT]
    due = [when for when in candidates if when is not None]
    return min(due) if due else None


def spy_on_reads(runner: MeetingRunner, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the id of every meeting whose run state the runner works out."""
    seen: list[int] = []
    original = runner._state_of

    def state_of(row: MeetingOccurrence, config: GuildConfig | None) -> RunState:
        seen.append(row.id)
        return original(row, config)

    monkeypatch.setattr(runner, "_state_of", state_of)
    return seen


async def configure_guilds(database: Database, clock: FakeClock) -> None:
    config = GuildConfigService(database, clock)
    # Guild 1 passes the hat, guild 2 doesn't (fewer phases: the index of each phase differs).
    await config.update(1, timezone="Europe/London", facilitators_channel_id=102, pass_the_hat_enabled=True)
    await config.update(2, timezone="Europe/London")
    # Guild 3 has no settings at all: its meetings run with the defaults (no pass the hat).


async def test_run_timers_reads_only_meetings_with_a_timer_due(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.set(NOW)
    await configure_guilds(database, clock)
    runner = MeetingRunner(database, clock, with_long_leads())
    quiet = await add(
        database,
        *[occurrence(1 + n % 3, phase_deadline=NOW + timedelta(minutes=11 + n)) for n in range(12)],
        occurrence(1, phase_deadline=None, phase_paused_seconds=300),  # paused: only the overrun limit applies
        occurrence(2, template_slug="long-leads", phase_index=3, phase_deadline=NOW + timedelta(minutes=11)),
    )
    nudge, long_nudge, advance, overrun = await add(
        database,
        occurrence(1, phase_deadline=NOW + timedelta(minutes=2)),  # standard: nudged 3 minutes before
        occurrence(3, template_slug="long-leads", phase_index=0, phase_deadline=NOW + timedelta(minutes=9)),
        occurrence(2, template_slug="long-leads", phase_index=2, phase_deadline=NOW - timedelta(seconds=1)),
        occurrence(1, phase_deadline=None, phase_paused_seconds=60, ends_at=NOW - OVERRUN_LIMIT),
    )
    seen = spy_on_reads(runner, monkeypatch)

    await runner._run_timers(NOW)

    assert sorted(seen) == sorted([nudge, long_nudge, advance, overrun])
    async with database.session() as session:
        # Nudges name their meeting; the overrun meeting's debrief to its facilitator deliberately names none.
        dms = (
            await session.scalars(
                select(Outbox.occurrence_id).where(Outbox.kind == "dm", Outbox.occurrence_id.is_not(None))
            )
        ).all()
        states = dict((await session.execute(select(MeetingOccurrence.id, MeetingOccurrence.state))).all())
        phases = dict((await session.execute(select(MeetingOccurrence.id, MeetingOccurrence.phase_index))).all())
    assert set(dms) == {nudge, long_nudge} and len(dms) == 2
    assert states[overrun] == "completed" and phases[advance] == 3
    assert all(states[occurrence_id] == "running" for occurrence_id in quiet)


async def test_run_timers_with_nothing_due_reads_no_meeting(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.set(NOW)
    runner = MeetingRunner(database, clock, TEMPLATES)
    await add(database, *[occurrence(1, phase_deadline=NOW + timedelta(minutes=5 + n)) for n in range(20)])
    seen = spy_on_reads(runner, monkeypatch)
    await runner._run_timers(NOW)
    assert seen == []
    clock.set(NOW + timedelta(minutes=2))  # the first one's nudge is due now, and only that one
    await runner._run_timers(clock.now())
    assert len(seen) == 1


def random_meetings(rng: random.Random, templates: dict[str, MeetingTemplate]) -> list[MeetingOccurrence]:
    """Return a varied mix of running (some paused, nudged or overrunning), scheduled and finished meetings."""
    rows = []
    earliest = rng.choice([-600, 60])  # some overdue timers, or all of them still to come
    for _ in range(rng.randint(0, 40)):
        guild_id = rng.choice([1, 2, 3])
        slug = rng.choice(sorted(templates))
        phases = templates[slug].active_phases(pass_the_hat=guild_id == 1)
        state = rng.choices(["running", "scheduled", "completed", "cancelled"], [6, 2, 1, 1])[0]
        if state == "running":
            starts = NOW - timedelta(minutes=rng.uniform(0, 100) if rng.random() < 0.95 else 150)
        else:
            starts = NOW + timedelta(minutes=rng.uniform(1, 30 * 60))
        fields: dict[str, Any] = {
            "state": state,
            "template_slug": slug,
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=templates[slug].duration_minutes),
            "facilitator_id": rng.choice([None, 9]),
            "no_facilitator_alerted": rng.random() < 0.8,
            "phase_index": rng.randrange(len(phases)),
            "phase_nudged": rng.random() < 0.3,
            "phase_deadline": NOW + timedelta(seconds=rng.randint(earliest, 2400)),
        }
        if rng.random() < 0.2:
            fields.update(phase_deadline=None, phase_paused_seconds=rng.randint(1, 600))
        if state != "running":
            fields.update(phase_index=None, phase_deadline=None)
        rows.append(occurrence(guild_id, **fields))
    return rows


@pytest.mark.parametrize("seed", range(12))
async def test_next_due_finds_what_reading_every_running_meeting_found(
    database: Database, clock: FakeClock, seed: int
) -> None:
    clock.set(NOW)
    await configure_guilds(database, clock)
    rng = random.Random(seed)
    templates = with_long_leads() if seed % 2 else TEMPLATES
    runner = MeetingRunner(database, clock, templates)
    ids = await add(database, *random_meetings(rng, templates))
    reminders = [
        MeetingReminder(
            guild_id=1,
            occurrence_id=rng.choice(ids),
            offset_minutes=offset,
            due_at=NOW + timedelta(minutes=rng.uniform(-5, 600)),
            sent_at=NOW if rng.random() < 0.5 else None,
        )
        for offset in range(rng.randint(0, 3) if ids else 0)
    ]
    await add(database, *reminders)

    expected = await old_next_due(runner)
    assert await runner.next_due() == expected
    # Without the scheduled meetings and reminders, the running meetings' own timers decide.
    async with database.session() as session:
        for row in (await session.scalars(select(MeetingOccurrence).where(MeetingOccurrence.state != "running"))).all():
            row.state = "completed"
        for reminder in (await session.scalars(select(MeetingReminder))).all():
            reminder.sent_at = NOW
    assert await runner.next_due() == await old_next_due(runner)


async def test_the_runner_reads_its_four_earliest_instants_in_one_statement(
    database: Database, clock: FakeClock
) -> None:
    clock.set(NOW)
    await configure_guilds(database, clock)
    runner = MeetingRunner(database, clock, TEMPLATES)
    await add(database, *random_meetings(random.Random(3), TEMPLATES))
    with statements(database) as seen:
        await runner.next_due()
    # The next reminder, start, unstaffed start and overrun in one SELECT; the running meetings' timers in another.
    assert len(seen) == 2, seen


async def dm_texts(database: Database) -> list[str]:
    async with database.session() as session:
        payloads = (await session.scalars(select(Outbox.payload).where(Outbox.kind == "dm"))).all()
    return [json.loads(payload)["content"] for payload in payloads]


async def test_no_warning_for_a_phase_no_longer_than_the_warning(database: Database, clock: FakeClock) -> None:
    clock.set(NOW)
    await GuildConfigService(database, clock).update(1, timezone="Europe/London", meetings_channel_id=300)
    runner = MeetingRunner(database, clock, TEMPLATES)
    meeting = await runner.start_now(1, facilitator_id=9, template_slug="discussion-60")
    welcome = TEMPLATES["discussion-60"].phases[0]
    assert welcome.minutes == welcome.nudge_minutes_before == 3  # "3 minutes left" would be true as it opens

    await runner.tick()
    clock.set(NOW + timedelta(minutes=2))
    await runner.tick()
    assert await dm_texts(database) == []
    assert await runner.next_due() != NOW  # nothing is waiting to be sent for the welcome

    # A longer phase is still warned, once, three minutes before its end.
    await runner.control(1, meeting.id, "next", 0, user_id=9)
    clock.set(NOW + timedelta(minutes=2 + 7))
    await runner.tick()
    await runner.tick()
    assert await dm_texts(database) == ["3 minutes left in check-in (SMART Recovery meeting)."]
