"""The real bot, end to end: SmartBot with its cogs, on a fresh database, logged in to the sandbox."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime

import pytest
from aiohttp import BodyPartReader

from bot.client import SmartBot
from bot.logging_setup import PAYLOAD_LOGGERS, QUIET_LOGGERS, configure_logging
from bot.settings import Settings
from tests.fixtures.bot import BotHarness, Group, build_group, configure
from tests.fixtures.db import FakeClock, migrated_sqlite_copy
from tests.fixtures.meeting import MeetingDriver
from tests.sandbox.plugin import ClientStarter
from tests.sandbox.server import Sandbox

__all__ = ["BotHarness", "Group", "MeetingDriver", "configure"]

LOGGERS_TOUCHED = PAYLOAD_LOGGERS + QUIET_LOGGERS


@pytest.fixture
async def group(sandbox: Sandbox) -> Group:
    return await build_group(sandbox)


@pytest.fixture
async def harness(
    sandbox: Sandbox, group: Group, start_client: ClientStarter, tmp_path, clock: FakeClock
) -> AsyncIterator[BotHarness]:
    url = await migrated_sqlite_copy(tmp_path / "bot.sqlite3")
    settings = Settings(
        discord_token=sandbox.token,
        database_url=url,
        pseudonym_key_file=tmp_path / "pseudonym.key",
        _env_file=None,  # type: ignore[call-arg]
    )
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    yield BotHarness(sandbox, url, settings, clock, start_client=start_client)


@pytest.fixture
def meeting(sandbox: Sandbox, group: Group, harness: BotHarness) -> MeetingDriver:
    """Drive the group's meeting: start and configure the bot, schedule, open, click through the phases."""
    return MeetingDriver(sandbox, group, harness)


@pytest.fixture
async def smartbot(harness: BotHarness) -> SmartBot:
    return await harness.start()


@pytest.fixture
def app_logging() -> Iterator[None]:
    """Configure logging as `python -m bot run` does at its most verbose, and restore it afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {name: logging.getLogger(name).level for name in LOGGERS_TOUCHED})
    configure_logging("DEBUG", "text")
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Keep the bytes of each file the bot uploads, by name (the sandbox itself keeps only their size)."""
    kept: dict[str, bytes] = {}
    read: Callable[..., Awaitable[bytes]] = BodyPartReader.read

    async def keeping(self: BodyPartReader, *, decode: bool = False) -> bytes:
        data = await read(self, decode=decode)
        if self.filename:
            kept[self.filename] = bytes(data)
        return data

    monkeypatch.setattr(BodyPartReader, "read", keeping)
    return kept
