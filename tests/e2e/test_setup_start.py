"""End to end: a new server goes from empty to a first meeting with the welcome, `/setup start` and `/setup check`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import discord
import pytest

from bot.client import SmartBot
from bot.permissions import BOT_PERMISSIONS
from tests.e2e.conftest import BotHarness, Group
from tests.sandbox import permissions as perms
from tests.sandbox.handles import InteractionHandle
from tests.sandbox.models import Channel, GUILD_TEXT, GUILD_VOICE, Guild, Member, Message, Role
from tests.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

LONDON = ZoneInfo("Europe/London")
GROUP_CHANNELS = {("meetings", GUILD_TEXT), ("facilitators", GUILD_TEXT), ("coordinators", GUILD_TEXT)}
GROUP_CHANNELS |= {("Meeting room", GUILD_VOICE)}
GROUP_ROLES = {"Facilitator", "Coordinator", "Meeting reminders"}


@dataclass
class NewServer:
    """A server the bot joined empty, and the people in it once set-up made their roles."""

    guild: Guild
    owner: Member
    general: Channel

    def channel(self, name: str) -> Channel:
        [found] = [c for c in self.guild.channels.values() if c.name == name and not c.deleted]
        return found

    def role(self, name: str) -> Role:
        [found] = [r for r in self.guild.roles.values() if r.name == name]
        return found

    def made(self) -> list[tuple[str | None, int]]:
        """Return the group's channels and roles as (name, kind), roles with kind -1, sorted: duplicates show."""
        channels = [(c.name, c.type) for c in self.guild.channels.values() if (c.name, c.type) in GROUP_CHANNELS]
        roles = [(r.name, -1) for r in self.guild.roles.values() if r.name in GROUP_ROLES]
        return sorted(channels + roles, key=str)


async def join_empty_server(sandbox: Sandbox, **options: object) -> NewServer:
    """Add the bot, with exactly the invite link's permissions, to a server with nothing but @everyone."""
    guild = await sandbox.actors.create_guild("A new SMART group", bot_permissions=BOT_PERMISSIONS, **options)
    owner = guild.members[guild.owner_id]
    general = next((c for c in guild.channels.values() if c.id == guild.system_channel_id), None)
    return NewServer(guild, owner, general)  # type: ignore[arg-type]


async def start(sandbox: Sandbox, server: NewServer, options: dict[str, object] | None = None) -> Message:
    """Run `/setup start` as the owner; return the plan it shows."""
    handle = await sandbox.actors.invoke(server.guild, server.owner, "setup start", options or {})
    response = await handle.response()
    assert response.ephemeral and response.message is not None, response.content
    return response.message


async def accept(sandbox: Sandbox, server: NewServer, plan: Message, label: str) -> tuple[str, list[Message]]:
    """Press the plan's button; return the plan message's new text and the two follow-ups (crisis text, check)."""
    clicked = await sandbox.actors.click(server.owner, plan, label=label)
    followups = await clicked.wait_followups(2, timeout=10)
    return sandbox.state.messages[plan.id].content, followups


async def check(sandbox: Sandbox, guild: Guild, who: Member) -> str:
    await sandbox.sync()  # the bot has heard of every change the test made
    handle: InteractionHandle = await sandbox.actors.invoke(guild, who, "setup check")
    await handle.response()
    [answer] = await handle.wait_followups()
    assert answer.ephemeral
    return answer.content


def sees(sandbox: Sandbox, channel: Channel, user_id: int) -> bool:
    return bool(sandbox.state.permissions_in(channel, user_id) & perms.VIEW_CHANNEL)


