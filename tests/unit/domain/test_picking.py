"""Pick lists: names in the group's wall time, within Discord's limits, found by title, day, date, time or id."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.picking import MAX_NAME, MAX_PICKS, Pick, choose, make_pick, matches, when_text, when_words

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 12, 1)
TUESDAY_7PM = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # GMT in winter: 19:00 in London


def meeting(occurrence_id: int, title: str, starts_at: datetime, zone: ZoneInfo = LONDON) -> Pick:
    return make_pick(occurrence_id, title, [when_text(starts_at, zone, TODAY)], when_words(starts_at, zone, TODAY))


def test_the_name_is_the_title_and_the_groups_wall_time() -> None:
    assert meeting(7, "Tuesday evening SMART", TUESDAY_7PM).name == "Tuesday evening SMART · Tue 8 Dec, 19:00"
    # The same instant in another group's zone is that group's wall time, across a date line too.
    assert meeting(7, "Evening", TUESDAY_7PM, ZoneInfo("Asia/Tokyo")).name == "Evening · Wed 9 Dec, 04:00"


def test_summer_time_keeps_the_wall_time() -> None:
    summer = datetime(2027, 6, 8, 18, 0, tzinfo=UTC)  # BST: 19:00 in London
    assert meeting(1, "SMART", summer).name == "SMART · Tue 8 Jun 2027, 19:00"


def test_a_long_title_is_shortened_but_the_time_is_kept() -> None:
    pick = meeting(1, "A" * 100, TUESDAY_7PM)
    assert len(pick.name) == MAX_NAME
    assert pick.name.endswith("A… · Tue 8 Dec, 19:00")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "tues",
        "Tuesday evening",
        "eve tue",
        "8 dec",
        "dec 8",
        "december",
        "19:00",
        "7pm",
        "7:00pm",
        "2026-12-08",
        "08/12",
        "42",
    ],
)
def test_what_people_type_finds_the_meeting(typed: str) -> None:
    assert matches(meeting(42, "Tuesday evening SMART", TUESDAY_7PM), typed)


@pytest.mark.parametrize("typed", ["wed", "morning", "9 dec", "20:00", "8pm", "43", "thursday smart"])
def test_what_does_not_fit_is_left_out(typed: str) -> None:
    assert not matches(meeting(42, "Tuesday evening SMART", TUESDAY_7PM), typed)


def test_today_and_tomorrow_are_words_too() -> None:
    assert matches(meeting(1, "SMART", datetime(2026, 12, 1, 19, tzinfo=UTC)), "today")
    assert matches(meeting(1, "SMART", datetime(2026, 12, 2, 19, tzinfo=UTC)), "tomorrow")
    assert not matches(meeting(1, "SMART", datetime(2026, 12, 2, 19, tzinfo=UTC)), "today")


def test_choose_keeps_the_order_puts_a_pasted_id_first_and_stops_at_25() -> None:
    picks = [meeting(n, "SMART", TUESDAY_7PM) for n in range(1, 40)]
    assert [p.value for p in choose(picks, "")] == list(range(1, MAX_PICKS + 1))
    # "3" starts 3 and 30-39, and 3 is the id someone pasted: it comes first.
    assert [p.value for p in choose(picks, "3")] == [3, *range(30, 40)]
    assert [p.value for p in choose(picks, "31")] == [31]
