"""Issue 12: the referral question for newcomers only, "not counted at all", group names, the report's wording, and
the purge of delivered outbox payloads."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import GuildConfig, Outbox
from bot.db.models_participation import ParticipationLive, ParticipationMark, ParticipationOptOut
from bot.domain.disclosure import DisclosurePolicy
from bot.domain.meeting_format import load_templates
from bot.errors import InvalidInputError
from bot.services.outbox import DELIVERED_KEPT, OutboxService, PURGED_PAYLOAD, enqueue
from bot.services.outbox_payloads import DirectMessage
from bot.services.participation.export import ExportRequest
from bot.services.participation.feedback import REFERRAL_QUESTION
from bot.services.participation.report import NO_DATA, build_report, collect, draw_charts
from bot.services.participation.service import ParticipationKeys, ParticipationService, UNCOUNTED, UNLINKED
from tests.unit.services.test_participation import (
    ALICE,
    BOB,
    CAROL,
    GUILD,
    KEY,
    OPTOUT_KEY,
    START,
    THREAD,
    VOICE,
    add_meeting,
    aggregate,
    count,
    end_meeting,
)
from tests.unit.services.test_participation_export import FIRST, GENERATED, LAST, TUESDAY, meeting

DAVE = 10**17 + 4
ANSWERS = {"helpful": "4", "heard": "friend"}


@pytest.fixture
async def service(database, clock):
    clock.set(START)
    async with database.session() as session:
        session.add(GuildConfig(guild_id=GUILD, timezone="Europe/London", created_at=START, updated_at=START))
    return ParticipationService(database, clock, load_templates(), ParticipationKeys(KEY, OPTOUT_KEY))


def texts(figure) -> list[str]:
    """Return every text drawn on a figure's axes."""
    return [text.get_text() for axes in figure.axes for text in axes.texts]


# --- the referral question ------------------------------------------------------------------------


async def test_only_members_counted_as_new_are_asked_how_they_heard_and_only_once(service, database, clock) -> None:
    first = await add_meeting(database)
    await service.check_in(GUILD, ALICE, first)
    await service.set_opt_out(GUILD, CAROL, True)
    await service.check_in(GUILD, CAROL, first)
    assert (await service.feedback.check_open(GUILD, ALICE, first)).asks_referral
    assert not (await service.feedback.check_open(GUILD, BOB, first)).asks_referral  # not counted at this meeting
    assert not (await service.feedback.check_open(GUILD, CAROL, first)).asks_referral  # unlinked: never new
    await service.feedback.submit(GUILD, ALICE, first, ANSWERS)
    await service.feedback.submit(GUILD, BOB, first, ANSWERS)  # an old or forged form: "heard" is not counted
    await service.check_in(GUILD, DAVE, first)
    await end_meeting(database, clock, first)
    await service.finalise(first)
    # After the meeting closed, its marks tell who was new at it.
    assert (await service.feedback.check_open(GUILD, DAVE, first)).asks_referral
    numbers = await aggregate(database, first)
    assert (numbers.feedback_answers, numbers.fb_helpful_4, numbers.fb_heard_friend) == (2, 2, 1)

    clock.set(START + timedelta(days=7))
    second = await add_meeting(database, START + timedelta(days=7))
    await service.check_in(GUILD, ALICE, second)
    await service.check_in(GUILD, BOB, second)
    assert not (await service.feedback.check_open(GUILD, ALICE, second)).asks_referral  # returning now
    assert (await service.feedback.check_open(GUILD, BOB, second)).asks_referral  # first meeting he was counted at
    await service.feedback.submit(GUILD, ALICE, second, {"helpful": "5", REFERRAL_QUESTION: "web"})
    # Only a referral answer, from a member who was not asked it: nothing to count.
    with pytest.raises(InvalidInputError, match="didn't choose"):
        await service.feedback.submit(GUILD, CAROL, second, {REFERRAL_QUESTION: "web"})
    await end_meeting(database, clock, second)
    await service.finalise(second)
    numbers = await aggregate(database, second)
    assert (numbers.feedback_answers, numbers.fb_helpful_5, numbers.fb_heard_web) == (1, 1, 0)


# --- not counted at all ---------------------------------------------------------------------------


