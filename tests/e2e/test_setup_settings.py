"""End to end: coordinators set the group's timings in Discord, `/setup show` shows them, and the bot keeps to them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.client import SmartBot
from tests.e2e.conftest import BotHarness, Group, configure
from tests.fixtures.meeting import START, schedule_tuesday
from tests.sandbox.models import Member
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


def show_setup_to_everyone(sandbox: Sandbox) -> None:
    """Do what an admin does in Server Settings → Integrations: let members without Manage Server see /setup."""
    command = next(c for c in sandbox.state.commands.values() if c.name == "setup")
    command.default_member_permissions = None


async def settings(sandbox: Sandbox, group: Group, who: Member, **options: object) -> str:
    handle = await sandbox.actors.invoke(group.guild, who, "setup settings", options)
    response = await handle.response()
    assert response.ephemeral
    return response.content


async def shown(sandbox: Sandbox, group: Group) -> dict[str, str]:
    response = await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()
    return {field["name"]: field["value"] for field in response.data["embeds"][0]["fields"]}


async def test_coordinators_set_the_timings_and_setup_show_shows_them(
    sandbox: Sandbox, group: Group, smartbot: SmartBot
) -> None:
    await configure(sandbox, group)
    assert (await shown(sandbox, group))["Reminders"] == "1 day and 15 minutes before"
    show_setup_to_everyone(sandbox)

    saved = await settings(
        sandbox,
        group,
        group.coordinator,
        reminders="24h,30m",
        late_start_grace_minutes=20,
        rota_confirm_hours=48,
        rota_escalate_hours=12,
    )
    assert saved.startswith("Saved.") and "Reminders: 1 day and 30 minutes before" in saved
    fields = await shown(sandbox, group)
    assert fields["Reminders"] == "1 day and 30 minutes before"
    assert fields["Late-start grace"] == "20 minutes"
    assert fields["Rota"] == "Confirm 48 hours before; coordinators told 12 hours before if unconfirmed"

    # One value at a time; the others stay.
    assert "Reminders: Off" in await settings(sandbox, group, group.admin, reminders="off")
    assert (await shown(sandbox, group))["Late-start grace"] == "20 minutes"

    refused = await settings(sandbox, group, group.member, reminders="15m")
    assert f"Only members with <@&{group.coordinator_role.id}> (or Manage Server)" in refused
    assert (await shown(sandbox, group))["Reminders"] == "Off"


async def test_bad_timings_are_refused_with_what_is_accepted_and_change_nothing(
    sandbox: Sandbox, group: Group, smartbot: SmartBot
) -> None:
    await configure(sandbox, group)
    escalate = await settings(sandbox, group, group.admin, rota_confirm_hours=24, rota_escalate_hours=24)
    assert "must be at least 1 hour and less than the confirmation (24 hours before)" in escalate
    too_many = await settings(sandbox, group, group.admin, reminders="2d,1d,1h,15m", late_start_grace_minutes=30)
    assert "at most 3" in too_many
    unreadable = await settings(sandbox, group, group.admin, reminders="next week")
    assert "`next week` isn't a reminder time I understand" in unreadable and "`24h,15m`" in unreadable
    fields = await shown(sandbox, group)
    assert (fields["Reminders"], fields["Late-start grace"]) == ("1 day and 15 minutes before", "15 minutes")
    assert fields["Rota"].startswith("Confirm 72 hours before")


async def test_members_are_reminded_at_the_new_times_for_meetings_already_planned(
    sandbox: Sandbox, group: Group, harness: BotHarness
) -> None:
    await harness.start()
    await configure(sandbox, group)
    await schedule_tuesday(sandbox, group)
    await settings(sandbox, group, group.admin, reminders="2h")

    def reminders() -> list[str]:
        return [m.content for m in sandbox.channel_messages(group.meetings) if "Reminder:" in m.content]

    await harness.advance_to(START - timedelta(hours=2, minutes=1))
    assert reminders() == []  # no longer a day before
    await harness.advance_to(START - timedelta(hours=2))
    [reminder] = reminders()
    assert reminder.startswith(f"<@&{group.reminder_role.id}> Reminder: **Tuesday SMART** starts")
    await harness.advance_to(START - timedelta(minutes=1))
    assert len(reminders()) == 1  # and no longer 15 minutes before
