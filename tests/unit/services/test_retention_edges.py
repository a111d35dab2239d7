"""The edges of attendance-mark retention: 13 months by default, to the minute, and each group's own period alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.engine import Database
from bot.db.models_participation import ParticipationMark, ParticipationOccurrence
from bot.domain.meeting_format import load_templates
from bot.services.participation.service import ParticipationKeys, ParticipationService
from tests.fixtures.db import FakeClock

GUILD, OTHER_GUILD = 1, 2
MINUTE = timedelta(minutes=1)
# "Now" and the instant exactly 13 calendar months earlier, written out rather than computed like the code does.
EDGES = [
    (datetime(2027, 3, 15, 12, 0, tzinfo=UTC), datetime(2026, 2, 15, 12, 0, tzinfo=UTC)),
    (datetime(2027, 1, 10, 3, 30, tzinfo=UTC), datetime(2025, 12, 10, 3, 30, tzinfo=UTC)),
    (datetime(2026, 12, 1, 19, 0, tzinfo=UTC), datetime(2025, 11, 1, 19, 0, tzinfo=UTC)),
]


@pytest.fixture
def service(database: Database, clock: FakeClock) -> ParticipationService:
    return ParticipationService(database, clock, load_templates(), ParticipationKeys(bytes(32), bytes(range(32))))


class Marks:
    """Attendance marks written straight into the table, one meeting each, named by the test."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.ids: dict[str, int] = {}

    async def add(self, name: str, guild_id: int, starts_at: datetime) -> None:
        occurrence_id = len(self.ids) + 1
        async with self.database.session() as session:
            session.add(
                ParticipationOccurrence(
                    occurrence_id=occurrence_id,
                    guild_id=guild_id,
                    schedule_id=None,
                    period=str(starts_at.year),
                    local_date=starts_at.date().isoformat(),
                    local_week="2026-W01",
                    local_month=starts_at.date().isoformat()[:7],
                    scheduled_start=starts_at,
                    scheduled_end=starts_at + timedelta(minutes=90),
                    attendees=1,
                    finalised_at=starts_at + timedelta(minutes=90),
                    created_at=starts_at,
                )
            )
            await session.flush()
            session.add(
                ParticipationMark(
                    occurrence_id=occurrence_id,
                    guild_id=guild_id,
                    period=str(starts_at.year),
                    pseudonym=f"p{occurrence_id:063d}",
                    starts_at=starts_at,
                )
            )
        self.ids[name] = occurrence_id

    async def left(self) -> set[str]:
        """Return the names of the marks still kept."""
        async with self.database.session() as session:
            kept = set(await session.scalars(select(ParticipationMark.occurrence_id)))
        return {name for name, occurrence_id in self.ids.items() if occurrence_id in kept}

    async def meetings(self) -> int:
        async with self.database.session() as session:
            return len(list(await session.scalars(select(ParticipationOccurrence.occurrence_id))))


@pytest.mark.parametrize(("now", "thirteen_months_ago"), EDGES)
async def test_a_mark_is_kept_for_thirteen_months_and_purged_a_minute_later(
    database: Database, clock: FakeClock, service: ParticipationService, now: datetime, thirteen_months_ago: datetime
) -> None:
    marks = Marks(database)
    await marks.add("twelve months and a day", GUILD, thirteen_months_ago + timedelta(days=30))
    await marks.add("a minute inside thirteen months", GUILD, thirteen_months_ago + MINUTE)
    await marks.add("exactly thirteen months", GUILD, thirteen_months_ago)
    await marks.add("a minute past thirteen months", GUILD, thirteen_months_ago - MINUTE)
    await marks.add("two years", GUILD, thirteen_months_ago - timedelta(days=365))
    clock.set(now)

    assert await service.purge_marks() == 2

    assert await marks.left() == {
        "twelve months and a day",
        "a minute inside thirteen months",
        "exactly thirteen months",
    }
    assert await marks.meetings() == 5  # the meetings' numbers stay


async def test_a_group_keeping_marks_for_less_purges_only_its_own(
    database: Database, clock: FakeClock, service: ParticipationService
) -> None:
    now = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
    clock.set(now)
    shorter, default, longer, other_shorter = GUILD, OTHER_GUILD, 3, 4
    await service.update_settings(shorter, period_months=6, retention_months=7)
    await service.update_settings(longer, retention_months=24)
    await service.update_settings(other_shorter, period_months=6, retention_months=9)
    marks = Marks(database)
    eight_months_ago = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
    # Each group's own edge: 7, 13, 24 and 9 months before now.
    edges = {
        shorter: datetime(2026, 8, 15, 12, 0, tzinfo=UTC),
        default: datetime(2026, 2, 15, 12, 0, tzinfo=UTC),
        longer: datetime(2025, 3, 15, 12, 0, tzinfo=UTC),
        other_shorter: datetime(2026, 6, 15, 12, 0, tzinfo=UTC),
    }
    for guild_id, edge in edges.items():
        await marks.add(f"{guild_id}: eight months", guild_id, eight_months_ago)
        await marks.add(f"{guild_id}: a minute inside its retention", guild_id, edge + MINUTE)
        await marks.add(f"{guild_id}: a minute past its retention", guild_id, edge - MINUTE)

    await service.purge_marks()

    assert await marks.left() == {
        f"{default}: eight months",
        f"{longer}: eight months",
        f"{other_shorter}: eight months",
        *(f"{guild_id}: a minute inside its retention" for guild_id in edges),
    }
