"""End to end: /setup through the real bot and the sandbox."""

from __future__ import annotations

import asyncio
import signal

import discord
import pytest

from bot.client import SmartBot
from tests.e2e.conftest import Group, configure
from tests.fixtures.db import statements
from tests.sandbox.runner import pointed_at
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


async def test_commands_are_synced_once(sandbox: Sandbox, group: Group, harness) -> None:
    bot = await harness.start()
    names = {command.name for command in sandbox.state.commands.values()}
    assert {"setup", "meeting", "tool", "crisis", "alert-facilitator"} <= names
    assert await bot.sync_commands_if_changed() is False  # unchanged tree: no second sync


async def test_setup_round_trip(sandbox: Sandbox, group: Group, smartbot) -> None:
    await configure(sandbox, group)
    handle = await sandbox.actors.invoke(group.guild, group.admin, "setup show")
    response = await handle.response()
    assert response.ephemeral
    fields = {f["name"]: f["value"] for f in response.data["embeds"][0]["fields"]}
    assert fields["Time zone"] == "Europe/London"
    assert fields["Meetings channel"] == f"<#{group.meetings.id}>"
    assert fields["Reminder role (opt-in)"] == f"<@&{group.reminder_role.id}>"
    assert "Samaritans" in fields["Crisis resources (default)"]


async def test_setup_before_configuring_says_what_to_set(sandbox: Sandbox, group: Group, smartbot) -> None:
    handle = await sandbox.actors.invoke(group.guild, group.admin, "setup show")
    response = await handle.response()
    assert "isn't fully set up" in response.content
    assert "time zone" in response.content and "meetings channel" in response.content


async def test_command_needing_setup_names_what_is_missing(sandbox: Sandbox, group: Group, smartbot) -> None:
    handle = await sandbox.actors.invoke(group.guild, group.member, "meeting remind-me", {"setting": "on"})
    response = await handle.response()
    assert response.ephemeral
    assert "reminder role" in response.content and "/setup configure" in response.content


async def test_non_admin_is_refused_naming_the_permission(sandbox: Sandbox, group: Group, smartbot) -> None:
    command = next(c for c in sandbox.state.commands.values() if c.name == "setup")
    # Discord hides /setup from members by default; an admin can show it to everyone, so the bot checks too.
    assert command.default_member_permissions == str(discord.Permissions(manage_guild=True).value)
    command.default_member_permissions = None
    handle = await sandbox.actors.invoke(group.guild, group.member, "setup configure", {"timezone": "Europe/Paris"})
    response = await handle.response()
    assert response.ephemeral
    assert "Manage Server" in response.content
    show = await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()
    assert "Europe/Paris" not in str(show.data)


async def test_invalid_zone_is_refused_with_a_specific_message(sandbox: Sandbox, group: Group, smartbot) -> None:
    handle = await sandbox.actors.invoke(group.guild, group.admin, "setup configure", {"timezone": "Europe/Londn"})
    response = await handle.response()
    assert response.ephemeral
    assert "Europe/Londn" in response.content and "Europe/London" in response.content


async def test_timezone_autocomplete(sandbox: Sandbox, group: Group, smartbot) -> None:
    choices = await sandbox.actors.autocomplete(
        group.guild, group.admin, "setup configure", {"timezone": "kolk"}, focused="timezone"
    )
    assert [c["value"] for c in choices] == ["Asia/Kolkata"]


async def test_crisis_text_modal_round_trip(sandbox: Sandbox, group: Group, smartbot) -> None:
    opened = await sandbox.actors.invoke(group.guild, group.admin, "setup crisis-text")
    submitted = await sandbox.actors.submit_modal(
        opened, {"What members should see if they are in crisis": "Call 999."}
    )
    response = await submitted.response()
    assert "updated" in response.content
    crisis = await (await sandbox.actors.invoke(group.guild, group.member, "crisis")).response()
    assert crisis.ephemeral and crisis.content == "Call 999."


async def test_the_next_command_sees_what_setup_changed_and_repeats_read_no_settings(
    sandbox: Sandbox, group: Group, smartbot: SmartBot
) -> None:
    async def crisis() -> str:
        answer = await (await sandbox.actors.invoke(group.guild, group.member, "crisis")).response()
        return answer.content

    assert "Samaritans" in await crisis()
    with statements(smartbot.database) as seen:
        assert "Samaritans" in await crisis()
    assert not [statement for statement in seen if "FROM guild_config" in statement]  # served from memory
    opened = await sandbox.actors.invoke(group.guild, group.admin, "setup crisis-text")
    await (
        await sandbox.actors.submit_modal(opened, {"What members should see if they are in crisis": "Call 999."})
    ).response()
    assert await crisis() == "Call 999."
    await (await sandbox.actors.invoke(group.guild, group.admin, "setup crisis-reset")).response()
    assert "Samaritans" in await crisis()
    await configure(sandbox, group, timezone="Asia/Kolkata")
    shown = await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()
    fields = {f["name"]: f["value"] for f in shown.data["embeds"][0]["fields"]}
    assert fields["Time zone"] == "Asia/Kolkata"


