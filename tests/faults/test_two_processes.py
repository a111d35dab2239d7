"""Two bot processes on one database, 500 meetings due in the same instant: each opened once, each step sent once.

"Two processes" are two `MeetingRunner`s and two `OutboxService`s, each on its own `Database` (its own engine
and connection pool), ticking at the same time: the same conditional-UPDATE claims race across connections
exactly as they would across processes. On PostgreSQL (TEST_DATABASE_URL) this is the supported scale-out;
on SQLite it is two engines on one file, where a writer may be told the file is busy and simply tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.db.models import GuildConfig, MeetingOccurrence, Outbox
from bot.db.models_rota import RotaMember, RotaSettings
from bot.domain.meeting_format import load_templates
from bot.domain.tools import default_content_dir, load_library
from bot.services.meetings.runner import MeetingRunner
from bot.services.outbox import OutboxItem, OutboxService
from bot.services.rota.rows import ensure_settings
from bot.services.rota.service import RotaService
from bot.services.rota.timers import RotaTimers
from tests.fixtures.db import FakeClock, POSTGRES_URL, reset_postgres

DUE = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
# The 500 on PostgreSQL; fewer on SQLite, where two writers on one file is not the supported set-up.
MEETINGS = {"postgresql": 500, "sqlite": int(os.environ.get("FAULT_SQLITE_MEETINGS", "100"))}
FIRST_GUILD = 10**17
# What opening one voice meeting puts in the outbox: thread, late-start note (none), opening statement,
# voice line, first phase, panel, meeting_started notice.
OPENING_KINDS = Counter({"open_venue": 1, "message": 3, "panel": 1, "notify": 1})


async def seed(database: Database, count: int) -> None:
    """Give each of `count` groups one voice meeting starting at DUE, set up but not yet started."""
    created = DUE - timedelta(days=7)
    async with database.session() as session:
        for index in range(count):
            guild_id = FIRST_GUILD + index
            session.add(
                GuildConfig(
                    guild_id=guild_id,
                    timezone="Europe/London",
                    meetings_channel_id=guild_id + 1,
                    facilitators_channel_id=guild_id + 2,
                    coordinators_channel_id=guild_id + 3,
                    created_at=created,
                    updated_at=created,
                )
            )
            session.add(
                MeetingOccurrence(
                    guild_id=guild_id,
                    schedule_id=None,
                    local_start="2026-12-01T19:00:00",
                    starts_at=DUE,
                    ends_at=DUE + timedelta(minutes=90),
                    state="scheduled",
                    title=f"Group {index} SMART",
                    template_slug="standard-90",
                    location_kind="voice",
                    channel_id=guild_id + 4,
                    phase_timings="[]",
                    created_at=created,
                )
            )


def count_wins(runner: MeetingRunner) -> list[int]:
    """Count the meetings this runner opened (its `_start_one` returned True)."""
    won = [0]
    start_one = runner._start_one

    async def counted(*args: object, **kwargs: object) -> bool:
        opened = await start_one(*args, **kwargs)  # type: ignore[arg-type]
        won[0] += opened
        return opened

    runner._start_one = counted  # type: ignore[method-assign]
    return won


async def until_done(work, *, busy: list[int], attempts: int = 50) -> None:
    """Run `work` until it completes; SQLite may refuse a second writer now and then (counted in `busy`)."""
    for _ in range(attempts):
        try:
            await work()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            busy.append(1)
            await asyncio.sleep(0)
        else:
            return
    raise AssertionError(f"still refused after {attempts} attempts")


async def drain(outbox: OutboxService, claimed: list[OutboxItem], busy: list[int]) -> None:
    """Claim and mark sent batches until none are left, as a process's delivery loop would (without Discord)."""
    while True:
        batch: list[OutboxItem] = []

        async def claim(batch: list[OutboxItem] = batch) -> None:
            batch.extend(await outbox.claim_batch())

        await until_done(claim, busy=busy)
        if not batch:
            return
        claimed.extend(batch)
        # Deliver (mark sent) as a process does: a meeting's later steps are claimable only after its earlier ones.
        for item in batch:

            async def sent(item: OutboxItem = item) -> None:
                await outbox.mark_sent(item.id)

            await until_done(sent, busy=busy)


