"""One group's upcoming meetings are read by the group's index on SQLite, not by scanning every group's.

The bot never runs ANALYZE, so SQLite picks indexes by their shape alone. An index on meetings' (state, starts_at)
matched two of the three conditions of "this group's scheduled meetings from now on" and won over the group's own
index: every group's upcoming meetings were read for each group (a start with 1,000 groups stayed busy 2.5 s
longer), so migration 0013 does not add one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db.engine import Database
from bot.services.meetings.picking import series_picks, upcoming_meeting_picks
from tests.fixtures.db import FakeClock, plans, statements_with_parameters
from tests.unit.services.test_meeting_timers import occurrence

GUILD = 1


@pytest.mark.parametrize("database_backend", ["sqlite"], indirect=True)
async def test_a_groups_upcoming_meetings_are_found_by_the_groups_index(database: Database, clock: FakeClock) -> None:
    async with database.session() as session:
        for guild_id in (GUILD, 2):
            starts = clock.now() + timedelta(days=guild_id)
            session.add(occurrence(guild_id, state="scheduled", starts_at=starts, ends_at=starts + timedelta(hours=1)))
    with statements_with_parameters(database) as ran:
        assert len(await upcoming_meeting_picks(database, clock, GUILD, "")) == 1
        await series_picks(database, clock, GUILD, "", with_next_meeting=True)
    lines = await plans(database, ran)
    meeting_reads = [(line, statement) for statement, line in lines if "meeting_occurrence" in line]
    assert len(meeting_reads) == 2, meeting_reads
    assert all("guild_id=?" in line for line, _ in meeting_reads), meeting_reads
