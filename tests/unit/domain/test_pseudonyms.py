"""Pseudonyms: stable within a period, unlinkable across periods, guilds and keys, never echoing an id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
import struct
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from bot.domain.pseudonyms import (
    ALLOWED_PERIOD_MONTHS,
    PseudonymKey,
    evaluation_period,
    evaluation_period_bounds,
    is_meeting_token,
    meeting_token,
    period_key,
    pseudonym,
)

KEYS = st.binary(min_size=16, max_size=64)
# Real snowflakes have 17 to 20 digits; shorter ids would appear in any 64-digit hex string by chance (a user id of
# 7 is in most of them), which says nothing about the pseudonym.
SNOWFLAKES = st.integers(min_value=10**16, max_value=2**64 - 1)
PERIODS = st.sampled_from(["2025", "2026", "2026-H1", "2026-H2", "2026-Q3", "2026-04..2027-03"])
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31))
MONTHS = st.sampled_from(ALLOWED_PERIOD_MONTHS)
ANCHORS = st.integers(min_value=1, max_value=12)

fast = settings(deadline=None, max_examples=150)


def test_known_answer_pins_the_encoding() -> None:
    # A change here makes every member "new" mid-period: it must be deliberate, never a refactoring accident.
    key = bytes(range(32))
    guild_id, user_id = 123456789012345678, 987654321098765432
    derived = hmac.new(key, b"smart-meetings-bot/v1/period:2026", hashlib.sha256).digest()
    message = b"smart-meetings-bot/v1/member" + struct.pack(">QQ", guild_id, user_id)
    expected = hmac.new(derived, message, hashlib.sha256).hexdigest()
    assert expected == "2941ff6f5c7d54bef3578f6a87ddd9401872e58757df41b01b32fd174433c8d4"
    assert pseudonym(key, guild_id, user_id, "2026") == expected
    assert PseudonymKey(key).pseudonym(guild_id, user_id, "2026") == expected


@fast
@given(KEYS, SNOWFLAKES, SNOWFLAKES, PERIODS)
def test_stable_within_a_period_and_the_same_through_the_key_object(
    key: bytes, guild_id: int, user_id: int, period: str
) -> None:
    first = pseudonym(key, guild_id, user_id, period)
    assert pseudonym(key, guild_id, user_id, period) == first
    assert PseudonymKey(key).pseudonym(guild_id, user_id, period) == first
    assert len(first) == 64
    assert set(first) <= set("0123456789abcdef")


@fast
@given(KEYS, SNOWFLAKES, SNOWFLAKES, PERIODS, PERIODS)
def test_differs_across_periods(key: bytes, guild_id: int, user_id: int, period: str, other: str) -> None:
    same = pseudonym(key, guild_id, user_id, period) == pseudonym(key, guild_id, user_id, other)
    assert same == (period == other)


@fast
@given(KEYS, SNOWFLAKES, SNOWFLAKES, SNOWFLAKES, PERIODS)
def test_differs_across_guilds_and_users(key: bytes, guild_id: int, other_id: int, user_id: int, period: str) -> None:
    same_guilds = pseudonym(key, guild_id, user_id, period) == pseudonym(key, other_id, user_id, period)
    assert same_guilds == (guild_id == other_id)
    same_users = pseudonym(key, guild_id, user_id, period) == pseudonym(key, guild_id, other_id, period)
    assert same_users == (user_id == other_id)
    # Swapping the two ids must not collide either: the encoding is positional.
    if guild_id != user_id:
        assert pseudonym(key, guild_id, user_id, period) != pseudonym(key, user_id, guild_id, period)


@fast
@given(KEYS, KEYS, SNOWFLAKES, SNOWFLAKES, PERIODS)
def test_differs_across_keys(key: bytes, other_key: bytes, guild_id: int, user_id: int, period: str) -> None:
    same = pseudonym(key, guild_id, user_id, period) == pseudonym(other_key, guild_id, user_id, period)
    assert same == (key == other_key)


def _renderings(value: int) -> set[str]:
    """Return the ways an id could be written down: decimal, hex, octal, base32/64 of its text and of its bytes."""
    text = str(value).encode()
    raw = [value.to_bytes(8, "big"), value.to_bytes(8, "little"), value.to_bytes((value.bit_length() + 7) // 8, "big")]
    forms = {str(value), f"{value:x}", f"{value:o}"}
    for blob in [text, *raw]:
        for encoded in (base64.b64encode(blob), base64.urlsafe_b64encode(blob), base64.b32encode(blob)):
            forms.add(encoded.decode().rstrip("="))
        forms.add(blob.hex())
    return {form.lower() for form in forms}


@fast
@given(KEYS, SNOWFLAKES, SNOWFLAKES, PERIODS, st.integers(min_value=10**6, max_value=2**63))
def test_never_contains_an_id_in_any_rendering(
    key: bytes, guild_id: int, user_id: int, period: str, occurrence_id: int
) -> None:
    outputs = [pseudonym(key, guild_id, user_id, period), meeting_token(key, guild_id, user_id, occurrence_id)]
    for output in outputs:
        for form in _renderings(user_id) | _renderings(guild_id):
            assert form not in output.lower()


@fast
@given(KEYS, SNOWFLAKES, SNOWFLAKES, st.integers(min_value=0, max_value=2**64 - 1), PERIODS)
def test_meeting_tokens_are_per_meeting_and_marked_unlinked(
    key: bytes, guild_id: int, user_id: int, occurrence_id: int, period: str
) -> None:
    token = meeting_token(key, guild_id, user_id, occurrence_id)
    assert is_meeting_token(token)
    assert not is_meeting_token(pseudonym(key, guild_id, user_id, period))
    assert meeting_token(key, guild_id, user_id, occurrence_id) == token
    assert PseudonymKey(key).meeting_token(guild_id, user_id, occurrence_id) == token
    other_occurrence = (occurrence_id + 1) % 2**64
    assert meeting_token(key, guild_id, user_id, other_occurrence) != token


def test_the_key_is_never_shown() -> None:
    key = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
    held = PseudonymKey(key)
    for text in (repr(held), str(held), f"{held!r} {held}"):
        assert "00112233" not in text
        assert "redacted" in text
    with pytest.raises(TypeError):
        pickle.dumps(held)
    with pytest.raises(ValueError, match="at least 16 bytes") as caught:
        PseudonymKey(key[:15])
    assert key[:15].hex() not in str(caught.value)
    assert repr(key[:15]) not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "period"),
    [(b"short", "2026"), (b"k" * 16, ""), (b"k" * 16, "2026\n"), (b"k" * 16, "année")],
)
def test_bad_keys_and_periods_are_refused(key: bytes, period: str) -> None:
    with pytest.raises(ValueError):
        period_key(key, period)


@pytest.mark.parametrize("bad", [-1, 2**64, True, 1.0])
def test_ids_must_be_unsigned_64_bit_integers(bad: object) -> None:
    with pytest.raises(ValueError):
        pseudonym(b"k" * 16, 1, bad, "2026")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "months", "anchor", "label"),
    [
        (date(2026, 1, 1), 12, 1, "2026"),
        (date(2026, 12, 31), 12, 1, "2026"),
        (date(2026, 6, 30), 6, 1, "2026-H1"),
        (date(2026, 7, 1), 6, 1, "2026-H2"),
        (date(2026, 8, 15), 3, 1, "2026-Q3"),
        (date(2026, 8, 15), 3, 4, "2026-Q3"),
        (date(2026, 8, 15), 1, 9, "2026-08"),
        (date(2026, 3, 31), 12, 4, "2025-04..2026-03"),
        (date(2026, 4, 1), 12, 4, "2026-04..2027-03"),
        (date(2026, 1, 10), 6, 4, "2025-10..2026-03"),
        (date(2026, 2, 1), 2, 1, "2026-01..2026-02"),
    ],
)
def test_period_labels(day: date, months: int, anchor: int, label: str) -> None:
    assert evaluation_period(day, months, anchor) == label


@fast
@given(DATES, MONTHS, ANCHORS)
def test_a_period_holds_its_dates_and_its_neighbours_do_not(day: date, months: int, anchor: int) -> None:
    label = evaluation_period(day, months, anchor)
    start, end = evaluation_period_bounds(day, months, anchor)
    assert start <= day < end
    assert start.day == 1
    assert (end.year - start.year) * 12 + end.month - start.month == months
    assert (start.month - anchor) % months == 0
    assert evaluation_period(start, months, anchor) == label
    assert evaluation_period(end - timedelta(days=1), months, anchor) == label
    assert evaluation_period(start - timedelta(days=1), months, anchor) != label
    assert evaluation_period(end, months, anchor) != label


@fast
@given(DATES, MONTHS, ANCHORS)
def test_equivalent_settings_give_the_same_labels(day: date, months: int, anchor: int) -> None:
    # Quarters anchored in April are the calendar quarters: same periods, same labels, same pseudonyms.
    same_anchor = (anchor - 1) % months + 1
    assert evaluation_period(day, months, anchor) == evaluation_period(day, months, same_anchor)


@pytest.mark.parametrize(("months", "anchor"), [(5, 1), (0, 1), (24, 1), (12, 0), (12, 13)])
def test_bad_period_settings_are_refused(months: int, anchor: int) -> None:
    with pytest.raises(ValueError):
        evaluation_period(date(2026, 1, 1), months, anchor)
