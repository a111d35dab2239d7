"""Read and change a group's configuration."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.table_cache import TableCache
from bot.domain.guild import (
    CONFIG_FIELDS,
    GuildSettings,
    validate_crisis_text,
    validate_pass_the_hat_text,
    validate_zone,
)
from bot.domain.states import OccurrenceState
from bot.errors import ConflictError, InvalidInputError

log = logging.getLogger(__name__)


def _to_settings(row: GuildConfig | None, guild_id: int) -> GuildSettings:
    if row is None:
        return GuildSettings(guild_id=guild_id)
    return GuildSettings(guild_id=guild_id, **{name: getattr(row, name) for name in CONFIG_FIELDS})


class GuildConfigService:
    """Use cases around `/setup`.

    Settings are read by nearly every command, so each group's (frozen) `GuildSettings` is kept in memory once
    read, until this process commits a write to `guild_config` (`Database.version`). A guild's commands and its
    `/setup` are served by the same process (the one owning its shard), so with several processes each cache
    still only holds the guilds it alone changes.
    """

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock
        self._cache: TableCache[int, GuildSettings] = TableCache(database, GuildConfig.__tablename__)

    async def get(self, guild_id: int) -> GuildSettings:
        """Return the guild's settings (all unset when it was never configured)."""

        async def read() -> GuildSettings:
            async with self._db.session() as session:
                return _to_settings(await session.get(GuildConfig, guild_id), guild_id)

        return await self._cache.get(guild_id, read)

    async def update(self, guild_id: int, **changes: object) -> GuildSettings:
        """Validate and store the given settings, leaving the others as they were."""
        unknown = set(changes) - set(CONFIG_FIELDS)
        if unknown:
            raise InvalidInputError(f"Not a setting I know: {', '.join(sorted(unknown))}.")
        cleaned = dict(changes)
        if isinstance(cleaned.get("timezone"), str):
            cleaned["timezone"] = validate_zone(str(cleaned["timezone"]))
        if isinstance(cleaned.get("crisis_text"), str):
            cleaned["crisis_text"] = validate_crisis_text(str(cleaned["crisis_text"]))
        if isinstance(cleaned.get("pass_the_hat_text"), str):
            cleaned["pass_the_hat_text"] = validate_pass_the_hat_text(str(cleaned["pass_the_hat_text"]))
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(GuildConfig, guild_id, with_for_update=not self._db.is_sqlite)
            if row is None:
                row = GuildConfig(guild_id=guild_id, created_at=now, updated_at=now)
                session.add(row)
            for name, value in cleaned.items():
                setattr(row, name, value)
            row.updated_at = now
            await session.flush()
            result = _to_settings(row, guild_id)
        self._cache.put(guild_id, result)
        log.info("Guild %s changed settings: %s.", guild_id, ", ".join(sorted(cleaned)) or "none")
        return result

    async def set_pass_the_hat(self, guild_id: int, enabled: bool, text: str | None = None) -> GuildSettings:
        """Switch the pass-the-hat phase and, when given, store its text."""
        current = await self.get(guild_id)
        if enabled != current.pass_the_hat_enabled:
            # A running meeting's phases are counted with this switch: flipping it would shift them under it.
            async with self._db.session() as session:
                running = await session.scalar(
                    select(MeetingOccurrence.id).where(
                        MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.RUNNING
                    )
                )
            if running is not None:
                raise ConflictError(
                    "A meeting is running now. Switch pass the hat on or off after it ends; the text can change now."
                )
        changes: dict[str, object] = {"pass_the_hat_enabled": enabled}
        if text is not None:
            changes["pass_the_hat_text"] = text
        return await self.update(guild_id, **changes)

    async def reset_crisis_text(self, guild_id: int) -> GuildSettings:
        """Go back to the default crisis resources text."""
        async with self._db.session() as session:
            row = await session.get(GuildConfig, guild_id)
            if row is not None:
                row.crisis_text = None
                row.updated_at = self._clock.now()
            result = _to_settings(row, guild_id)
        self._cache.put(guild_id, result)
        return result

    async def configured_guilds(self) -> list[GuildSettings]:
        """Return the settings of every configured guild."""
        async with self._db.session() as session:
            rows = (await session.scalars(select(GuildConfig).order_by(GuildConfig.guild_id))).all()
            return [_to_settings(row, row.guild_id) for row in rows]
