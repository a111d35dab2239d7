"""The real scheduler (APScheduler) wakes each job early enough that Linux's timer slack cannot make it late."""

from datetime import UTC, datetime, timedelta

import pytest

from bot import scheduler as scheduler_module
from bot.scheduler import EARLY_AT_MOST, Scheduler, _on_time


async def nothing() -> None:
    """Stand in for a job."""


@pytest.mark.parametrize(
    ("ahead", "early"), [(timedelta(seconds=50), timedelta(milliseconds=100)), (timedelta(days=1), EARLY_AT_MOST)]
)
async def test_a_job_wakes_early_by_more_than_the_kernels_slack_and_reports_its_own_instant(ahead, early) -> None:
    scheduler = Scheduler()
    scheduler.start()
    try:
        when = datetime.now(UTC) + ahead
        scheduler.schedule_at("job", when, nothing)
        [job] = scheduler._scheduler.get_jobs()
        # The kernel may end a wait up to 0.1% of its length late (at most 100 ms): woken twice that early.
        assert when - job.next_run_time == pytest.approx(early, abs=timedelta(milliseconds=2))
        assert scheduler.pending() == {"job": when}
    finally:
        scheduler.shutdown()


async def test_a_job_woken_early_waits_for_its_instant_and_one_due_runs_at_once(monkeypatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(scheduler_module.asyncio, "sleep", sleep)
    ran: list[str] = []

    async def job(name: str) -> None:
        ran.append(name)

    await _on_time(datetime.now(UTC) + timedelta(milliseconds=150), job, "early")
    await _on_time(datetime.now(UTC) - timedelta(seconds=1), job, "late")
    assert ran == ["early", "late"]
    assert len(slept) == 1 and 0.1 < slept[0] <= 0.15
