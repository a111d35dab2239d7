"""End to end: after meetings with known members, their ids and names are nowhere the bot writes.

Two meetings run in the sandbox with members whose ids and names are known (voice, posts, check-ins, feedback, one
opted out). Then the database file, the log at DEBUG, every export (CSV and JSON, by meeting, week and month,
protected and exact) and the report are searched for those ids, in several encodings, and those names.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models_participation import ParticipationMark, ParticipationOccurrence
from bot.domain.disclosure import DisclosurePolicy
from bot.services.care.debrief import figures_line, figures_markdown
from bot.services.participation.export import ExportRequest, ParticipationExport, metadata
from bot.services.participation.export_files import write_csv, write_json
from bot.services.participation.report import build_report
from bot.services.participation.service import optout_key_path
from bot.services.referral.counts import (
    metadata as referral_metadata,
    referral_counts,
    write_csv as write_referrals_csv,
    write_json as write_referrals_json,
)
from tests.e2e.conftest import BotHarness, Group, configure
from tests.e2e.test_participation import START, at, message_with, settle
from tests.sandbox import permissions as perms
from tests.sandbox.models import Channel, Member
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

FEEDBACK = "How was today? (anonymous)"
PEOPLE = (
    ("quillon_vantablack", "Quillon Vantablack", None),
    ("marisol_thistledown", "Marisol Thistledown", "Mari T"),
    ("oberon_wexleyhurst", "Oberon Wexleyhurst", None),
)
# Joins the server through a referral route: counted, never recorded.
JOINER = ("thaddeus_quickfoot", "Thaddeus Quickfoot")


def encodings(user_id: int) -> list[bytes]:
    """Return the ways an id could have been written: decimal, hex, octal, raw 64-bit, base64 and base32 of those."""
    decimal = str(user_id).encode()
    raw = [user_id.to_bytes(8, "big"), user_id.to_bytes(8, "little")]
    texts = [decimal, f"{user_id:x}".encode(), f"{user_id:X}".encode(), f"{user_id:o}".encode()]
    encoded = []
    for value in [decimal, *raw]:
        encoded += [base64.b64encode(value), base64.urlsafe_b64encode(value), base64.b32encode(value)]
    # Drop base64 padding: a value embedded in a longer string would not carry it.
    return texts + raw + [value.rstrip(b"=") for value in encoded]


def thread_of(group: Group) -> Channel:
    threads = [c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id]
    return max(threads, key=lambda thread: thread.id)


async def run_meeting(
    sandbox: Sandbox, group: Group, harness: BotHarness, people: list[Member], *, week: int, first: bool
) -> None:
    actors = sandbox.actors
    start = START + timedelta(days=7 * week)
    if first:
        await actors.voice_join(people[0], group.voice)
    await harness.advance_to(start)
    await settle(harness)
    thread = thread_of(group)
    welcome = message_with(sandbox, thread, "I'm here")
    await actors.post(people[1], thread, "hello everyone")
    await (await actors.click(people[2], welcome, label="I'm here")).response()
    await (await actors.click(people[0], welcome, label="I'm here")).response()
    if not first:
        await actors.voice_join(people[1], group.voice)
    harness.clock.set(start + timedelta(minutes=12))
    await settle(harness)
    await actors.voice_leave(people[0] if first else people[1])
    for step in range(6):
        harness.clock.set(start + timedelta(minutes=15 + step))
        panel = next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)
        await (await actors.click(group.facilitator, panel, label="Next phase")).response()
        await settle(harness)
    closing = message_with(sandbox, thread, FEEDBACK)
    for person, score in zip(people[:2], ("5", "4"), strict=True):
        opened = await actors.click(person, closing, label=FEEDBACK)
        answers = {"How helpful was today's meeting?": score}
        if first:  # only newcomers are asked how they heard of SMART: in the second week both are returning
            answers["How did you first hear about SMART?"] = "friend"
        await (await actors.submit_modal(opened, answers)).response()
    harness.clock.set(start + timedelta(minutes=30))
    panel = next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)
    await (await actors.click(group.facilitator, panel, label="End meeting")).response()
    await settle(harness)


async def write_everything(harness: BotHarness, out: Path) -> list[Path]:
    """Write every export and the report, as the central office would."""
    assert harness.bot is not None
    database = harness.bot.database
    export = ParticipationExport(database)
    written: list[Path] = []
    out.mkdir()
    for exact in (False, True):
        policy = DisclosurePolicy(exact=exact)
        for by in ("occurrence", "week", "month"):
            request = ExportRequest(START.date(), START.date() + timedelta(days=31), by=by, policy=policy)
            for fmt, writer in (("csv", write_csv), ("json", write_json)):
                handle = io.StringIO()
                await writer(export.rows(request), handle, metadata(request, harness.clock.now()), by)
                path = out / f"export-{by}-{'exact' if exact else 'protected'}.{fmt}"
                path.write_text(handle.getvalue())
                written.append(path)
    # The report draws from the same rows; one (protected, as the central office gets it) is enough here.
    request = ExportRequest(START.date(), START.date() + timedelta(days=31))
    report = await build_report(database, request, out / "report", harness.clock.now())
    # Joins through referral routes, protected and exact, as `python -m bot export referrals` writes them.
    first, last = START.date(), START.date() + timedelta(days=31)
    for exact in (False, True):
        policy = DisclosurePolicy(exact=exact)
        rows = await referral_counts(database, first, last, policy=policy)
        for fmt, write in (("csv", write_referrals_csv), ("json", write_referrals_json)):
            handle = io.StringIO()
            write(rows, handle, referral_metadata(first, last, (), policy, harness.clock.now()))
            path = out / f"referrals-{'exact' if exact else 'protected'}.{fmt}"
            path.write_text(handle.getvalue())
            written.append(path)
    return [*written, report.summary, *report.charts]


async def test_member_ids_and_names_are_nowhere_the_bot_writes(
    sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture, app_logging
) -> None:
    caplog.set_level(logging.DEBUG)
    people = [
        await sandbox.actors.create_member(group.guild, username, display_name=display, nick=nick)
        for username, display, nick in PEOPLE
    ]
    # Manage Channels reads the referral invites' use counts; Create Invite makes them.
    await sandbox.actors.set_bot_permissions(
        group.guild, perms.DEFAULT_BOT | perms.MANAGE_CHANNELS | perms.CREATE_INSTANT_INVITE
    )
    await harness.start()
    await configure(sandbox, group)
    handle = await sandbox.actors.invoke(
        group.guild,
        group.facilitator,
        "meeting schedule",
        {"title": "Tuesday SMART", "time": "19:00", "weekday": 1, "channel": group.voice},
    )
    await handle.response()
    about = await (await sandbox.actors.invoke(group.guild, people[0], "privacy about")).response()
    assert "pseudonym" in about.content
    await (await sandbox.actors.invoke(group.guild, people[2], "privacy opt-out")).response()
    await run_meeting(sandbox, group, harness, people, week=0, first=True)
    await run_meeting(sandbox, group, harness, people, week=1, first=False)
    # The facilitator found the second meeting tough: counted for the office, never linked to them.
    debrief = [m for m in sandbox.dms(group.facilitator) if "How was that for you?" in m.content][-1]
    await (await sandbox.actors.click(group.facilitator, debrief, label="Tough")).response()
    await at(harness, 7 * 24 * 60 + 120)  # the second meeting's feedback window has closed

    assert harness.bot is not None
    async with harness.bot.database.session() as session:
        meetings = (
            await session.scalars(select(ParticipationOccurrence).order_by(ParticipationOccurrence.occurrence_id))
        ).all()
        pseudonyms = set((await session.scalars(select(ParticipationMark.pseudonym))).all())
    assert [(m.attendees, m.new_attendees, m.returning_attendees, m.unlinked_attendees) for m in meetings] == [
        (3, 2, 0, 1),
        (3, 0, 2, 1),
    ]
    assert [(m.feedback_answers, m.fb_helpful_5, m.fb_heard_friend) for m in meetings] == [(2, 1, 2), (2, 1, 0)]
    assert len(pseudonyms) == 2

    route = await sandbox.actors.invoke(group.guild, group.coordinator, "referral create", {"name": "Anytown GP"})
    code = (await route.response()).content.split("https://discord.gg/")[1].split()[0]
    joiner = sandbox.state.add_user(JOINER[0], global_name=JOINER[1])
    await sandbox.actors.join_via_invite(code, joiner)
    listed = await sandbox.actors.invoke(group.guild, group.coordinator, "referral list")
    assert ": 1 / 1" in (await listed.response()).content  # counted (the read happens as the list is asked for)
    await harness.idle()

    files = await write_everything(harness, tmp_path / "out")
    debriefs = await harness.bot.services.care.debriefs.figures("2026-12", "2026-12", DisclosurePolicy(exact=True))
    assert [(row.asked, row.tough) for row in debriefs.rows] == [(2, 1)]
    care = tmp_path / "out" / "debriefs.md"
    care.write_text(figures_markdown(debriefs, {}) + figures_line(debriefs))
    files.append(care)
    await harness.kill()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("bot.sqlite3*"))
    logged = "\n".join(caplog.handler.format(r) for r in caplog.records if not r.name.startswith("tests."))
    outputs = {str(path.relative_to(tmp_path)): path.read_bytes() for path in files}
    assert logged and stored and len(outputs) == 12 + 4 + 5 + 1
    haystacks = {"database": stored, "log": logged.encode(), **outputs}
    for person in [*people, sandbox.state.guild(group.guild.id).members[joiner.id]]:
        needles = encodings(person.user.id)
        names = [person.user.username, person.user.global_name, person.nick]
        needles += [name.encode() for name in names if name]
        needles += [name.lower().encode() for name in names if name]
        for where, haystack in haystacks.items():
            for needle in needles:
                assert needle not in haystack, f"{needle!r} found in {where}"
    # Nor is the facilitator who answered a debrief in any export, report or the debrief figures.
    staff = group.facilitator.user
    for where, data in outputs.items():
        for needle in [*encodings(staff.id), staff.username.encode()]:
            assert needle not in data, f"the facilitator's {needle!r} found in {where}"
    # Pseudonyms stay in the database: no export or report carries one, nor any 64-hex-digit code.
    for name, data in outputs.items():
        assert not re.search(rb"[0-9a-f]{64}", data), name
    # Nor is a pseudonym in the log (SQL statement logging would put them there with their parameters).
    for pseudonym in pseudonyms:
        assert pseudonym not in logged
    # Neither key is in the database.
    for key_file in (harness.settings.pseudonym_key_file, optout_key_path(harness.settings.pseudonym_key_file)):
        key_text = key_file.read_text().strip()
        assert key_text.encode() not in stored and bytes.fromhex(key_text) not in stored
        assert key_text not in logged
