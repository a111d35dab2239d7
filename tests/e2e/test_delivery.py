"""When the bot wakes to run meeting steps, and how it delivers several meetings' steps at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from bot.delivery.delivery import START_JOB, WAKE_JOB
from bot.services.outbox import OutboxItem
from tests.e2e.test_alerts import alert, alert_posts
from tests.e2e.test_meetings import START, schedule_tuesday
from tests.fixtures.bot import BotHarness, Group, build_group, configure
from tests.sandbox import rest
from tests.sandbox.models import Channel
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

# A meeting thread is started from an anchor message in the meetings channel.
THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"
OPENING = "Welcome to this SMART Recovery meeting"


class Spinning(BaseException):
    """Raised by a test hook when the bot keeps running instead of setting a wake-up (past run_due's handler)."""


def threads(group: Group) -> list[Channel]:
    return [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]


def texts(sandbox: Sandbox, channel: Channel) -> list[str]:
    return [m.content for m in sandbox.channel_messages(channel)]


def opened(sandbox: Sandbox, group: Group) -> bool:
    """Return whether the group's meeting has its thread with the opening statement, first phase and panel."""
    found = threads(group)
    return len(found) == 1 and sum(1 for text in texts(sandbox, found[0]) if "Facilitator panel" in text) == 1


def assert_opened_once_in_order(sandbox: Sandbox, group: Group) -> None:
    (thread,) = threads(group)
    shown = texts(sandbox, thread)
    assert len(shown) == len(set(shown)) == 4, shown
    assert OPENING in shown[0] and shown[2].startswith("**Welcome** (1/6") and "Facilitator panel" in shown[3], shown


def wake_at(harness: BotHarness) -> datetime | None:
    assert harness.scheduler is not None
    return harness.scheduler.pending().get(WAKE_JOB)


async def run_due(harness: BotHarness) -> None:
    assert harness.bot is not None
    await harness.bot.delivery.run_due()


async def scheduled(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await harness.advance_to(START - timedelta(minutes=1))


# --- when to wake -----------------------------------------------------------------------------------------------


async def test_the_wake_up_is_set_for_the_instant_the_next_step_is_due(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await scheduled(sandbox, group, harness)
    harness.clock.set(START - timedelta(milliseconds=400))
    await run_due(harness)
    assert wake_at(harness) == START  # not a second after this run
    await harness.advance_to(START)
    assert opened(sandbox, group)
    assert_opened_once_in_order(sandbox, group)


async def test_a_step_falling_due_during_a_run_is_run_in_the_same_wake_up(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    runner = harness.bot.services.meetings
    tick = runner.tick
    ticks: list[datetime] = []

    async def slow_tick() -> None:
        ticks.append(harness.clock.now())
        await tick()
        if len(ticks) == 1:
            harness.clock.set(START + timedelta(milliseconds=100))  # this run took long enough for the start to pass

    monkeypatch.setattr(runner, "tick", slow_tick)
    harness.clock.set(START - timedelta(milliseconds=200))
    await run_due(harness)
    assert ticks == [START - timedelta(milliseconds=200), START + timedelta(milliseconds=100)]
    assert_opened_once_in_order(sandbox, group)


async def test_a_step_reported_due_at_every_look_is_retried_a_second_later_not_in_a_loop(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service may report an overdue step as due "now" (at the instant it was asked); run_due must not spin."""
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    services = harness.bot.services
    tick = services.meetings.tick
    runs = 0

    async def ticking_tick() -> None:
        nonlocal runs
        runs += 1
        if runs > 5:
            raise Spinning(f"{runs} runs in one wake-up")
        harness.clock.advance(milliseconds=1)  # a run takes time
        await tick()

    async def due_as_soon_as_asked(_session: object) -> datetime:
        return harness.clock.advance(milliseconds=1)

    monkeypatch.setattr(services.meetings, "tick", ticking_tick)
    monkeypatch.setattr(services.rota_timers, "next_due", due_as_soon_as_asked)
    await run_due(harness)
    assert runs <= 2
    assert wake_at(harness) == harness.clock.now() + timedelta(seconds=1)


async def test_a_wake_up_asks_every_service_when_it_is_next_due_in_one_session(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    engine = harness.bot.database.engine.sync_engine
    checkouts: list[object] = []

    def checked_out(*_args: object) -> None:
        checkouts.append(_args)

    event.listen(engine, "checkout", checked_out)
    try:
        assert await harness.bot.delivery.next_due() == START
    finally:
        event.remove(engine, "checkout", checked_out)
    # Six services' reads, one session: each session costs its own checkout (and on PostgreSQL, round trips).
    assert len(checkouts) == 1, checkouts


async def test_a_meeting_due_opens_before_the_runs_other_steps(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Members wait on the opening; alerts, reminders, phase timers and the rota follow it in the same wake-up.
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    services = harness.bot.services
    seen: list[tuple[str, datetime, bool]] = []

    def watching(name: str, tick: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        async def watched() -> object:
            seen.append((name, harness.clock.now(), opened(sandbox, group)))
            return await tick()

        return watched

    monkeypatch.setattr(services.meetings, "tick", watching("timers", services.meetings.tick))
    monkeypatch.setattr(services.alerts, "tick", watching("alerts", services.alerts.tick))
    await harness.advance_to(START)
    assert ("timers", START, True) in seen, seen
    assert ("alerts", START, True) in seen, seen
    assert_opened_once_in_order(sandbox, group)


async def test_alerts_escalate_even_when_opening_the_meetings_due_keeps_failing(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    await alert(sandbox, group, group.member)
    await harness.idle()

    async def failing_start(*_deliver: object) -> None:
        raise RuntimeError("the database refused the start")

    monkeypatch.setattr(harness.bot.services.meetings, "start_due", failing_start)
    harness.clock.set(START + timedelta(minutes=10))  # the meeting is due and the alert untaken for 11 minutes
    await run_due(harness)
    await harness.idle()
    [escalation] = alert_posts(sandbox, group.coordinators)
    assert "after 11 minutes" in escalation.content


async def test_a_meeting_falling_due_while_a_run_is_busy_opens_beside_it(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None and harness.scheduler is not None
    scheduler = harness.scheduler
    rota_tick = harness.bot.services.rota_timers.tick
    during: list[bool] = []

    async def busy_rota_tick() -> None:
        await rota_tick()
        if not during:
            # The run is still busy with the rota when the meeting's start passes: its start job fires meanwhile,
            # as APScheduler runs a job beside another job that is still running.
            harness.clock.set(START + timedelta(milliseconds=100))
            when, job, args = scheduler.jobs.pop(START_JOB)
            assert when == START
            await job(*args)  # type: ignore[operator]
            during.append(opened(sandbox, group))

    monkeypatch.setattr(harness.bot.services.rota_timers, "tick", busy_rota_tick)
    harness.clock.set(START - timedelta(milliseconds=200))
    await run_due(harness)
    assert during == [True]  # opened while the run was still inside the rota's tick
    assert_opened_once_in_order(sandbox, group)


async def test_the_start_job_leaves_a_meeting_to_the_wake_up_when_no_run_is_busy(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.scheduler is not None
    harness.clock.set(START)
    _when, job, args = harness.scheduler.jobs.pop(START_JOB)
    await job(*args)  # type: ignore[operator]
    await harness.idle()
    assert not threads(group)  # not started twice over: the wake-up set for the same instant does it
    await harness.advance_to(START)
    assert_opened_once_in_order(sandbox, group)


# --- delivering several meetings at once -------------------------------------------------------------------------


def hold_first(sandbox: Sandbox, route: str) -> tuple[asyncio.Event, asyncio.Event, list[str]]:
    """Hold the first request to `route` until released; return (held, release, the held request's channel id)."""
    held, release = asyncio.Event(), asyncio.Event()
    channel: list[str] = []

    def wrap(handler: rest.Handler) -> rest.Handler:
        async def holding(sb: Sandbox, call: rest.Call) -> rest.Reply:
            if not held.is_set():
                held.set()
                channel.append(call.params["channel_id"])
                await release.wait()
            return await handler(sb, call)

        return holding

    for candidate in sandbox.rest.router._routes:
        if f"{candidate.method} {candidate.template}" == route:
            candidate.handler = wrap(candidate.handler)
    return held, release, channel


async def two_groups_due_at_start(sandbox: Sandbox, group: Group, harness: BotHarness) -> Group:
    other = await build_group(sandbox)
    await harness.start()
    for each in (group, other):
        await configure(sandbox, each)
        await schedule_tuesday(sandbox, each)
    await harness.advance_to(START - timedelta(minutes=1))
    return other


async def test_a_meeting_held_up_at_discord_does_not_hold_up_another_meetings_opening(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    other = await two_groups_due_at_start(sandbox, group, harness)
    held, release, held_channel = hold_first(sandbox, THREADS)  # one meeting's thread hangs, as in a bucket's wait
    harness.clock.set(START)
    running = asyncio.create_task(run_due(harness))
    try:
        await held.wait()
        stuck, free = (group, other) if held_channel == [str(group.meetings.id)] else (other, group)
        await sandbox.wait_until(lambda: opened(sandbox, free), what="the other meeting's opening")
        assert not threads(stuck)
    finally:
        release.set()
        await running
    assert_opened_once_in_order(sandbox, group)
    assert_opened_once_in_order(sandbox, other)


async def test_a_failed_opening_holds_back_only_its_own_meeting_and_is_retried_in_order(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    other = await two_groups_due_at_start(sandbox, group, harness)
    sandbox.faults.inject_5xx(THREADS, status=503)  # the first thread creation fails (503: no retry by discord.py)
    await harness.advance_to(START)
    failed = [each for each in (group, other) if not threads(each)]
    assert len(failed) == 1
    assert_opened_once_in_order(sandbox, other if failed == [group] else group)
    await harness.advance_to(START + timedelta(minutes=1))  # the outbox retries the failed meeting, in order
    assert_opened_once_in_order(sandbox, group)
    assert_opened_once_in_order(sandbox, other)


async def test_a_meeting_due_is_opened_from_the_steps_its_start_claimed(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No claim between the start and the first post: the start's transaction claims its opening for this process.
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    runner = harness.bot.services.meetings
    start_due = runner.start_due
    handed: list[str] = []

    async def watched(deliver: Callable[[list[OutboxItem]], object]) -> datetime | None:
        def watched_deliver(items: list[OutboxItem]) -> None:
            handed.extend(item.kind for item in items)
            deliver(items)

        return await start_due(watched_deliver)

    monkeypatch.setattr(runner, "start_due", watched)
    await harness.advance_to(START)
    assert handed[:2] == ["open_venue", "message"] and "panel" in handed, handed
    assert_opened_once_in_order(sandbox, group)


# --- closing ----------------------------------------------------------------------------------------------------


class HeldRun:
    """A run of the timers held at its alerts' tick until released: a delivery under way when the bot closes."""

    def __init__(self, harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
        assert harness.bot is not None
        alerts = harness.bot.services.alerts
        tick = alerts.tick
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.runs = 0
        self.outcomes: list[str] = []

        async def held_tick() -> None:
            self.runs += 1
            self.entered.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.outcomes.append("cancelled")
                raise
            await tick()
            self.outcomes.append("finished")

        monkeypatch.setattr(alerts, "tick", held_tick)


async def yield_a_while() -> None:
    """Let every task that can move do so, many times over (nothing here waits for the clock)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def kicked_run_under_way(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> HeldRun:
    """Schedule a meeting, then start a run in the background and hold it at its alerts' tick."""
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    run = HeldRun(harness, monkeypatch)
    harness.bot.delivery.kick()
    await run.entered.wait()
    return run


async def test_closing_the_bot_lets_the_run_under_way_finish_and_starts_no_other(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = await kicked_run_under_way(sandbox, group, harness, monkeypatch)
    assert harness.bot is not None
    bot = harness.bot
    order: list[str] = []
    dispose = bot.database.dispose

    async def recorded_dispose(grace: float = 2.0) -> None:
        order.append("database closed")
        await dispose(grace)

    monkeypatch.setattr(bot.database, "dispose", recorded_dispose)
    closing = asyncio.create_task(bot.close())
    await yield_a_while()
    assert not closing.done() and order == []  # the database stays open for the run
    bot.delivery.kick()  # an interaction answered while closing: no new run
    run.release.set()
    await closing
    assert run.outcomes == ["finished"] and run.runs == 1
    assert order == ["database closed"]
    assert not bot.scheduler.running


async def test_a_scheduled_wake_up_under_way_is_waited_for_and_none_starts_once_stopping(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.bot is not None
    delivery = harness.bot.delivery
    run = HeldRun(harness, monkeypatch)
    # As the scheduler runs its jobs: each in a task of its own.
    wake = asyncio.create_task(delivery._wake())
    await run.entered.wait()
    stopping = asyncio.create_task(delivery.stop())
    await yield_a_while()
    assert not stopping.done()
    await delivery._wake()  # a job firing while the bot closes does nothing
    run.release.set()
    await stopping
    await wake
    assert run.outcomes == ["finished"] and run.runs == 1


async def test_a_run_still_going_after_the_grace_is_cancelled(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = await kicked_run_under_way(sandbox, group, harness, monkeypatch)
    assert harness.bot is not None
    await harness.bot.delivery.stop(grace=0)
    assert run.outcomes == ["cancelled"]


async def test_a_run_outlasting_its_callers_own_time_limit_is_cancelled_not_left_going(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = await kicked_run_under_way(sandbox, group, harness, monkeypatch)
    assert harness.bot is not None
    stopping = asyncio.create_task(harness.bot.delivery.stop())
    await yield_a_while()
    stopping.cancel()  # as `asyncio.wait_for` does when the caller's limit passes before the grace
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert run.outcomes == ["cancelled"]
