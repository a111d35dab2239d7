"""What the services read at every wake-up to find the next one: few statements, each a trip to the database.

Delivery asks each service for its next due instant after every run (`Delivery.next_due`); the earliest instants a
service needs are read together, in one SELECT, rather than one statement each. (The meeting runner's reads are
pinned in `test_meeting_timers.py`.)
"""

from __future__ import annotations

from bot.db.engine import Database
from bot.services.alerts import AlertService
from bot.services.outbox import OutboxService
from tests.fixtures.db import FakeClock, statements


async def test_alerts_read_the_next_escalation_and_the_next_forgetting_in_one_statement(
    database: Database, clock: FakeClock
) -> None:
    alerts = AlertService(database, clock)
    with statements(database) as seen:
        await alerts.next_due()
    assert len(seen) == 1, seen


async def test_the_outbox_reads_the_next_retry_and_the_next_lease_end_in_one_statement(
    database: Database, clock: FakeClock
) -> None:
    outbox = OutboxService(database, clock)
    with statements(database) as seen:
        assert await outbox.next_due() is None
    # Whether a step backs off (it shapes the claim), whether one is ready, then the retry and lease end together.
    assert len(seen) == 3, seen
