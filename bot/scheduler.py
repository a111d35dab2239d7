"""A small facade over APScheduler 3: run a coroutine at an instant, cancel it, list what is pending.

Jobs are derived state: services rebuild them from the database at start-up, so the job store is
memory only and a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# A job whose instant passed while the process was busy still runs if it is at most this late.
MISFIRE_GRACE_SECONDS = 3600

JobFunc = Callable[..., Awaitable[object]]


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
        self._scheduler.add_job(
            func, trigger="date", run_date=when.astimezone(UTC), args=args, id=job_id, replace_existing=True
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
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs() if job.next_run_time is not None}
