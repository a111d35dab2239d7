"""End to end: the SMART tools library in Discord, private worksheets, and tools in meetings."""

from __future__ import annotations

import logging
import shutil

import pytest

from bot.domain.tools import default_content_dir, load_library
from bot.services.tools import rotation_pick
from tests.e2e.conftest import BotHarness, Group, MeetingDriver
from tests.sandbox.handles import MODAL, UPDATE_MESSAGE
from tests.sandbox.models import Channel, Message
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

CBA_PAGE_1 = [
    "The behaviour I am looking at",
    "Benefits of using or doing it",
    "Costs of using or doing it",
    "Benefits of not using or doing it",
    "Costs of not using or doing it",
]
CBA_PAGE_2 = [
    "What stands out when I read it back",
    "Short term compared with long term",
    "Where this leaves me right now",
]


async def test_show_forgives_typos_and_offers_the_worksheet(sandbox: Sandbox, group: Group, smartbot) -> None:
    response = await (
        await sandbox.actors.invoke(group.guild, group.member, "tool show", {"name": "disarn"})
    ).response()
    assert response.ephemeral
    assert response.data["embeds"][0]["title"] == "DISARM"
    buttons = [c for row in response.data["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Work through it (private)"]


async def test_show_vaci_and_a_change_plan_warns_about_withdrawal(sandbox: Sandbox, group: Group, smartbot) -> None:
    vaci = await (await sandbox.actors.invoke(group.guild, group.member, "tool show", {"name": "vaci"})).response()
    assert vaci.data["embeds"][0]["title"] == "Enjoyable and Absorbing Activities"
    plan = await (
        await sandbox.actors.invoke(group.guild, group.member, "tool show", {"name": "change plan"})
    ).response()
    description = plan.data["embeds"][0]["description"]
    assert "**Safety first:**" in description and "drug and alcohol service" in description


async def test_autocomplete_suggests_tools(sandbox: Sandbox, group: Group, smartbot) -> None:
    choices = await sandbox.actors.autocomplete(
        group.guild, group.member, "tool show", {"name": "cost ben"}, focused="name"
    )
    assert choices[0]["value"] == "cost-benefit-analysis"
    assert len(choices) <= 25


async def test_list_pages_with_buttons(sandbox: Sandbox, group: Group, smartbot) -> None:
    handle = await sandbox.actors.invoke(group.guild, group.member, "tool list")
    first = await handle.response()
    assert "Page 1 of" in first.data["embeds"][0]["footer"]["text"]
    message = sandbox.ephemeral_replies(group.member)[-1]
    buttons = {c["label"]: c for row in message.components for c in row["components"]}
    assert buttons["Previous"].get("disabled") is True
    turned = await (await sandbox.actors.click(group.member, message, label="Next")).response()
    assert turned.type == UPDATE_MESSAGE
    assert "Page 2 of" in turned.data["embeds"][0]["footer"]["text"]


async def test_random_for_a_point(sandbox: Sandbox, group: Group, smartbot) -> None:
    response = await (await sandbox.actors.invoke(group.guild, group.member, "tool random", {"point": 2})).response()
    assert "Coping with urges" in str(response.data["embeds"][0])


async def test_multi_page_worksheet_ends_in_a_dm_and_is_stored_nowhere(
    sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path, caplog, app_logging
) -> None:
    caplog.set_level(logging.DEBUG)
    await harness.start()
    await (
        await sandbox.actors.invoke(group.guild, group.member, "tool show", {"name": "cost-benefit-analysis"})
    ).response()
    card = sandbox.ephemeral_replies(group.member)[-1]
    opened = await sandbox.actors.click(group.member, card, label="Work through it (private)")
    assert (await opened.response()).type == MODAL
    assert opened.modal["title"].endswith("(1/2)")
    markers = {label: f"MARKER-{index}-secret" for index, label in enumerate(CBA_PAGE_1 + CBA_PAGE_2)}
    first = await sandbox.actors.submit_modal(opened, {label: markers[label] for label in CBA_PAGE_1})
    assert "Part 1 of 2" in (await first.response()).content
    prompt = sandbox.ephemeral_replies(group.member)[-1]
    second_open = await sandbox.actors.click(group.member, prompt, label="Continue (2/2)")
    assert (await second_open.response()).type == MODAL
    second = await sandbox.actors.submit_modal(second_open, {label: markers[label] for label in CBA_PAGE_2})
    await second.response()
    await second.wait_followups(1)
    dms = sandbox.dms(group.member)
    delivered = "".join(str(m.embeds) for m in dms)
    assert all(marker in delivered for marker in markers.values())
    await harness.kill()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("bot.sqlite3*"))
    # The bot's log, not the loopback Discord's own transcript log.
    logged = "\n".join(caplog.handler.format(r) for r in caplog.records if not r.name.startswith("tests."))
    for marker in markers.values():
        assert marker.encode() not in stored
        assert marker not in logged


