"""A small facade over APScheduler 3: run a coroutine at an instant, cancel it, list what is pending.

Jobs are derived state: services rebuild them from the database at start-up, so the job store is
memory only and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# A job whose instant passed while the process was busy still runs if it is at most this late.
MISFIRE_GRACE_SECONDS = 3600

JobFunc = Callable[..., Awaitable[object]]

# Linux lets a poll's timeout end late by 0.1% of its length (the timer slack of select/poll/epoll, at most 100 ms),
# and the event loop waits for the next job in one poll: a meeting due an hour after the last activity opened up to
# 100 ms late (7 ms after a 7-second wait, measured). A job is therefore woken early by twice that and waits out the
# rest in a short sleep, whose slack is microseconds. A job replaced meanwhile by one due sooner (same id) is skipped
# by APScheduler, which runs one instance per id, so it runs with the sleeping one: at most 150 ms late, and rarely.
EARLY_FRACTION = 0.002
EARLY_AT_MOST = timedelta(milliseconds=150)


class Scheduler:
    """Run coroutine functions at UTC instants."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )

    @property
    def running(self) -> bool:
        """Return whether the scheduler has been started and not shut down."""
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Start firing jobs on the running event loop."""
        if not self._scheduler.running:
            self._scheduler.start()

    def shutdown(self) -> None:
        """Stop firing jobs; pending ones stay in the database and are rebuilt on the next start."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def schedule_at(self, job_id: str, when: datetime, func: JobFunc, *args: object) -> None:
        """Run `func(*args)` at `when` (aware), replacing any job with the same id."""
        if when.tzinfo is None:
            raise ValueError("schedule_at needs an aware datetime")
        when = when.astimezone(UTC)
        early = min((when - datetime.now(UTC)) * EARLY_FRACTION, EARLY_AT_MOST)
        self._scheduler.add_job(
            _on_time,
            trigger="date",
            run_date=when - max(early, timedelta(0)),
            args=(when, func, *args),
            id=job_id,
            replace_existing=True,
        )

    def schedule_every(self, job_id: str, seconds: float, func: JobFunc, *args: object) -> None:
        """Run `func(*args)` every `seconds`, replacing any job with the same id."""
        self._scheduler.add_job(func, trigger="interval", seconds=seconds, args=args, id=job_id, replace_existing=True)

    def cancel(self, job_id: str) -> bool:
        """Cancel a pending job; return whether there was one."""
        try:
            self._scheduler.remove_job(job_id)
        except JobLookupError:
            return False
        return True

    def pending(self) -> dict[str, datetime]:
        """Return each pending job id with its next run time."""
        return {
            job.id: job.args[0] if job.func is _on_time else job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.next_run_time is not None
        }


async def _on_time(when: datetime, func: JobFunc, *args: object) -> None:
    """Wait from a job's early wake-up until `when`, then run it."""
    remaining = (when - datetime.now(UTC)).total_seconds()
    if remaining > 0:
        await asyncio.sleep(remaining)
    await func(*args)
