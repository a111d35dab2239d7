"""Referral rules: route names, months, growth, and what `/setup check` says about the welcome channel."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.domain.referral import (
    ACTIVE_ROUTES_MAX,
    ReferralFacts,
    check_new_route,
    check_referrals,
    clean_route_name,
    joins_since,
    month_of,
    months_between,
)
from bot.errors import InvalidInputError

EVERYTHING = frozenset(
    {
        "view_channel",
        "send_messages",
        "read_message_history",
        "create_instant_invite",
        "manage_channels",
        "pin_messages",
    }
)


def test_names_are_tidied_and_refused_when_empty_long_duplicate_or_too_many() -> None:
    assert clean_route_name("  Canolfan   Cymorth  Caerdydd ") == "Canolfan Cymorth Caerdydd"
    for bad in ("", "   ", "x" * 81, "bad\u200bname"):
        with pytest.raises(InvalidInputError):
            clean_route_name(bad)
    with pytest.raises(InvalidInputError, match="already"):
        check_new_route("gp", ["GP"])
    with pytest.raises(InvalidInputError, match="most"):
        check_new_route("new", [f"route {n}" for n in range(ACTIVE_ROUTES_MAX)])


def test_months_and_growth() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "2026-12"
    assert months_between(date(2026, 11, 20), date(2027, 1, 2)) == ["2026-11", "2026-12", "2027-01"]
    assert joins_since(3, 5) == 2 and joins_since(5, 2) == 0


def test_setup_check_names_the_missing_permissions_only_when_referrals_are_used() -> None:
    assert check_referrals(ReferralFacts(0, "welcome", frozenset(), "SMART Bot")) == []
    assert check_referrals(ReferralFacts(2, "welcome", EVERYTHING, "SMART Bot")) == []
    [finding] = check_referrals(ReferralFacts(2, "welcome", EVERYTHING - {"manage_channels"}, "SMART Bot"))
    assert "'Manage Channels' in #welcome" in finding.problem and "how many people joined" in finding.problem
    [note_only] = check_referrals(ReferralFacts(0, "welcome", EVERYTHING - {"pin_messages"}, "Bot", note_posted=True))
    assert "'Pin Messages'" in note_only.problem
    [gone] = check_referrals(ReferralFacts(1, None, frozenset(), "Bot"))
    assert "/referral welcome-channel" in gone.fix
