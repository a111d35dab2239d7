"""Disclosure control: no small count published, rounding within half a step, averages only over enough people."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import assume, given, settings, strategies as st

from bot.domain.disclosure import (
    DisclosurePolicy,
    protect_count,
    protect_mean,
    protect_median,
    protect_row,
    protect_total,
    round_half_up_to,
)

DEFAULT = DisclosurePolicy()
EXACT = DisclosurePolicy(exact=True)
COUNTS = st.integers(min_value=0, max_value=10**9)
SMALL_COUNTS = st.integers(min_value=0, max_value=60)

fast = settings(deadline=None, max_examples=200)


@st.composite
def policies(draw: st.DrawFn) -> DisclosurePolicy:
    threshold = draw(st.integers(min_value=1, max_value=30))
    rounding = draw(st.integers(min_value=1, max_value=12))
    assume(round_half_up_to(threshold, rounding) >= threshold)
    return DisclosurePolicy(threshold, rounding, draw(st.integers(min_value=1, max_value=30)))


def assert_published(true: int, published: int | None, policy: DisclosurePolicy) -> None:
    """Check one published count against the rule: None, 0 for 0, or a rounded multiple at least the threshold."""
    if published is None:
        assert 1 <= true < policy.threshold
        return
    assert not 1 <= published < policy.threshold
    assert published % policy.rounding == 0
    assert 2 * abs(published - true) <= policy.rounding
    assert (published == 0) == (true == 0)


@pytest.mark.parametrize(
    ("n", "base", "rounded"),
    [(0, 5, 0), (2, 5, 0), (3, 5, 5), (8, 5, 10), (12, 5, 10), (13, 5, 15), (15, 5, 15), (17, 5, 15), (18, 5, 20)]
    + [(15, 10, 20), (25, 10, 30), (14, 10, 10), (1, 2, 2), (7, 1, 7)],
)
def test_round_half_up_examples(n: int, base: int, rounded: int) -> None:
    assert round_half_up_to(n, base) == rounded


@fast
@given(COUNTS, st.integers(min_value=1, max_value=1000))
def test_rounding_is_to_the_nearest_multiple_with_halves_up(n: int, base: int) -> None:
    rounded = round_half_up_to(n, base)
    assert rounded % base == 0
    assert 2 * abs(rounded - n) <= base
    if 2 * abs(rounded - n) == base:
        assert rounded > n


@pytest.mark.parametrize(
    ("n", "published"), [(0, 0), (1, None), (5, None), (7, None), (8, 10), (10, 10), (12, 10), (13, 15), (102, 100)]
)
def test_the_nhs_rule_examples(n: int, published: int | None) -> None:
    assert protect_count(n, DEFAULT) == published


@fast
@given(COUNTS)
def test_no_published_count_between_1_and_7(n: int) -> None:
    published = protect_count(n, DEFAULT)
    assert published is None or not 1 <= published <= 7
    assert published is None or (published % 5 == 0 and abs(published - n) <= 2.5)
    assert (published == 0) == (n == 0)
    assert (published is None) == (1 <= n <= 7)


@fast
@given(COUNTS, policies())
def test_any_valid_policy_keeps_the_rule(n: int, policy: DisclosurePolicy) -> None:
    assert_published(n, protect_count(n, policy), policy)


@fast
@given(COUNTS, st.one_of(st.just(DEFAULT), policies()))
def test_exact_mode_returns_values_unchanged(n: int, policy: DisclosurePolicy) -> None:
    exact = DisclosurePolicy(policy.threshold, policy.rounding, policy.min_people_for_averages, exact=True)
    assert protect_count(n, exact) == n
    assert protect_total(n, exact) == n
    assert protect_mean(float(n), max(n, 1), exact) == n / max(n, 1)


@fast
@given(st.lists(SMALL_COUNTS, max_size=40), policies())
def test_totals_are_the_rounded_true_total(cells: list[int], policy: DisclosurePolicy) -> None:
    published_cells = [protect_count(cell, policy) for cell in cells]
    for true, published in zip(cells, published_cells, strict=True):
        assert_published(true, published, policy)
    total = protect_total(sum(cells), policy)
    # The total is never suppressed, only rounded, and is not the sum of the (rounded, partly suppressed) cells.
    assert total is not None
    assert total % policy.rounding == 0
    assert 2 * abs(total - sum(cells)) <= policy.rounding
    assert total == round_half_up_to(sum(cells), policy.rounding)


@fast
@given(st.lists(st.floats(min_value=1, max_value=5), max_size=30), policies())
def test_averages_need_enough_people(values: list[float], policy: DisclosurePolicy) -> None:
    enough = len(values) >= policy.min_people_for_averages
    mean = protect_mean(sum(values), len(values), policy)
    median = protect_median(values, policy)
    if enough and values:
        assert mean == sum(values) / len(values)
        assert median == statistics.median(values)
    else:
        assert mean is None
        assert median is None


@pytest.mark.parametrize(("people", "shown"), [(0, False), (7, False), (8, True), (40, True)])
def test_default_averages_need_eight_people(people: int, shown: bool) -> None:
    assert (protect_mean(4.0 * people, people, DEFAULT) is not None) is shown
    assert (protect_median([4.0] * people, DEFAULT) is not None) is shown
    assert protect_median([4.0] * people, EXACT) == (4.0 if people else None)


COUNT_COLUMNS = ("attendees", "new", "returning", "unlinked", "check_ins")
AVERAGE_COLUMNS = ("helpfulness_mean", "helpfulness_median")


@st.composite
def rows(draw: st.DrawFn) -> dict[str, int | float | None]:
    row: dict[str, int | float | None] = {"occurrence": draw(st.integers(min_value=1, max_value=10**6))}
    for column in COUNT_COLUMNS:
        row[column] = draw(st.one_of(st.none(), SMALL_COUNTS))
    for column in AVERAGE_COLUMNS:
        row[column] = draw(st.one_of(st.none(), st.floats(min_value=1, max_value=5)))
    return row


@fast
@given(rows(), st.integers(min_value=0, max_value=30), st.one_of(st.just(DEFAULT), policies()), st.booleans())
def test_rows_publish_no_small_count_and_no_thin_average(
    row: dict[str, int | float | None], people: int, policy: DisclosurePolicy, total: bool
) -> None:
    published = protect_row(row, COUNT_COLUMNS, AVERAGE_COLUMNS, people, policy, total=total)
    assert published.keys() == row.keys()
    assert published["occurrence"] == row["occurrence"]
    for column in COUNT_COLUMNS:
        true = row[column]
        if true is None:
            assert published[column] is None
        elif total:
            assert published[column] == protect_total(true, policy)  # type: ignore[arg-type]
        else:
            assert_published(true, published[column], policy)  # type: ignore[arg-type]
    for column in AVERAGE_COLUMNS:
        expected = row[column] if people >= policy.min_people_for_averages else None
        assert published[column] == expected


@fast
@given(rows(), st.integers(min_value=0, max_value=30))
def test_exact_rows_are_unchanged(row: dict[str, int | float | None], people: int) -> None:
    assert protect_row(row, COUNT_COLUMNS, AVERAGE_COLUMNS, people, EXACT) == row


def test_row_mistakes_are_refused() -> None:
    row = {"attendees": 3, "mean": 2.5}
    with pytest.raises(ValueError, match="both"):
        protect_row(row, ["attendees"], ["attendees"], 3, DEFAULT)
    with pytest.raises(ValueError, match="no columns"):
        protect_row(row, ["new"], [], 3, DEFAULT)
    with pytest.raises(TypeError):
        protect_row(row, ["mean"], [], 3, DEFAULT)


@pytest.mark.parametrize(
    "changes",
    [{"threshold": 0}, {"rounding": 0}, {"min_people_for_averages": 0}, {"threshold": 7}, {"threshold": True}],
)
def test_unsafe_policies_are_refused(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        DisclosurePolicy(**changes)  # type: ignore[arg-type]


def test_counts_must_be_whole_and_not_negative() -> None:
    with pytest.raises(ValueError):
        protect_count(-1, DEFAULT)
    with pytest.raises(TypeError):
        protect_count(2.0, DEFAULT)  # type: ignore[arg-type]


def test_policy_metadata_for_export_headers() -> None:
    assert DEFAULT.as_metadata() == {"threshold": 8, "rounding": 5, "min_people_for_averages": 8, "exact": False}