async def test_close_stops_the_scheduler_and_releases_the_database(sandbox: Sandbox, group: Group, harness) -> None:
    from bot.client import SmartBot
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from bot.scheduler import Scheduler

    database = Database(harness.database_url)
    await upgrade(database)
    disposed: list[bool] = []
    original = database.dispose

    async def tracking_dispose() -> None:
        disposed.append(True)
        await original()

    database.dispose = tracking_dispose  # type: ignore[method-assign]
    bot = SmartBot(harness.settings, database, clock=harness.clock, scheduler=Scheduler(), guild_ready_timeout=0.05)
    running = await harness.start_client(bot)
    assert bot.scheduler.running
    await running.stop()
    assert not bot.scheduler.running
    assert disposed == [True]


async def test_a_stop_signal_closes_the_bot_and_returns_only_once_the_database_is_closed(
    sandbox: Sandbox, group: Group, harness
) -> None:
    from bot.client import run_until_signalled
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from bot.scheduler import Scheduler

    database = Database(harness.database_url)
    await upgrade(database)
    order: list[str] = []
    dispose = database.dispose

    async def recorded_dispose(grace: float = 2.0) -> None:
        order.append("database closing")
        await dispose(grace)
        order.append("database closed")

    database.dispose = recorded_dispose  # type: ignore[method-assign]
    bot = SmartBot(harness.settings, database, clock=harness.clock, scheduler=Scheduler(), guild_ready_timeout=0.05)
    with pointed_at(sandbox):
        running = asyncio.create_task(run_until_signalled(bot, sandbox.token))
        while not bot.is_ready():
            assert not running.done(), running
            await asyncio.sleep(0.005)
        # As systemd stops the service; `python -m bot run` returns from the same function.
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)  # impatient: a second signal changes nothing
        await running
    order.append("returned")
    await bot.close()  # as any later caller would: the same close, already done
    # Before, the run returned while the database was still closing, and asyncio.run cancelled the rest.
    assert order == ["database closing", "database closed", "returned"]


@pytest.mark.parametrize("freeze", [True, False], ids=["production", "tests"])
async def test_the_heap_built_at_start_up_is_frozen_only_when_asked(
    sandbox: Sandbox, group: Group, harness, monkeypatch: pytest.MonkeyPatch, freeze: bool
) -> None:
    import gc

    from bot.client import SmartBot
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from tests.fixtures.scheduler import ManualScheduler

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    database = Database(harness.database_url)
    await upgrade(database)
    bot = SmartBot(
        harness.settings,
        database,
        clock=harness.clock,
        scheduler=ManualScheduler(),  # type: ignore[arg-type]
        freeze_heap=freeze,
        guild_ready_timeout=0.05,
    )
    running = await harness.start_client(bot)
    try:
        assert frozen == ([True] if freeze else [])
    finally:
        await running.stop()


async def test_outside_the_uk_the_default_crisis_text_asks_for_local_resources(
    sandbox: Sandbox, group: Group, smartbot
) -> None:
    async def show() -> str:
        return (await (await sandbox.actors.invoke(group.guild, group.admin, "setup show")).response()).content

    await configure(sandbox, group)  # Europe/London: the default text is meant for this group
    assert "/setup crisis-text" not in await show()

    saved = await (
        await sandbox.actors.invoke(group.guild, group.admin, "setup configure", {"timezone": "America/Chicago"})
    ).response()
    assert saved.ephemeral and "default crisis resources are for the UK" in saved.content
    assert "America/Chicago" in saved.content and "/setup crisis-text" in saved.content
    assert "default crisis resources are for the UK" in await show()

    # The Crown Dependencies run their own services (no NHS 111): they are asked to check too.
    await configure(sandbox, group, timezone="Europe/Jersey")
    assert "default crisis resources are for the UK" in await show()
    await configure(sandbox, group, timezone="Europe/Belfast")
    assert "/setup crisis-text" not in await show()

    await configure(sandbox, group, timezone="America/Chicago")
    opened = await sandbox.actors.invoke(group.guild, group.admin, "setup crisis-text")
    await (
        await sandbox.actors.submit_modal(opened, {"What members should see if they are in crisis": "Call 911 or 988."})
    ).response()
    assert "/setup crisis-text" not in await show()


async def test_the_default_crisis_text_lists_the_addiction_helplines(sandbox: Sandbox, group: Group, smartbot) -> None:
    crisis = await (await sandbox.actors.invoke(group.guild, group.member, "crisis")).response()
    for number in ("999", "111", "116 123", "85258", "0300 123 6600", "0300 123 1110", "0808 8020 133"):
        assert number in crisis.content, number
