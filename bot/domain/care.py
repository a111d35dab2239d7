"""Looking after a group and its volunteers: milestone words, the debrief's answers, and when a load is too much.

Pure: the services pass the counts and dates in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from bot.domain.discord_ids import DebriefAnswer

# Meetings held (completed) that a group celebrates.
HELD_MILESTONES: Final = (1, 10, 25, 50, 100)
ANNIVERSARY: Final = "anniversary:1"
UNBROKEN_YEAR: Final = "unbroken-year:1"
YEAR: Final = timedelta(days=365)
# A date-based milestone found later than this (the bot was off for long, or the feature arrived after it) is
# recorded without a post: a celebration weeks late reads oddly.
LATE_CELEBRATION: Final = timedelta(days=14)

# The load rule: over the last LOAD_WINDOW, a facilitator who ran more than half of at least LOAD_MIN_MEETINGS held
# meetings, or more in a month than the most they asked for, is carrying too much.
LOAD_WINDOW: Final = timedelta(weeks=8)
LOAD_MIN_MEETINGS: Final = 4
LOAD_QUIET: Final = timedelta(weeks=4)

DEBRIEF_ANSWERS: Final[tuple[DebriefAnswer, ...]] = ("fine", "tough", "talk")
DEBRIEF_LABELS: Final[dict[DebriefAnswer, str]] = {"fine": "Fine", "tough": "Tough", "talk": "I'd like to talk"}
# How long an unanswered debrief keeps the facilitator's id: after that only the count of debriefs asked remains.
DEBRIEF_KEPT: Final = timedelta(days=3)


def held_key(count: int) -> str:
    """Return the key of the milestone of `count` meetings held."""
    return f"held:{count}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def milestone_post(key: str) -> str:
    """Return the words the group's meetings channel gets for a milestone: warm, about all of us, no labels."""
    if key == ANNIVERSARY:
        return (
            "🎉 A year ago today this group held its first meeting. Thank you to everyone who has shown up, shared, "
            "listened and helped run things: a year of people choosing to work on the changes that matter to them."
        )
    if key == UNBROKEN_YEAR:
        return (
            "🌟 A whole year without missing a meeting. That steadiness is what makes a group somewhere people can "
            "count on; thank you to every facilitator and member who made it happen."
        )
    count = int(key.removeprefix("held:"))
    if count == 1:
        return (
            "🎉 This group has held its first meeting! Thank you to everyone who came and to the volunteers who "
            "set it up. Every journey of change starts with a first step."
        )
    return (
        f"🎉 This group has now held {count} meetings. Thank you to everyone who keeps coming back, shares their "
        "experience and supports each other: it all adds up."
    )


def milestone_summary(key: str) -> str:
    """Return the milestone as the office's digest lists it after the group's name."""
    if key == ANNIVERSARY:
        return "celebrated its first anniversary"
    if key == UNBROKEN_YEAR:
        return "went a whole year without missing a meeting"
    count = int(key.removeprefix("held:"))
    # The same words as the participation figures' own milestones, so the digest can list each once.
    return "held its first meeting" if count == 1 else f"held its {_ordinal(count)} meeting"


def debrief_question(title: str) -> str:
    """Return the private question a facilitator gets after running a meeting."""
    return (
        f"Thank you for running **{title}**. How was that for you?\n"
        'Your answer is private: only a count of "tough" meetings is kept, never who said it. '
        '"I\'d like to talk" lets your coordinators know, so one of them can get in touch.'
    )


def debrief_reply(answer: DebriefAnswer) -> str:
    """Return what the facilitator reads after answering."""
    if answer == "fine":
        return "Glad to hear it. Thank you for giving your time to the group."
    if answer == "tough":
        return (
            "Thank you for saying so. Some meetings take a lot out of us; please be kind to yourself today. "
            "Nobody will be told who answered. If it would help to talk it through, your coordinators are there for "
            'you (the "I\'d like to talk" button next time, or a message to them), and your facilitator training '
            "contacts and the SMART Recovery office offer support to volunteers too. If you need help right now, "
            "`/crisis` shows who to call."
        )
    return (
        "Thank you for asking. I've let your coordinators know privately that you'd like a chat; one of them will be "
        "in touch soon."
    )


def talk_request(facilitator_mention: str) -> str:
    """Return the coordinators' note that a facilitator would like a chat (they asked, so they are named)."""
    return (
        f"{facilitator_mention} ran a meeting recently and would like a chat. Could one of you get in touch with them "
        "privately when you can? Thank you for looking after our volunteers."
    )


def load_suggestion(facilitator_mention: str) -> str:
    """Return the coordinators' kind suggestion to share one facilitator's duties (no figures)."""
    return (
        f"A gentle suggestion: {facilitator_mention} has been running a large share of our meetings lately. "
        "They are doing a great job, and sharing the load helps keep it that way. Could you check in with them "
        "and spread duties a little? `/rota generate` makes a fair plan across the rota, taking everyone's monthly "
        "maximum and time away into account."
    )


@dataclass(frozen=True, slots=True)
class LoadFacts:
    """Who ran the group's held meetings lately, and one facilitator's month."""

    recent_runners: tuple[int | None, ...]
    month_runs: int
    monthly_maximum: int | None


def is_overloaded(facilitator_id: int, facts: LoadFacts) -> bool:
    """Return whether a facilitator has run more than their share: most of a big enough sample, or past their max."""
    if facts.monthly_maximum is not None and facts.month_runs > facts.monthly_maximum:
        return True
    total = len(facts.recent_runners)
    return total >= LOAD_MIN_MEETINGS and 2 * _count(facts.recent_runners, facilitator_id) > total


def _count(runners: Iterable[int | None], facilitator_id: int) -> int:
    return Counter(runners)[facilitator_id]