async def test_closed_dms_fall_back_to_an_ephemeral_reply(sandbox: Sandbox, group: Group, smartbot) -> None:
    await sandbox.actors.set_dms_open(group.member, False)
    await (await sandbox.actors.invoke(group.guild, group.member, "tool show", {"name": "disarm"})).response()
    card = sandbox.ephemeral_replies(group.member)[-1]
    opened = await sandbox.actors.click(group.member, card, label="Work through it (private)")
    submitted = await sandbox.actors.submit_modal(opened, {"What the urge voice tells me": "MARKER-closed"})
    await submitted.response()
    followups = await submitted.wait_followups(1)
    assert "DMs are closed" in followups[0].content
    assert "MARKER-closed" in str(followups[0].embeds)
    # DISARM helps hold off an urge, so the member's own copy repeats the withdrawal warning.
    assert "benzodiazepines" in str(followups[0].embeds)
    assert sandbox.dms(group.member) == []


def tool_cards(sandbox: Sandbox, thread: Channel, name: str) -> list[Message]:
    """Return the messages in the meeting's thread that carry the named tool's card."""
    return [m for m in sandbox.channel_messages(thread) if any(name in e.get("title", "") for e in m.embeds)]


async def test_share_into_the_running_meeting_and_rotation_in_working_time(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    refused = await (await sandbox.actors.invoke(group.guild, group.member, "tool share", {"name": "abc"})).response()
    assert refused.ephemeral and "Only members with" in refused.content
    thread = await meeting.open_meeting()
    # Shared before Working time: it becomes Working time's focus, and its card is posted then, once.
    shared = await (
        await sandbox.actors.invoke(group.guild, group.facilitator, "tool share", {"name": "abc"})
    ).response()
    assert "will be the focus of Working time" in shared.content
    await meeting.click_through_phases("Working time")
    working = [m for m in sandbox.channel_messages(thread) if m.content.startswith("**Working time**")]
    assert "Today's SMART tool: **ABC" in working[0].content
    assert len(tool_cards(sandbox, thread, "ABC")) == 1
    # Shared during Working time: posted at once.
    now = await (
        await sandbox.actors.invoke(group.guild, group.facilitator, "tool share", {"name": "urge log"})
    ).response()
    assert "Shared" in now.content
    await harness.idle()
    focus = sandbox.last_message(thread)
    assert "Working-time focus" in focus.content and "Urge Log" in focus.embeds[0]["title"]
    assert len(tool_cards(sandbox, thread, "ABC")) == 1


async def test_next_chooses_the_tool_of_the_next_meeting(
    sandbox: Sandbox, group: Group, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    chosen = await (
        await sandbox.actors.invoke(group.guild, group.facilitator, "tool next", {"name": "urge log"})
    ).response()
    assert "Urge Log" in chosen.content
    thread = await meeting.open_meeting()
    await meeting.click_through_phases("Working time")
    working = [m for m in sandbox.channel_messages(thread) if m.content.startswith("**Working time**")]
    assert "Urge Log" in working[0].content


async def test_a_new_tool_file_is_served_without_code_changes(
    sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(default_content_dir(), content)
    text = (
        (content / "disarm.md")
        .read_text()
        .replace("slug: disarm", "slug: pause-and-plan")
        .replace("name: DISARM", "name: Pause and Plan")
    )
    (content / "pause-and-plan.md").write_text(text)
    harness.settings = harness.settings.model_copy(update={"tools_content_dir": content})
    await harness.start()
    response = await (
        await sandbox.actors.invoke(group.guild, group.member, "tool show", {"name": "pause and plan"})
    ).response()
    assert response.data["embeds"][0]["title"] == "Pause and Plan"


async def test_working_time_features_the_rotation_tool(sandbox: Sandbox, group: Group, meeting: MeetingDriver) -> None:
    await meeting.start_bot_and_configure()
    await meeting.schedule_weekly()
    thread = await meeting.open_meeting()
    await meeting.click_through_phases("Working time")
    working = next(m for m in sandbox.channel_messages(thread) if m.content.startswith("**Working time**"))
    expected = rotation_pick(load_library(default_content_dir()), 0)
    assert expected is not None and 1 in expected.points  # a group's first meeting works on motivation
    assert f"Today's SMART tool: **{expected.name}**" in working.content
    assert [b["label"] for row in working.components for b in row["components"]] == ["Work through it (private)"]
