import pytest

from bot.domain.guild import DEFAULT_CRISIS_TEXT
from bot.errors import InvalidInputError, NotConfiguredError
from bot.services.guild_config import GuildConfigService


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
