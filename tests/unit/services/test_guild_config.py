import asyncio
import contextlib

import pytest

from bot.db.models import GuildConfig
from bot.domain.guild import DEFAULT_CRISIS_TEXT
from bot.errors import InvalidInputError, NotConfiguredError
from bot.services.guild_config import GuildConfigService
from tests.fixtures.db import FakeClock, statements


@pytest.fixture
def service(database, clock):
    return GuildConfigService(database, clock)


async def test_unconfigured_guild_reports_what_is_missing(service):
    settings = await service.get(42)
    assert settings.timezone is None
    assert settings.crisis_resources == DEFAULT_CRISIS_TEXT
    with pytest.raises(NotConfiguredError) as caught:
        settings.require("timezone", "meetings_channel_id")
    assert "time zone" in caught.value.message
    assert "meetings channel" in caught.value.message


async def test_update_keeps_other_settings_and_separates_guilds(service):
    await service.update(1, timezone="europe/london", meetings_channel_id=10)
    await service.update(1, facilitator_role_id=20)
    await service.update(2, timezone="Asia/Kolkata")
    one = await service.get(1)
    assert (one.timezone, one.meetings_channel_id, one.facilitator_role_id) == ("Europe/London", 10, 20)
    assert (await service.get(2)).meetings_channel_id is None
    assert [g.guild_id for g in await service.configured_guilds()] == [1, 2]


async def test_invalid_zone_is_refused_and_changes_nothing(service):
    await service.update(1, timezone="Europe/Paris")
    with pytest.raises(InvalidInputError, match="Mars/Olympus_Mons"):
        await service.update(1, timezone="Mars/Olympus_Mons", meetings_channel_id=5)
    settings = await service.get(1)
    assert (settings.timezone, settings.meetings_channel_id) == ("Europe/Paris", None)


async def test_crisis_text_validated_and_resettable(service):
    with pytest.raises(InvalidInputError, match="empty"):
        await service.update(1, crisis_text="   ")
    with pytest.raises(InvalidInputError, match="at most 1500"):
        await service.update(1, crisis_text="x" * 1501)
    assert (await service.update(1, crisis_text=" Call 999 ")).crisis_resources == "Call 999"
    assert (await service.reset_crisis_text(1)).crisis_resources == DEFAULT_CRISIS_TEXT


async def test_large_snowflakes_round_trip(service):
    big = 1_300_000_000_000_000_000
    await service.update(big, meetings_channel_id=big + 1)
    assert (await service.get(big)).meetings_channel_id == big + 1


async def test_a_second_read_is_served_from_memory(service, database):
    await service.update(1, timezone="Europe/London")
    await service.get(2)  # never configured: its defaults are remembered too
    with statements(database) as seen:
        assert (await service.get(1)).timezone == "Europe/London"
        assert (await service.get(2)).timezone is None
    assert seen == []


async def test_the_first_read_goes_to_the_database(service, database):
    with statements(database) as seen:
        assert (await service.get(1)).timezone is None
    assert any("guild_config" in statement for statement in seen)


async def test_writes_replace_the_cached_settings(service, database):
    assert (await service.get(1)).crisis_text is None
    await service.update(1, crisis_text="Call 999")
    assert (await service.get(1)).crisis_resources == "Call 999"
    await service.reset_crisis_text(1)
    assert (await service.get(1)).crisis_resources == DEFAULT_CRISIS_TEXT
    # A fresh service (another process, a restart) reads the same from the database.
    assert await GuildConfigService(database, FakeClock()).get(1) == await service.get(1)


async def test_a_refused_change_leaves_the_cached_settings_right(service):
    await service.update(1, timezone="Europe/Paris")
    with pytest.raises(InvalidInputError):
        await service.update(1, timezone="Mars/Olympus_Mons")
    assert (await service.get(1)).timezone == "Europe/Paris"


async def test_a_read_racing_a_write_does_not_cache_the_old_settings(service, database, monkeypatch):
    await service.update(1, timezone="Europe/Paris")
    service._cache.clear()  # as after a restart: the next read goes to the database
    started, release = asyncio.Event(), asyncio.Event()
    original_session = database.session

    class OldRowSession:
        """A read that has fetched the old row and is still on its way back (as on PostgreSQL, beside a writer)."""

        async def get(self, _model: object, guild_id: int) -> GuildConfig:
            started.set()
            await release.wait()
            return GuildConfig(guild_id=guild_id, timezone="Europe/Paris")

    @contextlib.asynccontextmanager
    async def sessions():
        yield OldRowSession()

    monkeypatch.setattr(database, "session", sessions)
    reader = asyncio.create_task(service.get(1))
    await asyncio.wait_for(started.wait(), 5)
    monkeypatch.setattr(database, "session", original_session)
    await service.update(1, timezone="Asia/Kolkata")
    release.set()
    assert (await reader).timezone == "Europe/Paris"  # what it read, as it read it
    assert (await service.get(1)).timezone == "Asia/Kolkata"
