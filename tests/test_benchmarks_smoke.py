"""The benchmarks' own arithmetic (percentiles, the poller's projection, the rate-limit floor), checked without timing.

Running the benchmarks themselves takes minutes (`python -m benchmarks --toy` checks the machinery in about one);
nothing here measures time or depends on how fast the machine is.
"""

from __future__ import annotations

import pytest

from benchmarks import fixes
from benchmarks.common import new_sandbox, percentile
from benchmarks.fanout import EVENT_EDIT, Essential, MESSAGES, THREADS, floor_seconds
from benchmarks.schedule_precision import Run, poller_work, projected_p99


def test_percentile_interpolates_like_numpy() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0


def test_a_one_minute_poller_is_late_by_almost_a_minute_at_p99() -> None:
    assert projected_p99([0.0], 60.0) == pytest.approx(59.4, abs=0.05)
    assert projected_p99([0.5], 60.0) == pytest.approx(59.9, abs=0.05)


def test_poller_work_is_measured_from_the_tick_that_found_the_meeting() -> None:
    run = Run(due={1: 10.0, 2: 12.5}, arrived={1: 12.25, 2: 14.5}, ready_at=0.0, ticks=[8.0, 12.0, 14.0])
    assert poller_work(run) == [0.25, 0.5]


def test_the_floor_is_the_slowest_bucket_or_the_global_limit() -> None:
    sb = new_sandbox(validate=False)
    one_thread = [Essential(0.0, MESSAGES, "thread") for _ in range(12)]
    # 12 posts into one thread at 5 per 5 s need two full windows before the last one.
    assert floor_seconds(sb, one_thread)[0] == 10.0
    spread = [Essential(0.0, route, f"{route}-{n}") for n in range(500) for route in (THREADS, MESSAGES, EVENT_EDIT)]
    floor, why = floor_seconds(sb, spread)
    assert floor == 29.0 and why.startswith("global")


def test_an_unknown_fix_is_refused() -> None:
    with pytest.raises(SystemExit):
        fixes.apply(["no-such-fix"])
