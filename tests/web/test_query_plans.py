"""The dashboard's reads on SQLite find meetings and their duties by index, never by walking history.

The bot never runs ANALYZE, so SQLite has no statistics and its plans depend on the indexes alone, not on how many
rows there are: a plan seen on this small seed is the plan a national year gets. Before migration 0013, "is each
group's next meeting confirmed?" read every confirmed duty ever held, once per group (10 s with a national year of
duties).
"""

from __future__ import annotations

import pytest

from bot.db.engine import Database
from bot.services.participation.dashboard import Dashboard
from tests.fixtures.db import FakeClock, plans, statements_with_parameters
from tests.web.conftest import NOW, seed

# Tables that grow with every meeting held: reading them other than by an index that narrows to what is asked
# costs time in proportion to the group's (or the nation's) history.
HISTORY_TABLES = ("meeting_occurrence", "rota_assignment")


@pytest.mark.parametrize("database_backend", ["sqlite"], indirect=True)
async def test_the_overview_reads_meetings_and_their_duties_by_index(database: Database) -> None:
    await seed(database, FakeClock(NOW))
    with statements_with_parameters(database) as ran:
        await Dashboard(database, FakeClock(NOW)).overview(NOW.date(), NOW)
    lines = await plans(database, ran)
    assert any("rota_assignment" in statement for statement, _ in lines), "the overview no longer reads duties"
    walks = [
        (line, statement)
        for statement, line in lines
        for table in HISTORY_TABLES
        # A SCAN reads the whole table (or a whole index); a search of duties by their status alone reads every
        # duty ever held in that status.
        if line.startswith(f"SCAN {table}") or (line.startswith(f"SEARCH {table}") and "(status=?)" in line)
    ]
    assert not walks, walks
