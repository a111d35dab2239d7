"""The real bot, end to end: SmartBot with its cogs, on a fresh database, logged in to the sandbox."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import discord
import pytest

from bot.client import SmartBot
from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.logging_setup import PAYLOAD_LOGGERS, QUIET_LOGGERS, configure_logging
from bot.settings import Settings
from tests.fixtures.db import FakeClock
from tests.fixtures.scheduler import ManualScheduler
from tests.sandbox.models import Channel, Guild, Member, Role
from tests.sandbox.plugin import ClientStarter
from tests.sandbox.runner import RunningClient
from tests.sandbox.server import Sandbox

LOGGERS_TOUCHED = PAYLOAD_LOGGERS + QUIET_LOGGERS


@dataclass
class Group:
    """A SMART group's server: channels, roles and people in each role."""

    guild: Guild
    meetings: Channel
    facilitators: Channel
    coordinators: Channel
    voice: Channel
    facilitator_role: Role
    coordinator_role: Role
    reminder_role: Role
    admin: Member
    facilitator: Member
    coordinator: Member
    member: Member
    newcomer: Member


@pytest.fixture
async def group(sandbox: Sandbox) -> Group:
    actors = sandbox.actors
    guild = await actors.create_guild("SMART Online Group")
    meetings = await actors.create_channel(guild, "meetings")
    facilitators = await actors.create_channel(guild, "facilitators")
    coordinators = await actors.create_channel(guild, "coordinators")
    voice = await actors.create_channel(guild, "meeting-room", kind="voice")
    admin_role = await actors.create_role(guild, "Admin", permissions=discord.Permissions(manage_guild=True).value)
    facilitator_role = await actors.create_role(guild, "Facilitator")
    coordinator_role = await actors.create_role(guild, "Coordinator")
    reminder_role = await actors.create_role(guild, "Meeting reminders", mentionable=True)
    return Group(
        guild=guild,
        meetings=meetings,
        facilitators=facilitators,
        coordinators=coordinators,
        voice=voice,
        facilitator_role=facilitator_role,
        coordinator_role=coordinator_role,
        reminder_role=reminder_role,
        admin=await actors.create_member(guild, "ada", roles=[admin_role]),
        facilitator=await actors.create_member(guild, "fran", roles=[facilitator_role]),
        coordinator=await actors.create_member(guild, "cora", roles=[coordinator_role]),
        member=await actors.create_member(guild, "max"),
        newcomer=await actors.create_member(guild, "nia"),
    )


@dataclass
class BotHarness:
    """Start, kill and restart SmartBot on one database, with a clock and timers the test controls."""

    sandbox: Sandbox
    start_client: ClientStarter
    database_url: str
    settings: Settings
    clock: FakeClock
    bot: SmartBot | None = None
    running: RunningClient | None = None
    scheduler: ManualScheduler | None = None

    async def start(self) -> SmartBot:
        database = Database(self.database_url)
        await upgrade(database)
        self.scheduler = ManualScheduler()
        bot = SmartBot(self.settings, database, clock=self.clock, scheduler=self.scheduler, guild_ready_timeout=0.05)  # type: ignore[arg-type]
        self.running = await self.start_client(bot)
        self.bot = bot
        await self.idle()
        return bot

    async def kill(self) -> None:
        """Stop the bot like a crashed process: no clean shutdown."""
        assert self.running is not None and self.bot is not None
        await self.running.kill()
        await self.bot.database.dispose()
        self.bot = None

    async def idle(self) -> None:
        """Wait until the bot has delivered everything it decided to post."""
        assert self.bot is not None
        await self.bot.delivery.idle()  # type: ignore[attr-defined]

    async def advance_to(self, when: datetime) -> None:
        """Move the clock and run every timer due by then, as the scheduler would."""
        assert self.bot is not None and self.scheduler is not None
        await self.idle()  # let earlier commands finish setting their timers first
        self.clock.set(when)
        await self.scheduler.run_due(when)
        await self.idle()

    async def run_timers(self) -> None:
        """Run what is due at the current time (as on a scheduler wake-up)."""
        assert self.bot is not None
        await self.bot.delivery.run_due()  # type: ignore[attr-defined]
        await self.idle()


# These tests squeeze a 90-minute meeting into a second of real time, so a facilitator's clicks come
# far faster than people click. Discord's per-channel 5-per-5-seconds buckets would then make
# discord.py wait out real seconds; the sandbox's own tests cover those limits and the 429 handling.
COMPRESSED_TIME_LIMITS = (
    "POST /channels/{channel_id}/messages",
    "PATCH /channels/{channel_id}/messages/{message_id}",
    "POST /guilds/{guild_id}/scheduled-events",
    "PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
)


@pytest.fixture
async def harness(
    sandbox: Sandbox, group: Group, start_client: ClientStarter, tmp_path, clock: FakeClock
) -> AsyncIterator[BotHarness]:
    for route in COMPRESSED_TIME_LIMITS:
        sandbox.ratelimits.set_limit(route, 100, 5.0)
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    settings = Settings(
        discord_token=sandbox.token,
        database_url=url,
        pseudonym_key_file=tmp_path / "pseudonym.key",
        _env_file=None,  # type: ignore[call-arg]
    )
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    harness = BotHarness(sandbox, start_client, url, settings, clock)
    yield harness


@pytest.fixture
async def smartbot(harness: BotHarness) -> SmartBot:
    return await harness.start()


Invoke = Callable[..., Awaitable[object]]


async def configure(sandbox: Sandbox, group: Group, **overrides: object) -> None:
    """Run /setup configure as the admin with the group's channels and roles."""
    options: dict[str, object] = {
        "timezone": "Europe/London",
        "meetings_channel": group.meetings,
        "facilitators_channel": group.facilitators,
        "coordinators_channel": group.coordinators,
        "facilitator_role": group.facilitator_role,
        "coordinator_role": group.coordinator_role,
        "reminder_role": group.reminder_role,
    }
    options.update(overrides)
    handle = await sandbox.actors.invoke(group.guild, group.admin, "setup configure", options)
    response = await handle.response()
    assert response.content == "Saved.", response.content


@pytest.fixture
def app_logging():
    """Configure logging as `python -m bot run` does at its most verbose, and restore it afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {name: logging.getLogger(name).level for name in LOGGERS_TOUCHED})
    configure_logging("DEBUG", "text")
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
