from datetime import UTC, datetime, time

import pytest
from hypothesis import given, strategies as st

from bot.domain.meeting_format import load_templates
from bot.domain.shards import SHARD_SHIFT, ShardScope
from bot.services.guild_config import GuildConfigService
from bot.services.meetings.runner import MeetingRunner
from bot.services.meetings.schedules import ScheduleRequest, ScheduleService
from bot.services.outbox import OutboxService
from bot.settings import load_settings

TEMPLATES = load_templates()
GUILD_ON_SHARD_0 = 4 << SHARD_SHIFT
GUILD_ON_SHARD_1 = 5 << SHARD_SHIFT


@given(st.integers(min_value=1, max_value=1 << 62), st.integers(min_value=1, max_value=16))
def test_every_guild_belongs_to_exactly_one_process(guild_id, count):
    owners = [shard for shard in range(count) if ShardScope(count, (shard,)).owns(guild_id)]
    assert owners == [(guild_id >> SHARD_SHIFT) % count]


async def test_each_process_runs_only_its_own_guilds(database, clock):
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    config = GuildConfigService(database, clock)
    schedules = ScheduleService(database, clock, TEMPLATES)
    for guild in (GUILD_ON_SHARD_0, GUILD_ON_SHARD_1):
        await config.update(guild, timezone="Europe/London", meetings_channel_id=guild + 1)
        request = ScheduleRequest(title="SMART", weekday=1, local_time=time(19), on_date=None, channel_id=guild + 2)
        await schedules.create(guild, request)
    first = MeetingRunner(database, clock, TEMPLATES, scope=ShardScope(2, (0,)))
    second = MeetingRunner(database, clock, TEMPLATES, scope=ShardScope(2, (1,)))
    clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    await first.tick()
    assert (await first.running(GUILD_ON_SHARD_0)) is not None
    assert (await first.running(GUILD_ON_SHARD_1)) is None
    first_outbox = await OutboxService(database, clock, ShardScope(2, (0,))).claim_batch(500)
    assert {item.guild_id for item in first_outbox} == {GUILD_ON_SHARD_0}
    await second.tick()
    assert (await second.running(GUILD_ON_SHARD_1)) is not None


def test_shard_settings_are_checked(monkeypatch):
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "2,3")
    settings = load_settings().settings
    assert settings is not None and settings.shard_scope() == ShardScope(4, (2, 3))
    monkeypatch.setenv("SHARD_IDS", "2,4")
    assert "between 0 and 3" in load_settings().problems[0]
    monkeypatch.delenv("SHARD_COUNT")
    assert load_settings().problems == ["SHARD_IDS needs SHARD_COUNT"]


@pytest.mark.parametrize("ids", [(), (2,)])
def test_scope_rejects_impossible_shards(ids):
    with pytest.raises(ValueError, match="shard ids"):
        ShardScope(2, ids)
