"""End to end: the "minutes left" warning comes only for a phase longer than the warning, never as a phase opens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.conftest import BotHarness, Group, MeetingDriver
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


def warnings_about(sandbox: Sandbox, group: Group, phase: str) -> list[str]:
    return [m.content for m in sandbox.dms(group.facilitator) if f"left in {phase}" in m.content]


async def test_a_phase_no_longer_than_the_warning_gets_none_and_a_longer_one_gets_it_once(
    sandbox: Sandbox, group: Group, harness: BotHarness, meeting: MeetingDriver
) -> None:
    await meeting.start_bot_and_configure()
    switched = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup pass-the-hat", {"enabled": True})
    ).response()
    assert "on" in switched.content
    started = await (
        await sandbox.actors.invoke(group.guild, group.facilitator, "meeting start", {"title": "Tuesday SMART"})
    ).response()
    assert "Starting" in started.content
    await harness.idle()
    # Through the phases to pass the hat: 3 minutes long, as long as the 3-minute warning.
    await meeting.click_through_phases("Pass the hat")
    opened = harness.clock.now()
    await harness.advance_to(opened + timedelta(seconds=1))
    await harness.advance_to(opened + timedelta(minutes=2))
    assert warnings_about(sandbox, group, "pass the hat") == []

    # Check-out is 12 minutes: warned once, 3 minutes before its end, not as it opens.
    await meeting.click_panel("Next phase")
    opened = harness.clock.now()
    await harness.advance_to(opened + timedelta(minutes=8, seconds=59))
    assert warnings_about(sandbox, group, "check-out") == []
    await harness.advance_to(opened + timedelta(minutes=9))
    assert warnings_about(sandbox, group, "check-out") == ["3 minutes left in check-out (Tuesday SMART)."]