async def test_an_empty_server_is_set_up_and_schedules_its_first_meeting(
    sandbox: Sandbox, harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    smartbot = await harness.start()
    server = await join_empty_server(sandbox)
    assert not server.guild.channels
    assert [r.name for r in server.guild.roles.values() if not r.managed] == ["@everyone"]

    # No system channel to post in: the welcome goes to the owner.
    await sandbox.wait_until(lambda: sandbox.dms(server.owner), what="the welcome")
    [welcome] = sandbox.dms(server.owner)
    assert "Three steps to a first meeting" in welcome.content and "`/setup start`" in welcome.content

    # A slash command is typed in some channel: the owner opens one (it is no part of the group's set-up).
    server.general = await sandbox.actors.create_channel(server.guild, "general")
    plan = await start(sandbox, server, {"timezone": "Europe/London"})
    assert "🆕 Create #facilitators, private to @Facilitator and @Coordinator" in plan.content
    assert "🆕 Create @Meeting reminders" in plan.content and "Time zone: Europe/London" in plan.content
    assert not server.made()  # nothing happens before the button

    summary, (crisis, checked) = await accept(sandbox, server, plan, "Create what's missing")
    assert "Set-up done" in summary and "Created: @Facilitator, @Coordinator, @Meeting reminders" in summary
    assert len(server.made()) == 7
    assert {name for name, _ in server.made()} == {name for name, _ in GROUP_CHANNELS} | GROUP_ROLES
    assert "Samaritans" in str(crisis.embeds) and "/setup crisis-text" in crisis.content
    assert "Everything is ready" in checked.content
    assert server.role("Meeting reminders").mentionable

    # The private channels are hidden from @everyone and shown to their role and the bot.
    facilitator = await sandbox.actors.create_member(server.guild, "fran", roles=[server.role("Facilitator")])
    coordinator = await sandbox.actors.create_member(server.guild, "cora", roles=[server.role("Coordinator")])
    member = await sandbox.actors.create_member(server.guild, "max")
    facilitators, coordinators = server.channel("facilitators"), server.channel("coordinators")
    everyone = facilitators.overwrites[server.guild.id]
    assert everyone.deny & perms.VIEW_CHANNEL and coordinators.overwrites[server.guild.id].deny & perms.VIEW_CHANNEL
    assert [sees(sandbox, facilitators, who.id) for who in (member, facilitator, coordinator)] == [False, True, True]
    assert [sees(sandbox, coordinators, who.id) for who in (member, facilitator, coordinator)] == [False, False, True]
    assert sees(sandbox, facilitators, sandbox.bot.id) and sees(sandbox, coordinators, sandbox.bot.id)
    assert sees(sandbox, server.channel("meetings"), member.id)
    saved = await smartbot.services.guild_config.get(server.guild.id)
    assert (saved.timezone, saved.facilitators_channel_id) == ("Europe/London", facilitators.id)
    assert saved.reminder_role_id == server.role("Meeting reminders").id

    assert "Everything is ready" in await check(sandbox, server.guild, server.owner)

    # A facilitator schedules the first meeting as people say it; members see it at 19:00 London time.
    voice = server.channel("Meeting room")
    options = {"title": "Tuesday evening SMART", "time": "7pm", "weekday": 1, "channel": voice}
    scheduled = await (await sandbox.actors.invoke(server.guild, facilitator, "meeting schedule", options)).response()
    assert "Scheduled" in scheduled.content, scheduled.content
    listing = await (await sandbox.actors.invoke(server.guild, member, "meeting list")).response()
    first = int(datetime(2026, 12, 1, 19, 0, tzinfo=LONDON).timestamp())
    assert f"<t:{first}:F>" in listing.content and "Tuesday evening SMART" in listing.content

    # Running set-up again uses what is there and creates nothing twice.
    before = server.made()
    again = await start(sandbox, server)
    assert "🆕" not in again.content and "✅ Use #facilitators as the facilitators' channel" in again.content
    summary, (_, checked) = await accept(sandbox, server, again, "Use these")
    assert "Created" not in summary and server.made() == before
    assert "Everything is ready" in checked.content
    assert "Traceback" not in caplog.text


async def test_check_names_a_permission_taken_from_the_bot_and_how_to_give_it_back(
    sandbox: Sandbox, harness: BotHarness
) -> None:
    await harness.start()
    server = await join_empty_server(sandbox, system_channel="general")
    await accept(sandbox, server, await start(sandbox, server, {"timezone": "Europe/London"}), "Create what's missing")
    assert "Everything is ready" in await check(sandbox, server.guild, server.owner)

    own_role = server.guild.roles[next(r for r in server.guild.members[sandbox.bot.id].roles)]
    without_events = discord.Permissions(BOT_PERMISSIONS.value)
    without_events.manage_events = False
    await sandbox.actors.set_bot_permissions(server.guild, without_events)
    found = await check(sandbox, server.guild, server.owner)
    assert "1 thing needs fixing" in found and "'Manage Events' in #Meeting room" in found
    assert f"Give the bot's role '{own_role.name}' 'Manage Events' in Server Settings → Roles." in found

    # Denied in one channel only, the fix is in that channel's own permissions.
    await sandbox.actors.set_bot_permissions(server.guild, BOT_PERMISSIONS)
    meetings = server.channel("meetings")
    await sandbox.actors.set_overwrite(meetings, own_role, deny=perms.CREATE_PUBLIC_THREADS)
    found = await check(sandbox, server.guild, server.owner)
    assert "#meetings's own permissions deny me 'Create Public Threads'" in found
    assert "In #meetings → Edit Channel → Permissions, allow 'Create Public Threads'" in found

    # A role above the bot's can't be given to members.
    await sandbox.actors.remove_overwrite(meetings, own_role)
    reminders = server.role("Meeting reminders")
    await sandbox.actors.edit_role(server.guild, reminders, position=own_role.position + 1)
    found = await check(sandbox, server.guild, server.owner)
    assert f"Drag the bot's role '{own_role.name}' above 'Meeting reminders'" in found


async def test_the_welcome_goes_to_the_system_channel_when_the_bot_can_post_there(
    sandbox: Sandbox, harness: BotHarness
) -> None:
    await harness.start()
    server = await join_empty_server(sandbox, system_channel="general")

    def posted() -> list[Message]:
        return sandbox.channel_messages(server.general)

    await sandbox.wait_until(posted, what="the welcome")
    [welcome] = posted()
    assert welcome.author.id == sandbox.bot.id and "`/setup start`" in welcome.content
    assert not sandbox.dms(server.owner)


async def test_no_welcome_anywhere_is_logged_and_nothing_breaks(
    sandbox: Sandbox, harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.start()
    owner = sandbox.state.add_user("owner", global_name="Private Owner")
    owner.dms_open = False
    with caplog.at_level(logging.INFO, logger="cogs.setup._welcome"):
        server = await join_empty_server(sandbox, owner=owner)
        await sandbox.wait_until(lambda: "Could not welcome" in caplog.text, what="the log line")
    assert not sandbox.dms(owner)
    # The bot's own records: asyncio may report, whenever the collector runs, a task an earlier test left behind.
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "cogs", "discord")]
    assert not [r for r in ours if r.levelno >= logging.WARNING]
    # The bot still serves the server.
    server.general = await sandbox.actors.create_channel(server.guild, "general")
    assert "Create what's missing" in str((await start(sandbox, server)).components)


