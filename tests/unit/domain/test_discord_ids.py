"""Each custom_id is built and matched from one place: what a service writes, the cog's button matches."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from bot.domain import discord_ids as ids
from cogs.care._buttons import DebriefButton
from cogs.meetings._panel import PanelButton
from cogs.participation._buttons import CheckInButton, FEEDBACK_FORM, FeedbackButton
from cogs.rota._buttons import RotaButton
from cogs.safety._buttons import AlertTakeButton
from cogs.tools._commands import PageButton
from cogs.tools._worksheet import WorkButton

# (template, custom_id built by the builder, what the parser gives back)
ROUND_TRIPS: list[tuple[str, str, Callable[[re.Match[str]], Any], Any]] = [
    (ids.PANEL_TEMPLATE, ids.panel_id("next", 12, 3), ids.parse_panel, ("next", 12, 3)),
    (ids.CHECK_IN_TEMPLATE, ids.check_in_id(12), ids.parse_occurrence, 12),
    (ids.FEEDBACK_TEMPLATE, ids.feedback_id(12), ids.parse_occurrence, 12),
    (ids.FEEDBACK_FORM_TEMPLATE, ids.feedback_form_id(12), ids.parse_occurrence, 12),
    (ids.ROTA_TEMPLATE, ids.rota_id("decline", 7), ids.parse_rota, ("decline", 7)),
    (ids.ALERT_TAKE_TEMPLATE, ids.alert_take_id(5), ids.parse_alert_take, 5),
    (ids.TOOL_WORK_TEMPLATE, ids.tool_work_id("abc-2"), ids.parse_tool_work, "abc-2"),
    (ids.TOOL_PAGE_TEMPLATE, ids.tool_page_id(4, "n"), ids.parse_tool_page, (4, "n")),
    (ids.DEBRIEF_TEMPLATE, ids.debrief_id(9, "tough"), ids.parse_debrief, (9, "tough")),
]


@pytest.mark.parametrize(("template", "custom_id", "parse", "parsed"), ROUND_TRIPS, ids=[r[1] for r in ROUND_TRIPS])
def test_each_custom_id_is_matched_by_its_template_and_parsed_back(
    template: str, custom_id: str, parse: Callable[[re.Match[str]], Any], parsed: Any
) -> None:
    match = re.fullmatch(template, custom_id)
    assert match is not None
    assert parse(match) == parsed
    assert len(custom_id) <= 100  # Discord's limit


def test_custom_ids_of_different_buttons_never_match_each_other() -> None:
    for template, _, _, _ in ROUND_TRIPS:
        others = [custom_id for other, custom_id, _, _ in ROUND_TRIPS if other != template]
        assert not [custom_id for custom_id in others if re.fullmatch(template, custom_id)], template


@pytest.mark.parametrize(
    ("item", "template"),
    [
        (PanelButton, ids.PANEL_TEMPLATE),
        (CheckInButton, ids.CHECK_IN_TEMPLATE),
        (FeedbackButton, ids.FEEDBACK_TEMPLATE),
        (RotaButton, ids.ROTA_TEMPLATE),
        (AlertTakeButton, ids.ALERT_TAKE_TEMPLATE),
        (WorkButton, ids.TOOL_WORK_TEMPLATE),
        (PageButton, ids.TOOL_PAGE_TEMPLATE),
        (DebriefButton, ids.DEBRIEF_TEMPLATE),
    ],
)
def test_each_cog_button_matches_with_the_shared_template(
    item: type[discord.ui.DynamicItem[Any]], template: str
) -> None:
    assert item.__discord_ui_compiled_template__.pattern == template


def test_the_feedback_form_is_matched_with_the_shared_template() -> None:
    assert FEEDBACK_FORM.pattern == ids.FEEDBACK_FORM_TEMPLATE


def test_feedback_answers_are_told_apart_from_other_components() -> None:
    assert ids.parse_feedback_answer(ids.feedback_answer_id("rating")) == "rating"
    assert ids.parse_feedback_answer("tool:work:abc") is None


def test_markup() -> None:
    assert ids.mention_user(9) == "<@9>"
    assert ids.mention_role(200) == "<@&200>"
    assert ids.mention_channel(300) == "<#300>"
    when = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    assert ids.timestamp(when) == f"<t:{int(when.timestamp())}:F>"
    assert ids.timestamp(when, "R") == f"<t:{int(when.timestamp())}:R>"


def test_discord_numbers() -> None:
    assert [int(s) for s in ids.ScheduledEventStatus] == [1, 2, 3, 4]
    assert int(ids.ScheduledEventStatus.CANCELLED) == discord.EventStatus.cancelled.value
    assert int(ids.EntityType.EXTERNAL) == discord.EntityType.external.value
    assert int(ids.EntityType.STAGE_INSTANCE) == discord.EntityType.stage_instance.value
    assert int(ids.EntityType.VOICE) == discord.EntityType.voice.value
