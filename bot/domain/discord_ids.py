"""Discord's numbers and markup, and the custom_ids of our buttons, each defined once with a name.

Every button's custom_id has one builder (used by the service or cog that posts the button) and one template
(the regex its cog's `DynamicItem` matches, with named groups) with one parser. The builder and the template
sit side by side so that they cannot drift apart; `tests/unit/domain/test_discord_ids.py` checks each pair.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import IntEnum
from typing import Literal, cast

# --- Discord's numbers (DISCORD_FACTS.md) -----------------------------------------------------------------------


class ScheduledEventStatus(IntEnum):
    """A scheduled event's status."""

    SCHEDULED = 1
    ACTIVE = 2
    COMPLETED = 3
    CANCELLED = 4


class EntityType(IntEnum):
    """Where a scheduled event happens."""

    STAGE_INSTANCE = 1
    VOICE = 2
    EXTERNAL = 3


# --- markup ----------------------------------------------------------------------------------------------------

TimestampStyle = Literal["t", "T", "d", "D", "f", "F", "R"]


def mention_user(user_id: int) -> str:
    """Return the markup that shows a user (it pings only when a message's allowed mentions let it)."""
    return f"<@{user_id}>"


def mention_role(role_id: int) -> str:
    """Return the markup that shows a role (it pings only when a message's allowed mentions let it)."""
    return f"<@&{role_id}>"


def mention_channel(channel_id: int) -> str:
    """Return the markup that links a channel."""
    return f"<#{channel_id}>"


def timestamp(when: datetime, style: TimestampStyle = "F") -> str:
    """Return a Discord timestamp that each viewer sees in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


# --- our custom_ids ---------------------------------------------------------------------------------------------

PanelAction = Literal["next", "extend", "pause", "resume", "end"]
RotaAction = Literal["confirm", "decline", "take"]
PageSide = Literal["p", "n"]
DebriefAnswer = Literal["fine", "tough", "talk"]

# The facilitator panel: the phase index makes a stale double click harmless.
PANEL_TEMPLATE = r"mtg:(?P<action>[a-z]+):(?P<occurrence>\d+):(?P<phase>\d+)"
# A member's "I'm here" (counted, never linked to a name).
CHECK_IN_TEMPLATE = r"att:here:(?P<occurrence>\d+)"
# The anonymous feedback: the button that opens the form, the form, and the answers in it.
FEEDBACK_TEMPLATE = r"fb:open:(?P<occurrence>\d+)"
FEEDBACK_FORM_TEMPLATE = r"fb:form:(?P<occurrence>\d+)"
FEEDBACK_ANSWER_PREFIX = "fb:"
# A duty's confirmation, "can't make it", and taking a cover request.
ROTA_TEMPLATE = r"rota:(?P<action>confirm|decline|take):(?P<assignment>\d+)"
# A member's alert's "I'm on it".
ALERT_TAKE_TEMPLATE = r"alert:take:(?P<alert>\d+)"
# A SMART tool's private worksheet, and the pages of the tool list.
TOOL_WORK_TEMPLATE = r"tool:work:(?P<slug>[a-z0-9-]+)"
TOOL_PAGE_TEMPLATE = r"tool:page:(?P<page>\d+):(?P<side>[pn])"
# A facilitator's answer to "How was that for you?" after a meeting.
DEBRIEF_TEMPLATE = r"care:debrief:(?P<debrief>\d+):(?P<answer>fine|tough|talk)"


def panel_id(action: str, occurrence_id: int, phase_index: int) -> str:
    """Return the custom_id of a facilitator panel button."""
    return f"mtg:{action}:{occurrence_id}:{phase_index}"


def parse_panel(match: re.Match[str]) -> tuple[str, int, int]:
    """Return the action, meeting and phase index of a panel button's custom_id."""
    return match["action"], int(match["occurrence"]), int(match["phase"])


def check_in_id(occurrence_id: int) -> str:
    """Return the custom_id of a meeting's "I'm here" button."""
    return f"att:here:{occurrence_id}"


def feedback_id(occurrence_id: int) -> str:
    """Return the custom_id of a meeting's feedback button."""
    return f"fb:open:{occurrence_id}"


def feedback_form_id(occurrence_id: int) -> str:
    """Return the custom_id of a meeting's feedback form."""
    return f"fb:form:{occurrence_id}"


def feedback_answer_id(question_key: str) -> str:
    """Return the custom_id of one question's answer in the feedback form."""
    return f"{FEEDBACK_ANSWER_PREFIX}{question_key}"


def parse_feedback_answer(custom_id: str) -> str | None:
    """Return the question key of a feedback answer's custom_id, or None for any other component."""
    return custom_id.removeprefix(FEEDBACK_ANSWER_PREFIX) if custom_id.startswith(FEEDBACK_ANSWER_PREFIX) else None


def parse_occurrence(match: re.Match[str]) -> int:
    """Return the meeting named by a check-in, feedback button or feedback form custom_id."""
    return int(match["occurrence"])


def rota_id(action: RotaAction, assignment_id: int) -> str:
    """Return the custom_id of a rota button."""
    return f"rota:{action}:{assignment_id}"


def parse_rota(match: re.Match[str]) -> tuple[RotaAction, int]:
    """Return the action and duty of a rota button's custom_id."""
    return cast(RotaAction, match["action"]), int(match["assignment"])


def alert_take_id(alert_id: int) -> str:
    """Return the custom_id of an alert's "I'm on it" button."""
    return f"alert:take:{alert_id}"


def parse_alert_take(match: re.Match[str]) -> int:
    """Return the alert of an "I'm on it" button's custom_id."""
    return int(match["alert"])


def tool_work_id(slug: str) -> str:
    """Return the custom_id of a tool's "Work through it" button."""
    return f"tool:work:{slug}"


def parse_tool_work(match: re.Match[str]) -> str:
    """Return the tool of a "Work through it" button's custom_id."""
    return match["slug"]


def tool_page_id(page: int, side: PageSide) -> str:
    """Return the custom_id of the tool list's Previous (p) or Next (n) button."""
    return f"tool:page:{page}:{side}"


def parse_tool_page(match: re.Match[str]) -> tuple[int, PageSide]:
    """Return the page and side of a tool list button's custom_id."""
    return int(match["page"]), cast(PageSide, match["side"])


def debrief_id(debrief_id: int, answer: DebriefAnswer) -> str:
    """Return the custom_id of one answer button of a facilitator's debrief."""
    return f"care:debrief:{debrief_id}:{answer}"


def parse_debrief(match: re.Match[str]) -> tuple[int, DebriefAnswer]:
    """Return the debrief and the answer of a debrief button's custom_id."""
    return int(match["debrief"]), cast(DebriefAnswer, match["answer"])