async def test_an_existing_server_is_adopted_and_its_public_staff_channels_are_named(
    sandbox: Sandbox, group: Group, smartbot: SmartBot
) -> None:
    admin = group.admin
    server = NewServer(group.guild, admin, group.meetings)
    before = server.made()
    plan = await start(sandbox, server)
    assert "🆕" not in plan.content and "✅ Use 🔊 meeting-room as the voice channel for meetings" in plan.content
    summary, (crisis, checked) = await accept(sandbox, server, plan, "Use these")
    assert server.made() == before
    assert "Time zone: not set yet" in summary
    saved = await smartbot.services.guild_config.get(group.guild.id)
    assert saved.facilitators_channel_id == group.facilitators.id
    assert saved.coordinator_role_id == group.coordinator_role.id
    # The fixture's staff channels are public: the check says so, and how to fix it.
    assert "Everyone can see #facilitators, the facilitators' channel, which should be private." in checked.content
    assert "turn off 'View Channel' for @everyone and allow it for 'Facilitator' and 'Coordinator'" in checked.content
    assert "The group's time zone is not set yet" in checked.content and "Not set yet" not in checked.content
    # The staff roles were made mentionable, so alerts reach them.
    assert group.facilitator_role.mentionable and group.coordinator_role.mentionable

    # The time zone is asked for after set-up.
    zone = await sandbox.actors.click(admin, crisis, label="Set time zone")
    submitted = await sandbox.actors.submit_modal(zone, {"Time zone (an IANA name)": "europe/london"})
    saved_zone = await submitted.response()
    assert "Time zone saved: Europe/London" in saved_zone.content
    assert (await smartbot.services.guild_config.get(group.guild.id)).timezone == "Europe/London"