async def test_a_member_who_chose_not_to_be_counted_is_in_no_count(service, database, clock) -> None:
    assert await service.set_opt_out(GUILD, ALICE, True, mode=UNCOUNTED)
    assert not await service.set_opt_out(GUILD, ALICE, True, mode=UNCOUNTED)
    assert await service.opt_out_mode(GUILD, ALICE) == UNCOUNTED
    meeting_id = await add_meeting(database)
    assert not await service.check_in(GUILD, ALICE, meeting_id)
    assert await service.check_in(GUILD, BOB, meeting_id)
    await service.message_posted(GUILD, ALICE, THREAD)
    await service.voice_changed(GUILD, ALICE, None, VOICE)
    await service.sync_presence(meeting_id, [ALICE])
    clock.advance(minutes=20)
    await end_meeting(database, clock, meeting_id)
    await service.finalise(meeting_id)
    numbers = await aggregate(database, meeting_id)
    assert (numbers.attendees, numbers.checkins, numbers.posters, numbers.voice_attendees) == (1, 1, 0, 0)
    assert (numbers.new_attendees, numbers.unlinked_attendees) == (1, 0)
    assert await count(database, ParticipationMark) == 1
    # The choice is kept under the opt-out fingerprint, never an id.
    async with database.session() as session:
        rows = (await session.scalars(select(ParticipationOptOut))).all()
    assert [(len(row.member_hash), row.mode) for row in rows] == [(64, UNCOUNTED)]
    assert str(ALICE) not in rows[0].member_hash
    assert await service.set_opt_out(GUILD, ALICE, False)
    assert await service.opt_out_mode(GUILD, ALICE) is None


async def test_choosing_not_to_be_counted_mid_meeting_takes_the_member_out_of_its_tally(
    service, database, clock
) -> None:
    meeting_id = await add_meeting(database)
    await service.check_in(GUILD, ALICE, meeting_id)
    await service.check_in(GUILD, BOB, meeting_id)
    await service.set_opt_out(GUILD, BOB, True)  # unlinked first: counted by a one-meeting code
    assert (await service.tally(meeting_id)).attendees == 2
    await service.set_opt_out(GUILD, ALICE, True, mode=UNCOUNTED)
    await service.set_opt_out(GUILD, BOB, True, mode=UNCOUNTED)  # unlinked -> not counted
    assert await service.opt_out_mode(GUILD, BOB) == UNCOUNTED
    assert (await service.tally(meeting_id)).attendees == 0
    await service.set_opt_out(GUILD, BOB, True, mode=UNLINKED)  # back to unlinked: counted from his next signal
    await service.message_posted(GUILD, BOB, THREAD)
    await end_meeting(database, clock, meeting_id)
    await service.finalise(meeting_id)
    numbers = await aggregate(database, meeting_id)
    assert (numbers.attendees, numbers.unlinked_attendees, numbers.checkins) == (1, 1, 0)
    assert await count(database, ParticipationLive) == 0
    with pytest.raises(InvalidInputError):
        await service.set_opt_out(GUILD, BOB, True, mode="invisible")


# --- group names ----------------------------------------------------------------------------------


async def test_reports_name_groups_by_label_else_server_name(service, database, clock, tmp_path) -> None:
    async with database.session() as session:
        session.add_all(
            [meeting(1, 11, TUESDAY, attendees=12), meeting(2, 22, TUESDAY, attendees=9), meeting(3, 33, TUESDAY)]
        )
    assert await service.remember_guild_name(11, "Leeds SMART")
    assert not await service.remember_guild_name(11, "Leeds SMART")  # unchanged: no write
    assert await service.remember_guild_name(22, "Server | with a pipe")
    await service.set_group_label(22, "Bristol Tuesday")
    assert await service.group_label(22) == ("Bristol Tuesday", "Server | with a pipe")
    with pytest.raises(InvalidInputError):
        await service.set_group_label(22, "x" * 101)
    assert await service.group_names() == {11: "Leeds SMART", 22: "Bristol Tuesday"}

    report = await build_report(database, ExportRequest(FIRST, LAST), tmp_path, GENERATED)
    summary = report.summary.read_text()
    assert "| Leeds SMART | 1 | 1 |" in summary and "| Bristol Tuesday | 1 | 1 |" in summary
    assert "| Group 33 | 1 | 1 |" in summary  # never seen by the bot and no label: named by its id
    assert [row["name"] for row in report.groups] == ["Leeds SMART", "Bristol Tuesday", "Group 33"]
    data = await collect(database, ExportRequest(FIRST, LAST))
    figures = draw_charts(data)
    legend = [text.get_text() for text in figures["attendance"].axes[0].get_legend().get_texts()]
    assert "Leeds SMART" in legend and "Bristol Tuesday" in legend and not any("Group 11" in t for t in legend)
    ticks = [tick.get_text() for tick in figures["meetings"].axes[0].get_yticklabels()]
    assert ticks == ["Bristol Tuesday", "Group 33", "Leeds SMART"]

    await service.set_group_label(22, None)
    assert (await service.group_names())[22] == "Server | with a pipe"
    report = await build_report(database, ExportRequest(FIRST, LAST), tmp_path, GENERATED)
    assert "| Server \\| with a pipe | 1 | 1 |" in report.summary.read_text()


