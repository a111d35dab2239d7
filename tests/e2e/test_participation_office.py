"""End to end: `/office report` in the central office's server, and the monthly digest posted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import BotHarness, Group
from tests.sandbox.server import Sandbox
from tests.unit.services.test_participation_export import meeting

pytestmark = pytest.mark.e2e

OCTOBER = datetime(2026, 10, 6, 18, 0, tzinfo=UTC)  # the harness's clock is in November: October is last month
FILES = ["summary.md", "attendance_per_week.png", "new_vs_returning.png", "meetings_held_missed.png", "feedback.png"]


async def test_office_report_and_monthly_digest(sandbox: Sandbox, group: Group, harness: BotHarness) -> None:
    actors = sandbox.actors
    office = await actors.create_guild("SMART Central Office")
    await actors.create_channel(office, "office")
    digest = await actors.create_channel(office, "digest")
    staff_role = await actors.create_role(office, "Central office")
    staff = await actors.create_member(office, "olive", roles=[staff_role])
    visitor = await actors.create_member(office, "victor")
    bot = await harness.start()
    await bot.services.participation.office.configure(office.id, digest.id, staff_role.id)
    async with bot.database.session() as session:
        session.add_all([meeting(n, group.guild.id, OCTOBER + timedelta(days=7 * n), attendees=9) for n in range(3)])

    elsewhere = await (await actors.invoke(group.guild, group.coordinator, "office report")).response()
    assert elsewhere.ephemeral and "only in the central office's server" in elsewhere.content
    refused = await (await actors.invoke(office, visitor, "office report")).response()
    assert refused.ephemeral and "Only members with" in refused.content
    bad = await (await actors.invoke(office, staff, "office report", {"start": "1 Oct"})).response()
    assert bad.ephemeral and "YYYY-MM-DD" in bad.content

    asked = await actors.invoke(office, staff, "office report")
    await asked.response()
    [posted] = await asked.wait_followups(1, timeout=15)
    assert "Participation, all groups: 2026-10-01 to 2026-10-31" in posted.content
    assert "Meetings: 3 (held 3, missed 0)" in posted.content and "Attendances: 25" in posted.content
    assert "SMART Online Group held its first meeting" in posted.content
    assert [attachment["filename"] for attachment in posted.attachments] == FILES

    office_cog = bot.get_cog("Office")
    assert await office_cog.digest_if_due()  # type: ignore[union-attr]
    assert not await office_cog.digest_if_due()  # type: ignore[union-attr]
    [sent] = sandbox.channel_messages(digest)
    assert sent.content.startswith("**Monthly digest: October 2026**")
    assert "held every one of its 3 meetings" in sent.content
    assert len(sent.attachments) == 5