async def test_cancel_changes_nothing_and_others_cannot_press_the_buttons(
    sandbox: Sandbox, harness: BotHarness
) -> None:
    bot = await harness.start()
    server = await join_empty_server(sandbox, system_channel="general")
    plan = await start(sandbox, server, {"timezone": "Europe/London"})
    cancelled = await (await sandbox.actors.click(server.owner, plan, label="Cancel")).response()
    assert cancelled.content == "Set-up cancelled: nothing was changed."
    assert not server.made()
    assert (await bot.services.guild_config.get(server.guild.id)).timezone is None


async def test_a_wrong_time_zone_is_refused_before_anything_is_made(sandbox: Sandbox, harness: BotHarness) -> None:
    await harness.start()
    server = await join_empty_server(sandbox, system_channel="general")
    handle = await sandbox.actors.invoke(server.guild, server.owner, "setup start", {"timezone": "Europe/Londn"})
    response = await handle.response()
    assert response.ephemeral and "Europe/London" in response.content and not response.message.components
    assert not server.made()
    choices = await sandbox.actors.autocomplete(
        server.guild, server.owner, "setup start", {"timezone": "kolk"}, focused="timezone"
    )
    assert [c["value"] for c in choices] == ["Asia/Kolkata"]


async def test_members_cannot_start_or_check_set_up(sandbox: Sandbox, group: Group, smartbot: SmartBot) -> None:
    command = next(c for c in sandbox.state.commands.values() if c.name == "setup")
    command.default_member_permissions = None  # an admin showed /setup to everyone
    start_refused = await (await sandbox.actors.invoke(group.guild, group.member, "setup start")).response()
    assert "Manage Server" in start_refused.content
    check_refused = await (await sandbox.actors.invoke(group.guild, group.member, "setup check")).response()
    assert re.search(r"Only members with .* \(or Manage Server\)", check_refused.content)
    assert not [m for m in sandbox.state.messages.values() if "Everything is ready" in m.content]


async def test_without_manage_channels_set_up_says_so_makes_what_it_can_and_the_check_names_the_rest(
    sandbox: Sandbox, harness: BotHarness
) -> None:
    await harness.start()
    without = discord.Permissions(BOT_PERMISSIONS.value)
    without.manage_channels = False
    guild = await sandbox.actors.create_guild("Careful admins", bot_permissions=without, system_channel="general")
    server = NewServer(guild, guild.members[guild.owner_id], next(iter(guild.channels.values())))
    plan = await start(sandbox, server, {"timezone": "Europe/London"})
    assert "⚠️ I need 'Manage Channels' to do this." in plan.content
    summary, (_, checked) = await accept(sandbox, server, plan, "Create what's missing")
    assert "Created: @Facilitator, @Coordinator, @Meeting reminders." in summary
    assert "- #meetings: I need 'Manage Channels' to create it." in summary
    assert {name for name, _ in server.made()} == GROUP_ROLES
    assert "Not set yet: meetings channel, facilitators' channel, coordinators' channel." in checked.content
