"""Disclosure control for published participation figures: small counts suppressed, the rest rounded.

The default is the NHS Digital rule for published statistics: below the all-groups total, counts from 1 to 7 are
suppressed and every other count is rounded to the nearest 5; means and medians over fewer than 8 people are
suppressed. A suppressed cell is None here; writers render it as "*" (CSV, Markdown) or null (JSON).

What "totals consistent with the rounding rule" means:

- every published cell of a group row is None, 0 (only when the true count is 0) or a multiple of `rounding` that
  is at least `threshold` and within rounding/2 of the true count;
- the all-groups total is never suppressed: it is the true total rounded the same way (`protect_total`), not the
  sum of the published cells, which would add up each cell's rounding error and leak suppressed cells.

Rounding a total independently means a reader cannot recover a suppressed cell by subtracting the published cells
from the total: the difference is blurred by the rounding of every term. The published total may therefore differ
from the sum of the published cells; that is expected, and writers should say so beside the total.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

# Writers print this for a suppressed cell in text formats; JSON writes null.
SUPPRESSED = "*"

# Stamped on every file written with exact=True, so exact figures cannot pass for publishable ones.
NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION"

Cell = int | float | None


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    """How published figures are protected; the defaults are the NHS Digital rule, `exact=True` turns it off."""

    threshold: int = 8
    rounding: int = 5
    min_people_for_averages: int = 8
    exact: bool = False

    def __post_init__(self) -> None:
        """Refuse settings that would publish a small count or make no sense."""
        for name in ("threshold", "rounding", "min_people_for_averages"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number (got {value!r})")
        # Rounding must not pull the smallest published count below the threshold (threshold 7 with rounding 5
        # would publish 5 for a true 7, both revealing it and showing a "small" number).
        if round_half_up_to(self.threshold, self.rounding) < self.threshold:
            raise ValueError(
                f"threshold {self.threshold} rounds down to {round_half_up_to(self.threshold, self.rounding)} "
                f"with rounding {self.rounding}; choose a threshold that rounds to itself or up"
            )

    def as_metadata(self) -> dict[str, int | bool]:
        """Return the policy as plain values, for the header every export carries."""
        return asdict(self)


def round_half_up_to(n: int, base: int) -> int:
    """Round a whole number to the nearest multiple of `base`, halves upwards: 8→10, 12→10, 13→15, 15→15.

    With an odd base such as 5 no whole number lies exactly halfway, so "halves up" only matters for even bases
    (base 10: 15→20, 25→30, never banker's rounding to even). The result is always within base/2 of `n`. Integer
    arithmetic: floor((2n + base) / 2base) * base, exact for any size of count.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("only whole counts are rounded")
    if isinstance(base, bool) or not isinstance(base, int) or base < 1:
        raise ValueError("the rounding base must be a positive whole number")
    return (2 * n + base) // (2 * base) * base


def protect_count(n: int, policy: DisclosurePolicy) -> int | None:
    """Return a group-level count as published: 0 stays 0, 1 to threshold-1 suppressed (None), the rest rounded."""
    _check_count(n)
    if policy.exact or n == 0:
        return n
    if n < policy.threshold:
        return None
    return round_half_up_to(n, policy.rounding)


def protect_total(n: int, policy: DisclosurePolicy) -> int:
    """Return the all-groups total as published: rounded like any count but never suppressed."""
    _check_count(n)
    return n if policy.exact else round_half_up_to(n, policy.rounding)


def protect_mean(values_sum: float, n: int, policy: DisclosurePolicy) -> float | None:
    """Return the mean of `n` people's values, or None when there are too few people to publish it."""
    _check_count(n)
    if n == 0 or (not policy.exact and n < policy.min_people_for_averages):
        return None
    return values_sum / n


def protect_median(values: Sequence[float], policy: DisclosurePolicy) -> float | None:
    """Return the median of one value per person, or None when there are too few people to publish it."""
    if not values or (not policy.exact and len(values) < policy.min_people_for_averages):
        return None
    return float(statistics.median(values))


def protect_row(
    row: Mapping[str, Cell],
    count_columns: Iterable[str],
    average_columns: Iterable[str],
    people: int,
    policy: DisclosurePolicy,
    *,
    total: bool = False,
) -> dict[str, Cell]:
    """Return a row as published: counts protected, averages over `people` kept only when there are enough of them.

    Columns named in neither list (labels, dates, ids of groups) pass through unchanged. A None cell stays None. With
    `total=True` the row is the all-groups total: its counts are rounded but not suppressed.
    """
    counts = set(count_columns)
    averages = set(average_columns)
    if both := counts & averages:
        raise ValueError(f"columns cannot be both counts and averages: {sorted(both)}")
    if missing := (counts | averages) - row.keys():
        raise ValueError(f"the row has no columns {sorted(missing)}")
    _check_count(people)
    published = dict(row)
    if policy.exact:
        return published
    hide_averages = people < policy.min_people_for_averages
    for column in counts:
        value = row[column]
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"count column {column!r} must hold a whole number")
        published[column] = protect_total(value, policy) if total else protect_count(value, policy)
    for column in averages:
        if hide_averages:
            published[column] = None
    return published


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("a count must be a whole number")
    if n < 0:
        raise ValueError("a count cannot be negative")
