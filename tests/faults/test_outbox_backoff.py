"""A Discord outage longer than a few retries: the outbox backs off and the meeting still opens once Discord is back."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.delivery.delivery import WAKE_JOB
from tests.e2e.test_meetings import START
from tests.faults.test_outbox_recovery import OPENING, THREADS, scheduled, texts, threads
from tests.fixtures.bot import BotHarness, Group
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

OUTAGE = timedelta(seconds=60)
# When the opening is tried: at the start, then after back-offs of 5, 10, 20 and 40 s.
TRIES = [START + timedelta(seconds=seconds) for seconds in (0, 5, 15, 35, 75)]


async def test_an_opening_refused_for_a_minute_opens_once_discord_is_back_with_wake_ups_backing_off(
    sandbox: Sandbox, group: Group, harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scheduled(sandbox, group, harness)
    assert harness.scheduler is not None
    tries: list[datetime] = []
    wakes: list[datetime] = []
    take_5xx = sandbox.faults.take_5xx
    schedule_at = harness.scheduler.schedule_at

    def refusing_for_a_minute(route: str) -> int | None:
        if route == THREADS:
            tries.append(harness.clock.now())
            if harness.clock.now() < START + OUTAGE:
                return 503  # discord.py gives up on a 503 at once: each try of the outbox is one request
        return take_5xx(route)

    def recording(job_id: str, when: datetime, func, *args) -> None:
        if job_id == WAKE_JOB:
            wakes.append(when)
        schedule_at(job_id, when, func, *args)

    monkeypatch.setattr(sandbox.faults, "take_5xx", refusing_for_a_minute)
    monkeypatch.setattr(harness.scheduler, "schedule_at", recording)
    await harness.advance_to(START + OUTAGE)
    assert not threads(group)
    assert tries == TRIES[:4]
    # The delivery is woken for each retry and not in between, the waits growing.
    assert [when for when in wakes if when > START] == TRIES[1:], wakes

    await harness.advance_to(START + timedelta(minutes=2))
    assert tries == TRIES
    assert len(threads(group)) == 1
    opening = texts(sandbox, threads(group)[0])
    assert len(opening) == len(set(opening)) == 4 and OPENING in opening[0], opening
