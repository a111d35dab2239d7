"""End to end: referral links made by coordinators, members joining through them, counted as numbers only.

The sandbox makes real invites and lets people join through them; the bot reads the invites' use counts on its
hourly timer (driven by the test's clock), and the counts per route and month come out in the export and the report
under the same disclosure control as every count.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models_referral import ReferralCount
from bot.domain.disclosure import DisclosurePolicy
from bot.domain.referral import DEFAULT_WELCOME_TEXT
from bot.permissions import BOT_PERMISSIONS
from bot.services.participation.export import ExportRequest
from bot.services.participation.report import build_report
from bot.services.referral.counts import metadata, referral_counts, write_csv, write_json
from tests.e2e.conftest import BotHarness, Group, configure
from tests.sandbox import permissions as perms
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the harness's clock
AGENCY = "Anytown Alcohol Service"
SURGERY = "Ysbyty Gwynedd GP"


async def start(sandbox: Sandbox, group: Group, harness: BotHarness, *, permissions: int | None = None) -> None:
    await sandbox.actors.set_bot_permissions(group.guild, BOT_PERMISSIONS if permissions is None else permissions)
    await harness.start()
    await configure(sandbox, group)


async def create(sandbox: Sandbox, group: Group, name: str, **options: object) -> str:
    handle = await sandbox.actors.invoke(group.guild, group.coordinator, "referral create", {"name": name, **options})
    response = await handle.response()
    assert response.ephemeral, response.content
    return response.content


def code_in(text: str) -> str:
    found = re.search(r"https://discord\.gg/([A-Za-z0-9]+)", text)
    assert found is not None, text
    return found.group(1)


async def join(sandbox: Sandbox, code: str, count: int, prefix: str) -> None:
    for number in range(count):
        await sandbox.actors.join_via_invite(code, f"{prefix}{number}")


async def list_text(sandbox: Sandbox, group: Group, **options: object) -> str:
    handle = await sandbox.actors.invoke(group.guild, group.coordinator, "referral list", options or None)
    response = await handle.response()
    assert response.ephemeral
    return response.content


async def test_two_routes_counted_per_route_and_month_in_export_and_report(
    sandbox: Sandbox, group: Group, harness: BotHarness, tmp_path: Path
) -> None:
    await start(sandbox, group, harness)
    agency = code_in(await create(sandbox, group, AGENCY))
    surgery = code_in(await create(sandbox, group, SURGERY))
    # Real invites, opening on the meetings channel (no welcome channel set), that never expire.
    invites = sandbox.state.invites
    assert {invites[agency].channel_id, invites[surgery].channel_id} == {group.meetings.id}
    assert invites[agency].max_age == 0 and invites[agency].max_uses == 0
    await harness.idle()
    # The first route posted the newcomers' note in the welcome channel, pinned.
    [note] = [m for m in sandbox.channel_messages(group.meetings) if m.content == DEFAULT_WELCOME_TEXT]
    assert note.pinned and "/meeting list" in note.content and "/crisis" in note.content

    await join(sandbox, agency, 10, "agency")
    await join(sandbox, surgery, 3, "surgery")
    assert harness.bot is not None
    # Nothing is counted until the hourly read.
    async with harness.bot.database.session() as session:
        assert (await session.scalars(select(ReferralCount))).all() == []
    await harness.advance_to(NOW + timedelta(hours=1, minutes=1))
    # Into December: two more through the agency's link are December's (counted at the next hourly read).
    await harness.advance_to(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    await join(sandbox, agency, 2, "december")
    await harness.advance_to(datetime(2026, 12, 1, 1, 30, tzinfo=UTC))

    database = harness.bot.database
    start_day, end_day = date(2026, 11, 1), date(2026, 12, 31)
    exact = await referral_counts(database, start_day, end_day, exact=True)
    assert [(r.scope, r.route, r.month, r.joins) for r in exact] == [
        ("group", AGENCY, "2026-11", 10),
        ("group", AGENCY, "2026-12", 2),
        ("group", SURGERY, "2026-11", 3),
        ("group", SURGERY, "2026-12", 0),
        ("all groups", None, "2026-11", 13),
        ("all groups", None, "2026-12", 2),
        ("total", None, None, 15),
    ]
    protected = await referral_counts(database, start_day, end_day)
    # Small counts suppressed (None), the rest rounded to 5; totals are the rounded true totals, never suppressed.
    assert [(r.scope, r.route, r.month, r.joins) for r in protected] == [
        ("group", AGENCY, "2026-11", 10),
        ("group", AGENCY, "2026-12", None),
        ("group", SURGERY, "2026-11", None),
        ("group", SURGERY, "2026-12", 0),
        ("all groups", None, "2026-11", 15),
        ("all groups", None, "2026-12", 0),
        ("total", None, None, 15),
    ]
    assert all(r.guild_id == group.guild.id for r in protected if r.scope == "group")
    policy = DisclosurePolicy()
    csv_out, json_out = io.StringIO(), io.StringIO()
    assert write_csv(protected, csv_out, metadata(start_day, end_day, (), policy, NOW)) == 7
    write_json(protected, json_out, metadata(start_day, end_day, (), policy, NOW))
    assert f"group,{group.guild.id},{SURGERY},2026-11,*" in csv_out.getvalue()
    assert '"joins": null' in json_out.getvalue()

    report = await build_report(database, ExportRequest(start_day, end_day), tmp_path / "report", NOW)
    summary = report.summary.read_text()
    assert "## Referral routes" in summary
    assert f"| {AGENCY} | 2026-11 | 10 |" in summary and f"| {SURGERY} | 2026-11 | * |" in summary
    # A small total across groups reads "fewer than 8", never its rounding (0 for a true 2).
    assert "| **All groups** | | 2026-12 | fewer than 8 |" in summary

    listed = await list_text(sandbox, group)
    assert f"**{AGENCY}**" in listed and ": 2 / 12" in listed and ": 0 / 3" in listed


async def test_retiring_deletes_the_invite_and_keeps_the_counts(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await start(sandbox, group, harness)
    code = code_in(await create(sandbox, group, AGENCY))
    await join(sandbox, code, 4, "early")
    choices = await sandbox.actors.autocomplete(
        group.guild, group.coordinator, "referral retire", {"name": "anyt"}, focused="name"
    )
    assert [c["value"] for c in choices] == [AGENCY]
    handle = await sandbox.actors.invoke(
        group.guild, group.coordinator, "referral retire", {"name": "anytown alcohol service"}
    )
    assert "Retired" in (await handle.response()).content
    await harness.idle()
    assert code not in sandbox.state.invites
    # The joins before retiring were counted at the last read, made before the invite was deleted.
    listed = await list_text(sandbox, group, retired=True)
    assert "(retired)" in listed and ": 4 / 4" in listed
    assert "No referral links yet" in await list_text(sandbox, group)
    # The name is free again for a new link.
    assert "https://discord.gg/" in await create(sandbox, group, AGENCY)


async def test_bad_input_is_refused_and_changes_nothing(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await start(sandbox, group, harness)
    await create(sandbox, group, AGENCY)
    duplicate = await create(sandbox, group, "  anytown   ALCOHOL service ")
    assert "already a route" in duplicate
    for refused_by_discord in ({"name": "x" * 81}, {"name": "Voice", "channel": group.voice}):
        # Discord itself refuses a name longer than the option allows, and a channel of another type.
        with pytest.raises(AssertionError):
            await create(sandbox, group, **refused_by_discord)
    unknown = await sandbox.actors.invoke(group.guild, group.coordinator, "referral retire", {"name": "Nobody"})
    assert "no referral route called “Nobody”" in (await unknown.response()).content
    assert len(sandbox.state.invites) == 1
    # Members can't use the commands, nor see the routes' names.
    for command, options in (("referral create", {"name": "Mine"}), ("referral list", {})):
        refused = await (await sandbox.actors.invoke(group.guild, group.member, command, options)).response()
        assert refused.ephemeral and "Only members with" in refused.content
    choices = await sandbox.actors.autocomplete(
        group.guild, group.member, "referral retire", {"name": ""}, focused="name"
    )
    assert choices == []
    assert len(sandbox.state.invites) == 1


async def test_no_channel_to_open_on_is_refused(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await sandbox.actors.set_bot_permissions(group.guild, BOT_PERMISSIONS)
    await harness.start()
    # Set up without a meetings channel, and no welcome channel chosen: a link has nowhere to open.
    handle = await sandbox.actors.invoke(
        group.guild,
        group.admin,
        "setup configure",
        {"timezone": "Europe/London", "coordinator_role": group.coordinator_role},
    )
    await handle.response()
    response = await create(sandbox, group, AGENCY)
    assert "welcome channel" in response and sandbox.state.invites == {}


async def test_missing_manage_channels_is_said_in_list_and_setup_check(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await start(sandbox, group, harness, permissions=BOT_PERMISSIONS.value & ~perms.MANAGE_CHANNELS)
    await create(sandbox, group, AGENCY)
    listed = await list_text(sandbox, group)
    assert "Manage Channels" in listed
    await sandbox.sync()
    handle = await sandbox.actors.invoke(group.guild, group.admin, "setup check")
    await handle.response()
    [check] = await handle.wait_followups()
    assert "'Manage Channels' in #meetings (the welcome channel)" in check.content


async def test_coordinators_edit_the_pinned_note_in_place(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    await start(sandbox, group, harness)
    welcome = await sandbox.actors.create_channel(group.guild, "welcome")
    handle = await sandbox.actors.invoke(
        group.guild, group.coordinator, "referral welcome-channel", {"channel": welcome}
    )
    assert "#welcome" in (await handle.response()).content or str(welcome.id) in (await handle.response()).content
    code = code_in(await create(sandbox, group, AGENCY))
    assert sandbox.state.invites[code].channel_id == welcome.id
    await harness.idle()
    [note] = sandbox.channel_messages(welcome)
    assert note.pinned and note.content == DEFAULT_WELCOME_TEXT
    opened = await sandbox.actors.invoke(group.guild, group.coordinator, "referral welcome-text")
    text = "**New here?** Our meetings are on Tuesdays. Cameras optional; `/meeting list` shows the next one."
    submitted = await sandbox.actors.submit_modal(opened, {"What a newcomer should know": text})
    assert "Saved" in (await submitted.response()).content
    await harness.idle()
    [edited] = sandbox.channel_messages(welcome)
    assert edited.id == note.id and edited.content == text and edited.pinned
    reset = await sandbox.actors.invoke(group.guild, group.coordinator, "referral welcome-text", {"reset": True})
    await reset.response()
    await harness.idle()
    assert [m.content for m in sandbox.channel_messages(welcome)] == [DEFAULT_WELCOME_TEXT]
