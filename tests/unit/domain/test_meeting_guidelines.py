"""The opening statement's SMART meeting guidelines, and the check-in prompt of every bundled template."""

from __future__ import annotations

import pytest

from bot.domain.meeting_format import (
    CRISIS_HEADING,
    OPENING_MAX_BEFORE_CRISIS,
    load_templates,
    opening_statement,
)
from bot.domain.text import MESSAGE_LIMIT

CRISIS = "Call 999 in an emergency. Samaritans: 116 123."


def before_crisis(text: str) -> str:
    """Return the part of the opening statement a member reads before the group's crisis text."""
    head, _, tail = text.partition(CRISIS_HEADING)
    assert tail.strip() == CRISIS
    return head


def test_opening_statement_is_short_enough_for_a_phone():
    assert OPENING_MAX_BEFORE_CRISIS <= 900
    assert len(before_crisis(opening_statement(CRISIS))) <= OPENING_MAX_BEFORE_CRISIS
    assert len(opening_statement("x" * 1000)) <= MESSAGE_LIMIT


def test_opening_statement_has_smart_guidelines_not_the_twelve_step_rule():
    text = before_crisis(opening_statement(CRISIS))
    folded = text.casefold()
    assert "cross-talk" not in folded
    assert "advice-giving" not in folded
    assert "unless asked" not in folded
    for guideline in (
        "respect",
        "confidential",
        "one person at a time",
        "no labels",
        "present and the future",
        "war stories",
        "share what has worked",
        "rather than telling people what to do",
        "respond to each other",
    ):
        assert guideline in folded, guideline


@pytest.mark.parametrize("slug", sorted(load_templates()))
def test_check_in_asks_about_smart_tools_since_last_time(slug: str):
    template = load_templates()[slug]
    [check_in] = [phase for phase in template.phases if phase.key == "check-in"]
    assert "SMART tool since last time" in check_in.prompt


def test_templates_do_not_forbid_discussion():
    for template in load_templates().values():
        for phase in template.phases:
            assert "cross-talk" not in phase.prompt.casefold(), (template.slug, phase.key)