async def test_two_processes_open_each_of_500_due_meetings_exactly_once(empty_database_url: str) -> None:
    meetings = MEETINGS["sqlite" if empty_database_url.startswith("sqlite") else "postgresql"]
    first, second = Database(empty_database_url), Database(empty_database_url)
    try:
        await upgrade(first)
        await seed(first, meetings)
        clock = FakeClock(DUE + timedelta(seconds=1))
        templates, library = load_templates(), load_library(default_content_dir())
        runners = [MeetingRunner(db, clock, templates, library) for db in (first, second)]
        busy: list[int] = []

        wins = [count_wins(runner) for runner in runners]

        await asyncio.gather(*(until_done(runner.tick, busy=busy) for runner in runners))

        # Usually each process opens some of them, but not always: on a loaded machine (and on SQLite, one writer
        # at a time) the first to start may open all 500 before the other looks. Exactly once holds either way.
        assert sum(won[0] for won in wins) == meetings, wins

        async with first.session() as session:
            states = Counter((await session.scalars(select(MeetingOccurrence.state))).all())
            rows = (await session.execute(select(Outbox.occurrence_id, Outbox.kind))).all()
            late = await session.scalar(
                select(func.count()).select_from(MeetingOccurrence).where(MeetingOccurrence.started_late.is_(True))
            )
        assert states == {"running": meetings}
        assert late == 0
        per_meeting: dict[int | None, Counter[str]] = {}
        for occurrence_id, kind in rows:
            per_meeting.setdefault(occurrence_id, Counter())[kind] += 1
        assert len(per_meeting) == meetings
        doubled = {occurrence: kinds for occurrence, kinds in per_meeting.items() if kinds != OPENING_KINDS}
        assert not doubled, (
            f"{len(doubled)} meeting(s) opened more or less than once, e.g. {next(iter(doubled.items()))}"
        )

        outboxes = [OutboxService(db, clock) for db in (first, second)]
        claimed: list[list[OutboxItem]] = [[], []]
        await asyncio.gather(*(drain(outbox, mine, busy) for outbox, mine in zip(outboxes, claimed, strict=True)))
        ids = Counter(item.id for mine in claimed for item in mine)
        assert len(ids) == len(rows) and set(ids.values()) == {1}, "an outbox item was claimed twice or never"
        async with first.session() as session:
            left = await session.scalar(select(func.count()).select_from(Outbox).where(Outbox.state != "sent"))
        assert left == 0
        if not first.is_sqlite:
            assert not busy  # PostgreSQL serialises the claims with row locks: nobody is ever refused
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(
    POSTGRES_URL is None, reason="TEST_DATABASE_URL is not set (on SQLite a process has one connection)"
)
async def test_two_processes_posting_the_weekly_rota_at_once_post_it_once_and_both_carry_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert POSTGRES_URL is not None
    # Let both read "no settings yet" before either writes: the overlap that happens now and then by itself.
    both_read = asyncio.Barrier(2)
    flush = AsyncSession.flush

    async def flush_together(self: AsyncSession, objects: Any = None) -> None:
        if both_read.n_waiting or (not both_read.broken and any(isinstance(o, RotaSettings) for o in self.new)):
            with contextlib.suppress(TimeoutError, asyncio.BrokenBarrierError):
                await asyncio.wait_for(both_read.wait(), 2)
        await flush(self, objects)

    monkeypatch.setattr(AsyncSession, "flush", flush_together)
    await reset_postgres(POSTGRES_URL)
    first, second = Database(POSTGRES_URL), Database(POSTGRES_URL)
    try:
        await upgrade(first)
        await seed(first, 1)
        async with first.session() as session:
            session.add(
                RotaMember(
                    guild_id=FIRST_GUILD, user_id=42, roles="lead", trained_since=date(2024, 1, 1), joined_at=DUE
                )
            )
        clock = FakeClock(DUE - timedelta(hours=5))  # a Tuesday afternoon: this week's post is due
        timers = [RotaTimers(db, clock, RotaService(db, clock)) for db in (first, second)]
        outcomes = await asyncio.gather(*(t.tick() for t in timers), return_exceptions=True)
        assert [o for o in outcomes if isinstance(o, BaseException)] == []
        async with first.session() as session:
            posts = (await session.scalars(select(Outbox.payload).where(Outbox.kind == "message"))).all()
        assert len(posts) == 1 and "This week's rota" in posts[0]
    finally:
        await first.dispose()
        await second.dispose()


async def lock_waited_on(database: Database, racer: asyncio.Task[Any], timeout: float = 10.0) -> None:
    """Return once PostgreSQL shows a session of this database waiting for a lock (or `racer` is done without one)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(timeout):
        while not racer.done():
            async with database.session() as session:  # each look waits on the server, giving the racer its turn
                if await session.scalar(waiting):
                    return


@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None, reason="TEST_DATABASE_URL is not set (SQLite has one writer at a time)")
async def test_a_transaction_making_the_rota_settings_row_while_another_has_just_made_it_reads_that_row() -> None:
    # The overlap the weekly post and /rota generate can hit: the second insert waits for the first to commit.
    assert POSTGRES_URL is not None
    await reset_postgres(POSTGRES_URL)
    first, second = Database(POSTGRES_URL), Database(POSTGRES_URL)
    made, release = asyncio.Event(), asyncio.Event()

    async def make_and_hold() -> int:
        async with first.session() as session:
            settings = await ensure_settings(session, first.is_sqlite, FIRST_GUILD)
            made.set()
            await release.wait()
            settings.max_consecutive = 3
            return settings.max_consecutive

    async def make_too() -> int:
        await made.wait()
        async with second.session() as session:
            return (await ensure_settings(session, second.is_sqlite, FIRST_GUILD)).max_consecutive

    try:
        await upgrade(first)
        holder, racer = asyncio.create_task(make_and_hold()), asyncio.create_task(make_too())
        await made.wait()
        await lock_waited_on(first, racer)
        assert not racer.done(), "the second insert should wait for the first transaction"
        release.set()
        assert await asyncio.gather(holder, racer) == [3, 3]
        async with first.session() as session:
            assert await session.scalar(select(func.count()).select_from(RotaSettings)) == 1
    finally:
        await first.dispose()
        await second.dispose()
