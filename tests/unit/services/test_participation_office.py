"""The central office's server: configuration, the once-a-month digest claim, and groups' milestones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.services.participation.office import OfficeConfig, ordinal, previous_month
from bot.services.participation.report import SUMMARY
from bot.services.participation.service import ParticipationService
from tests.unit.services.test_participation_export import meeting

OCTOBER = datetime(2026, 10, 6, 18, 0, tzinfo=UTC)


@pytest.fixture
def office(database, clock):
    clock.set(datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
    return ParticipationService(database, clock).office


async def test_one_office_server_at_a_time(office) -> None:
    assert await office.config() is None
    await office.configure(1, 2, 3)
    assert await office.configure(4, 5, 6) == OfficeConfig(4, 5, 6, None)
    assert await office.config() == OfficeConfig(4, 5, 6, None)
    assert await office.clear()
    assert not await office.clear()
    assert await office.config() is None


async def test_the_digest_is_claimed_once_a_month(office, clock) -> None:
    assert await office.claim_digest() is None  # no office server yet
    await office.configure(4, 5, 6)
    assert await office.claim_digest() == (date(2026, 10, 1), date(2026, 10, 31))
    assert await office.claim_digest() is None
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    assert await office.claim_digest() is None
    clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    assert await office.claim_digest() == (date(2026, 11, 1), date(2026, 11, 30))
    await office.configure(7, 8, 9)  # moving the office keeps the digest record
    assert (await office.config()).last_digest_month == "2026-11"


async def test_celebrations_are_milestones_about_meetings(office, database) -> None:
    rows = [meeting(n, 11, OCTOBER - timedelta(days=7 * n), attendees=10) for n in range(1, 10)]  # 9 before October
    rows += [meeting(20, 11, OCTOBER, attendees=12), meeting(21, 11, OCTOBER + timedelta(days=7), attendees=9)]
    rows += [meeting(30, 22, OCTOBER, attendees=3), meeting(31, 22, OCTOBER + timedelta(days=1), outcome="missed")]
    async with database.session() as session:
        session.add_all(rows)
    found = await office.celebrations(date(2026, 10, 1), date(2026, 10, 31))
    assert [(c.guild_id, c.text) for c in found] == [
        (11, "held its 10th meeting"),
        (11, "welcomed its 100th attendance"),
        (11, "held every one of its 2 meetings"),
        (22, "held its first meeting"),
    ]


async def test_the_report_is_written_under_disclosure_control(office, database, tmp_path) -> None:
    async with database.session() as session:
        session.add(meeting(1, 11, OCTOBER, attendees=3))
    report = await office.report(date(2026, 10, 1), date(2026, 10, 31), tmp_path)
    assert report.summary == tmp_path / SUMMARY and len(report.charts) == 4
    assert report.total["attendees"] == 5  # the all-groups total: rounded, not hidden
    assert report.figure("attendees") == "fewer than 8"  # but shown as what it is: a small number
    assert report.groups == (
        {
            "guild_id": "11",
            "name": "Group 11",
            "meetings": 1,
            "meetings_held": 1,
            "missed_no_facilitator": 0,
            "missed_bot_down": 0,
            "missed_cancelled": 0,
            "missed_other": 0,
        },
    )


def test_month_and_ordinal_helpers() -> None:
    assert previous_month(date(2027, 1, 15)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert previous_month(date(2028, 3, 1)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip
