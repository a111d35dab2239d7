"""Deliver the outbox to Discord, each kind by its route, and wake the timers when something is due."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.delivery import referral
from bot.delivery.errors import PermanentDeliveryError
from bot.delivery.lanes import LaneFlush
from bot.delivery.routes import route_of
from bot.services.outbox import OutboxItem
from bot.services.outbox_payloads import OpenVenue

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

WAKE_JOB = "meetings:wake"
# Set for the next meeting's start while a run is busy, so that the meeting opens beside the run's other steps.
START_JOB = "meetings:start"
# How soon a step that was due but is still pending (it failed) is tried again.
FAILED_STEP_RETRY = timedelta(seconds=1)
# The least time ahead a wake-up is set for, so that it never fires while the run setting it is still going.
WAKE_AHEAD = timedelta(milliseconds=10)
# Meeting threads remembered (occurrence id -> thread id): far more than run at once in one process.
VENUES_KEPT = 4096
# How long a closing bot lets the runs under way finish before cancelling them: well inside the 10 s a container
# or service manager gives a process between asking it to stop and killing it.
STOP_GRACE_SECONDS = 5.0


class Delivery:
    """Carry out outbox items in order; one flush at a time per process."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot
        self._lock = asyncio.Lock()
        # Runs started in the background (`kick`), which `idle` waits for.
        self._tasks: set[asyncio.Task[None]] = set()
        # The scheduler's jobs under way (wake-ups, meanwhile starts), which only `stop` waits for.
        self._jobs: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._flushing: LaneFlush | None = None
        # When the run under way began its current pass (None when no run is under way).
        self._pass_began: datetime | None = None
        # Each meeting's thread, once known. A meeting's thread never changes once made (only its opening step
        # records it), so every post in it after the first needs no read of the meeting to find it.
        self._venues: dict[int, int] = {}

    async def start(self) -> None:
        """Take back a dead predecessor's claims, then deliver what is pending."""
        try:
            # Before the first delivery: a claim a killed predecessor left would hold its meeting's (or DM lane's)
            # later steps back for the whole lease.
            await self.bot.services.outbox.reclaim_orphans()
        except Exception:
            # Not worth staying offline for: the claims' lease frees them within minutes anyway.
            log.exception("Taking back the outbox claims of a previous run failed.")
        # The database, not the scheduler, remembers what is pending: delivery can start at once.
        self.kick()

    def kick(self) -> None:
        """Run what is due in the background, after the interaction has been answered."""
        if self._stopping:
            return
        task = asyncio.create_task(self.run_due())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until background deliveries have finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Start no more runs, and let those under way finish (cancelled after `grace` seconds) before the bot closes.

        A run left going would still hold a database connection when the database is closed, and be cut off by the
        event loop's end; what it had not committed is done by the next start (the outbox and the claims see to it).
        """
        self._stopping = True
        # Not the caller's own task: a run that closed the bot would otherwise wait for itself.
        running = [task for task in (*self._tasks, *self._jobs) if task is not asyncio.current_task()]
        if not running:
            return
        # A bot that never became ready has runs waiting for it to be: they would only wait out the grace.
        late = set(running)
        try:
            if self.bot.is_ready():
                _finished, late = await asyncio.wait(running, timeout=grace)
        finally:
            # Also when this wait is itself cancelled (a caller's own time limit): nothing is left going.
            late = {task for task in late if not task.done()}
            if late:
                log.warning("Cancelling %d delivery run(s) still going as the bot closes.", len(late))
                for task in late:
                    task.cancel()
                # A cancelled run may still finish a step in its own cleanup: that too has the grace, no more.
                await asyncio.wait(late, timeout=grace)

    async def run_due(self) -> None:
        """Let the runner do what is due and deliver the results, again while more falls due; set the next wake-up."""
        try:
            await self._run_due()
        finally:
            self._pass_began = None

    async def _run_due(self) -> None:
        recheck_edge = True
        while True:
            started = self._pass_began = self.bot.clock.now()
            try:
                # Members are waiting for a meeting that starts now: open it before anything else that is due
                # (alerts, reminders, phase timers, the rota), whose posts follow in the second flush. A start is
                # one read when nothing is due, and an opening takes milliseconds against an alert's minutes.
                await self._open_due()
            except Exception:
                log.exception("Opening the meetings due failed.")
            try:
                # On its own: a member's call for help must escalate even if another timer keeps failing.
                await self.bot.services.alerts.tick()
            except Exception:
                log.exception("Escalating alerts failed.")
            try:
                await self.bot.services.meetings.tick()
                await self.bot.services.rota_timers.tick()
                await self.flush()
            except Exception:
                # A timer has no user to apologise to: log it; the next wake-up retries what is still due.
                log.exception("Running due meeting steps failed.")
            try:
                # After the flush: forgetting who a debrief asked posts nothing, and members wait for nothing on it.
                await self.bot.services.care.debriefs.tick()
            except Exception:
                log.exception("Forgetting the facilitators of unanswered debriefs failed.")
            try:
                # Numbers only, read from Discord; on its own so a failure here holds nothing else up.
                await referral.read_due_counts(self)
            except Exception:
                log.exception("Reading the referral routes' counts failed.")
            asked = self.bot.clock.now()
            try:
                when = await self.next_due()
            except Exception:
                log.exception("Finding the next due meeting step failed; trying again in a second.")
                when = started
            now = self.bot.clock.now()
            if when is not None and started < when <= now and (when < asked or recheck_edge):
                # It fell due while this run was busy, so it has not been tried: run it now. Scheduling the wake job
                # for now from inside it would not do: APScheduler skips a job still running (max_instances=1).
                # A step due only from the instant we asked may be an overdue step reported as "now" (the rota's
                # weekly post, for a group it then does not post for, is one): look once more, then treat it as
                # failed, or such a report would keep this loop spinning.
                recheck_edge = when < asked
                continue
            self._schedule_wake(when, now)
            return

    async def next_due(self) -> datetime | None:
        """Return the next instant at which the runner, the rota or delivery has something to do."""
        services = self.bot.services
        # One read-only session for them all: this runs at every wake-up, and each session has its own cost (on
        # PostgreSQL the pool's ping, the BEGIN and the COMMIT: five round trips).
        async with self.bot.database.session() as session:
            candidates = [
                await services.meetings.next_due(session),
                await services.rota_timers.next_due(session),
                await services.referral.next_due(session),
                await services.outbox.next_due(session),
                await services.alerts.next_due(session),
                await services.care.debriefs.next_due(session),
            ]
        due = [when for when in candidates if when is not None]
        return min(due) if due else None

    def _schedule_wake(self, when: datetime | None, now: datetime) -> None:
        """Arrange for `run_due` to run at `when`, or a second from now for a step that is due yet still pending."""
        if when is None:
            self.bot.scheduler.cancel(WAKE_JOB)
        elif when <= now:
            # Due, and this run did not get it done: it failed. Retry each second, not in a tight loop.
            self.bot.scheduler.schedule_at(WAKE_JOB, now + FAILED_STEP_RETRY, self._wake)
        else:
            # A little ahead at least, so that the job never fires while this run is still finishing (see above).
            self.bot.scheduler.schedule_at(WAKE_JOB, max(when, now + WAKE_AHEAD), self._wake)

    def _arm_start(self, when: datetime | None) -> None:
        """Arrange for the meeting starting at `when` to open even if a run is still busy then."""
        if when is None:
            self.bot.scheduler.cancel(START_JOB)
        else:
            self.bot.scheduler.schedule_at(START_JOB, when, self._start_meanwhile, when)

    async def _start_meanwhile(self, when: datetime) -> None:
        """Open the meetings due at `when` beside a run busy since before then; else leave them to the wake-up."""
        await self._as_job(self._start_beside_the_run, when)

    async def _start_beside_the_run(self, when: datetime) -> None:
        began = self._pass_began
        if began is None or began >= when:
            # No run, or one whose pass began after the start and does the starts first: the wake-up job, set for
            # this instant too, opens the meeting without two claims racing for it.
            return
        try:
            await self._open_due()
        except Exception:
            # The run under way, or the next wake-up, finds the meeting still due and tries again.
            log.exception("Opening a meeting beside a busy run failed.")

    async def _open_due(self) -> None:
        """Start the meetings due and deliver their openings at once, beside a flush of whatever else is claimable."""
        openings = LaneFlush(self.bot.services.outbox, self._deliver_one)
        handed: list[asyncio.Task[None]] = []

        def deliver(items: list[OutboxItem]) -> None:
            # Each meeting's opening comes claimed with its start and goes out at once: the first meeting due does not
            # wait for the others' starts, nor for a claim. One flush for them all keeps to its lanes-at-once limit.
            handed.append(asyncio.create_task(self._add_when_ready(openings, items)))

        try:
            self._arm_start(await self.bot.services.meetings.start_due(deliver))
        finally:
            # Beside any flush under way: no other step of these meetings is in flight (see `claim_queued`), and their
            # later steps wait behind these claims. The flush joins the run's flush if one is under way (see `flush`).
            await asyncio.gather(*handed, self.flush())
            if handed:
                await openings.run(claim=False)

    async def _add_when_ready(self, flush: LaneFlush, items: list[OutboxItem]) -> None:
        """Hand claimed items to a flush once delivery may begin."""
        await self.bot.wait_until_ready()  # as `flush` does
        await flush.add(items)

    async def _wake(self) -> None:
        """Run what is due; a meeting falling due meanwhile is claimed by the flush under way (see `flush`)."""
        # Awaited, not started in the background: concurrent runs of the timers let a killed and restarted bot
        # request a scheduled event twice (seen in the kill sweep).
        await self._as_job(self.run_due)

    async def _as_job(self, work: Callable[..., Awaitable[None]], *args: object) -> None:
        """Do a scheduler job's work, counted in as one that `stop` waits for; nothing once the bot is stopping."""
        if self._stopping:
            return
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - a job is a coroutine the scheduler runs as a task
        self._jobs.add(task)
        try:
            await work(*args)
        finally:
            self._jobs.discard(task)

    async def flush(self) -> int:
        """Deliver every claimable outbox item, each meeting's in order; return how many were delivered."""
        # Delivering needs the gateway's list of guilds (a scheduled event is made through its guild), which
        # arrives after start-up: before it, a step would fail for good. Timers and claims on the database do not
        # wait for it, only delivery.
        await self.bot.wait_until_ready()
        flushing = self._flushing
        if flushing is not None and flushing.wake():
            # The flush under way claims the new items beside its busy lanes; like any flush, return once delivered.
            await flushing.finished.wait()
            return 0
        async with self._lock:
            self._flushing = LaneFlush(self.bot.services.outbox, self._deliver_one)
            try:
                return await self._flushing.run()
            finally:
                self._flushing = None

    async def _deliver_one(self, item: OutboxItem) -> bool:
        try:
            result = await self.perform(item)
        except PermanentDeliveryError as exc:
            await self.bot.services.outbox.mark_failed(item.id, str(exc), permanent=True)
            return True
        except discord.Forbidden as exc:
            await self.bot.services.outbox.mark_failed(item.id, f"forbidden {exc.code}", permanent=True)
            return True
        except discord.NotFound as exc:
            await self.bot.services.outbox.mark_failed(item.id, f"not found {exc.code}", permanent=True)
            return True
        except discord.HTTPException as exc:
            # Discord refused the request itself (400, say an event that would now start in the past): retrying
            # the same body cannot help, and it must not hold up the meeting's later steps.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            await self.bot.services.outbox.mark_failed(item.id, f"HTTP {exc.status} {exc.code}", permanent=permanent)
            return permanent
        except (TimeoutError, OSError) as exc:
            await self.bot.services.outbox.mark_failed(item.id, f"{type(exc).__name__}", permanent=False)
            return False
        # The item's sent state and what it made (a meeting's thread, say) are stored together: a crash between the
        # two would leave a thread its meeting does not know, and the meeting's later posts nowhere to go.
        record = None
        if result is not None and item.occurrence_id is not None:
            record = self.bot.services.meetings.result_recorder(item.occurrence_id, item.kind, result)
        await self.bot.services.outbox.mark_sent(item.id, result, record=record)
        if result is not None:
            if item.kind == OpenVenue.kind and item.occurrence_id is not None:
                self._remember_venue(item.occurrence_id, result)
            await route_of(item.kind).delivered(self, item, result)
        return True

    async def venue_of(self, occurrence_id: int) -> int | None:
        """Return the meeting's thread, if it has been made."""
        venue = self._venues.get(occurrence_id)
        if venue is None:
            occurrence = await self.bot.services.meetings.get(occurrence_id)
            venue = occurrence.venue_id if occurrence is not None else None
            if venue is not None:
                self._remember_venue(occurrence_id, venue)
        return venue

    def _remember_venue(self, occurrence_id: int, venue: int) -> None:
        if len(self._venues) >= VENUES_KEPT:
            del self._venues[next(iter(self._venues))]  # the oldest: its meeting has long ended
        self._venues[occurrence_id] = venue

    async def channel(self, channel_id: int) -> discord.abc.Messageable:
        """Return a channel messages can be posted in."""
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise PermanentDeliveryError(f"channel {channel_id} cannot hold messages")
        return channel

    async def fetch_message(self, channel_id: int, message_id: int) -> discord.Message:
        """Return a message the bot posted in a text channel or thread."""
        channel = await self.channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise PermanentDeliveryError(f"channel {channel_id} has no messages to read")
        return await channel.fetch_message(message_id)

    async def perform(self, item: OutboxItem) -> int | None:
        """Make the Discord calls of one item; return the id of what it made, if anything."""
        return await route_of(item.kind).deliver(self, item)
