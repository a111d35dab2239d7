"""Claims are exclusive: of two processes that read the same row, exactly one conditional UPDATE wins.

Each "process" is a service on its own `Database` (its own engine and connection). The first one's session is paused
just before its UPDATE, while the second one claims (or finishes) the same row and commits: the first UPDATE then
runs on a row that is no longer as it was read, which only the UPDATE's own condition can notice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Update, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import Database
from bot.db.helpers import claim
from bot.db.models import GuildConfig, MeetingOccurrence, Outbox
from bot.domain.meeting_format import load_templates
from bot.services.meetings.runner import MeetingRunner
from bot.services.outbox import CLAIM_LEASE, OutboxService, enqueue
from bot.services.outbox_payloads import Message
from tests.fixtures.db import FakeClock, statements

GUILD = 1 << 22
START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)

Hook = Callable[[], Awaitable[None]]
Matches = Callable[[Update], bool]


class PausingDatabase(Database):
    """A database whose next matching UPDATE first lets another process run (`pause_before_update`)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._pause: tuple[Matches, Hook] | None = None
        self.paused = 0

    def pause_before_update(self, matches: Matches, other: Hook) -> None:
        """Run `other` just before the next UPDATE that `matches`, inside this process's open transaction."""
        self._pause = (matches, other)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Open a session whose `execute` runs the pause before the matching UPDATE."""
        async with super().session() as session:
            execute = session.execute

            async def paused(statement: Any, *args: Any, **kwargs: Any) -> Any:
                if self._pause is not None and isinstance(statement, Update) and self._pause[0](statement):
                    _matches, other = self._pause
                    self._pause = None
                    self.paused += 1
                    await other()
                return await execute(statement, *args, **kwargs)

            session.execute = paused  # type: ignore[method-assign]
            yield session


def on_table(name: str, **values: Any) -> Matches:
    """Match an UPDATE of the table that sets these values."""

    def matches(statement: Update) -> bool:
        if getattr(statement.table, "name", None) != name:
            return False
        params = statement.compile().params
        return all(params.get(column) == value for column, value in values.items())

    return matches


@pytest.fixture
async def two_processes(database: Database) -> AsyncIterator[tuple[PausingDatabase, Database]]:
    """Return the first process's database (which can pause) and the second's, both on the migrated database."""
    first, second = PausingDatabase(database.url), Database(database.url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def add_meeting(database: Database, state: str = "scheduled") -> int:
    async with database.session() as session:
        session.add(
            GuildConfig(
                guild_id=GUILD, timezone="Europe/London", meetings_channel_id=500, created_at=START, updated_at=START
            )
        )
        row = MeetingOccurrence(
            guild_id=GUILD,
            schedule_id=None,
            local_start="2026-12-01T19:00:00",
            starts_at=START,
            ends_at=START + timedelta(minutes=90),
            state=state,
            title="Tuesday SMART",
            template_slug="standard-90",
            location_kind="voice",
            channel_id=300,
            phase_timings="[]",
            created_at=START - timedelta(days=7),
        )
        session.add(row)
        await session.flush()
        return row.id


async def add_item(database: Database, clock: FakeClock, occurrence_id: int | None = None) -> int:
    async with database.session() as session:
        enqueue(session, clock.now(), GUILD, Message("x", channel_id=5), occurrence_id=occurrence_id)
    async with database.session() as session:
        newest: int | None = await session.scalar(select(func.max(Outbox.id)))
        assert newest is not None
        return newest


async def outbox_row(database: Database, item_id: int) -> tuple[str, int]:
    async with database.session() as session:
        row = await session.get(Outbox, item_id)
        assert row is not None
        return row.state, row.attempts


# --- the outbox claim ----------------------------------------------------------------------------


async def test_of_two_outbox_claims_on_the_same_item_exactly_one_wins(
    database: Database, two_processes: tuple[PausingDatabase, Database], clock: FakeClock
) -> None:
    clock.set(START)
    item = await add_item(database, clock)
    first_db, second_db = two_processes
    first, second = OutboxService(first_db, clock), OutboxService(second_db, clock)
    seconds_claim: list[int] = []

    async def second_claims() -> None:
        seconds_claim.extend(claimed.id for claimed in await second.claim_batch())

    # The first has read the item as pending; before its UPDATE the second claims it.
    first_db.pause_before_update(on_table("outbox", state="sending"), second_claims)
    firsts_claim = [claimed.id for claimed in await first.claim_batch()]

    assert first_db.paused == 1
    assert (firsts_claim, seconds_claim) == ([], [item])
    assert await outbox_row(database, item) == ("sending", 1)  # claimed once: one attempt


async def test_of_two_takeovers_of_an_expired_claim_exactly_one_wins(
    database: Database, two_processes: tuple[PausingDatabase, Database], clock: FakeClock
) -> None:
    clock.set(START)
    item = await add_item(database, clock)
    first_db, second_db = two_processes
    assert [claimed.id for claimed in await OutboxService(database, clock).claim_batch()] == [item]  # then it died
    clock.set(START + CLAIM_LEASE + SECOND)
    first, second = OutboxService(first_db, clock), OutboxService(second_db, clock)
    seconds_claim: list[int] = []

    async def second_claims() -> None:
        seconds_claim.extend(claimed.id for claimed in await second.claim_batch())

    first_db.pause_before_update(on_table("outbox", state="sending"), second_claims)
    firsts_claim = [claimed.id for claimed in await first.claim_batch()]

    assert (firsts_claim, seconds_claim) == ([], [item])
    assert await outbox_row(database, item) == ("sending", 2)


@pytest.mark.parametrize("outcome", ["sent", "failed"])
async def test_an_expired_claim_finished_by_its_owner_meanwhile_is_not_taken_over(
    database: Database, two_processes: tuple[PausingDatabase, Database], clock: FakeClock, outcome: str
) -> None:
    # The owner was slow, not dead: past its lease, another process reads the item as claimable, and before that
    # process's UPDATE the owner records the delivery (or a failure to retry after its back-off). The attempts are
    # unchanged by that, so only the UPDATE's condition on the state keeps the item from being delivered again.
    clock.set(START)
    item = await add_item(database, clock)
    first_db, owner_db = two_processes
    owner = OutboxService(owner_db, clock)
    assert [claimed.id for claimed in await owner.claim_batch()] == [item]
    clock.set(START + CLAIM_LEASE + SECOND)
    taker = OutboxService(first_db, clock)

    async def owner_finishes() -> None:
        if outcome == "sent":
            await owner.mark_sent(item, 1234)
        else:
            await owner.mark_failed(item, "HTTP 503 0", permanent=False)

    first_db.pause_before_update(on_table("outbox", state="sending"), owner_finishes)
    taken = await taker.claim_batch()

    assert first_db.paused == 1
    assert taken == []
    assert (await outbox_row(database, item))[0] == ("sent" if outcome == "sent" else "pending")


# --- the occurrence claim ------------------------------------------------------------------------


async def test_of_two_runners_starting_the_same_meeting_exactly_one_opens_it(
    database: Database, two_processes: tuple[PausingDatabase, Database], clock: FakeClock
) -> None:
    meeting = await add_meeting(database)
    clock.set(START + SECOND)
    first_db, second_db = two_processes
    templates = load_templates()
    first, second = MeetingRunner(first_db, clock, templates), MeetingRunner(second_db, clock, templates)

    # The first runner has read the meeting as scheduled; before its UPDATE the second runner ticks and opens it.
    first_db.pause_before_update(on_table("meeting_occurrence", state="running"), second.tick)
    await first.tick()

    assert first_db.paused == 1
    async with database.session() as session:
        row = await session.get(MeetingOccurrence, meeting)
        assert row is not None and row.state == "running"
        kinds = list(await session.scalars(select(Outbox.kind).where(Outbox.occurrence_id == meeting)))
    assert kinds.count("open_venue") == 1
    assert kinds.count("panel") == 1


async def test_of_two_claims_on_the_same_occurrence_exactly_one_wins(
    database: Database, two_processes: tuple[PausingDatabase, Database]
) -> None:
    meeting = await add_meeting(database)
    first_db, second_db = two_processes
    async with first_db.session() as first:
        first_row = await first.get(MeetingOccurrence, meeting)
        assert first_row is not None and first_row.state == "scheduled"
        async with second_db.session() as second:
            second_row = await second.get(MeetingOccurrence, meeting)
            assert second_row is not None and second_row.state == "scheduled"
            assert await claim(second, second_row, state="scheduled", values={"state": "running"})
        # Both read "scheduled"; the second committed first, so the first's UPDATE matches nothing.
        assert not await claim(first, first_row, state="scheduled", values={"state": "missed", "reason": "bot down"})
    async with database.session() as session:
        row = await session.get(MeetingOccurrence, meeting)
        assert row is not None and (row.state, row.reason) == ("running", None)


async def test_a_won_claim_reads_the_row_back_in_its_own_statement(database: Database) -> None:
    meeting = await add_meeting(database)
    async with database.session() as session:
        row = await session.get(MeetingOccurrence, meeting)
        assert row is not None
        with statements(database) as seen:
            assert await claim(session, row, state="scheduled", values={"state": "running", "phase_index": 2})
        assert (row.state, row.phase_index) == ("running", 2)
    assert len(seen) == 1 and seen[0].startswith("UPDATE") and "RETURNING" in seen[0], seen


async def test_a_won_claim_shows_what_another_process_changed_since_the_row_was_read(
    database: Database, two_processes: tuple[PausingDatabase, Database]
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite refuses a write on a snapshot another writer has changed since it was read")
    meeting = await add_meeting(database)
    first_db, second_db = two_processes
    async with first_db.session() as first:
        row = await first.get(MeetingOccurrence, meeting)
        assert row is not None and row.title == "Tuesday SMART"
        async with second_db.session() as second:
            await second.execute(
                update(MeetingOccurrence).where(MeetingOccurrence.id == meeting).values(title="Renamed SMART")
            )
        assert await claim(first, row, state="scheduled", values={"state": "running"})
        assert (row.state, row.title) == ("running", "Renamed SMART")