# --- the report's wording -------------------------------------------------------------------------


async def test_a_small_total_is_fewer_than_8_never_0_and_empty_charts_say_no_data(database, tmp_path) -> None:
    async with database.session() as session:
        session.add(meeting(1, 11, TUESDAY, attendees=2, new_attendees=2, checkins=2))
    request = ExportRequest(FIRST, LAST)
    report = await build_report(database, request, tmp_path, GENERATED)
    assert report.total["attendees"] == 0  # what disclosure control makes of 2 people
    assert report.figure("attendees") == "fewer than 8" and report.figure("returning_attendees") == "0"
    summary = report.summary.read_text()
    assert "| 1 | 1 | fewer than 8 | fewer than 8 | 0 | 0 | fewer than 8 |" in summary
    assert "How newcomers first heard about SMART" in summary

    figures = draw_charts(await collect(database, request))
    # Attendance: the week's total is a gap marked "<8", not a point at 0.
    assert "<8" in texts(figures["attendance"]) and NO_DATA not in texts(figures["attendance"])
    # Nobody answered the feedback: every panel says so, on a scale pinned to 0..1, not -0.04..0.04.
    feedback = figures["feedback"]
    assert texts(feedback).count(NO_DATA) == 4
    assert all(axes.get_xlim() == (0.0, 1.0) for axes in feedback.axes)
    assert any("newcomers" in axes.get_title().lower() for axes in feedback.axes)
    assert NO_DATA not in texts(figures["meetings"])

    # Exact reports show the true number, never "fewer than".
    exact = ExportRequest(FIRST, LAST, policy=DisclosurePolicy(exact=True))
    assert (await build_report(database, exact, tmp_path / "exact", GENERATED)).figure("attendees") == "2"


async def test_a_period_without_meetings_says_no_data_on_every_chart(database) -> None:
    figures = draw_charts(await collect(database, ExportRequest(date(2026, 1, 1), date(2026, 1, 31))))
    for key in ("attendance", "new_returning", "meetings"):
        assert texts(figures[key]) == [NO_DATA], key
        bottom, top = figures[key].axes[0].get_ylim() if key != "meetings" else figures[key].axes[0].get_xlim()
        assert (bottom, top) == (0.0, 1.0)


# --- the outbox purge -----------------------------------------------------------------------------


async def test_delivered_outbox_payloads_are_blanked_after_a_day(database, clock) -> None:
    clock.set(START)
    outbox = OutboxService(database, clock)
    async with database.session() as session:
        for content in ("sent long ago", "given up long ago", "still pending", "sent just now"):
            enqueue(session, clock.now(), GUILD, DirectMessage(content, user_id=ALICE))
    items = {item.payload["content"]: item.id for item in await outbox.claim_batch()}
    await outbox.mark_sent(items["sent long ago"], 123)
    await outbox.mark_failed(items["given up long ago"], "forbidden 50007", permanent=True)
    await outbox.release(items["still pending"])
    clock.advance(hours=23)
    await outbox.mark_sent(items["sent just now"], 124)
    clock.set(START + DELIVERED_KEPT + timedelta(minutes=1))
    assert await outbox.purge_delivered() == 2
    assert await outbox.purge_delivered() == 0  # done once
    async with database.session() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
    # The recipient's id and the text are gone; what was delivered, and when, stays.
    assert [row.payload for row in rows[:2]] == [PURGED_PAYLOAD, PURGED_PAYLOAD]
    assert [(row.kind, row.state, row.result_id) for row in rows[:2]] == [("dm", "sent", 123), ("dm", "failed", None)]
    assert str(ALICE) not in "".join(row.payload for row in rows[:2])
    assert [json.loads(row.payload)["content"] for row in rows[2:]] == ["still pending", "sent just now"]
    clock.advance(days=1)
    assert await outbox.purge_delivered() == 1
    assert await outbox.pending_count() == 1  # nothing waiting for delivery is ever purged
    assert len(await outbox.claim_batch()) == 1
