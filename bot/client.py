"""The bot: owns the database, the scheduler, the services and the delivery, and loads every cog."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import importlib
import json
import logging
import pkgutil
import signal

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot.clock import Clock, SystemClock
from bot.db.engine import Database
from bot.delivery.delivery import Delivery
from bot.scheduler import Scheduler
from bot.services.registry import Services
from bot.settings import Settings
from cogs.shared import defer_when_slow, report_error

log = logging.getLogger(__name__)

COMMAND_HASH_KEY = "command_tree_hash:{scope}"
# Modules under `cogs/` that are not cogs: the helpers every cog shares.
NOT_COGS = frozenset({"shared"})


def bot_intents() -> discord.Intents:
    """Return the minimal, non-privileged intents the bot needs."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.voice_states = True
    intents.guild_scheduled_events = True
    # Guild messages tell us who posted in a meeting thread; without the privileged message content
    # intent Discord sends them with empty content, which is all we want.
    intents.guild_messages = True
    return intents


def cog_extensions() -> list[str]:
    """Return every cog module or package under `cogs/`, skipping `_private` ones and the shared helpers."""
    return sorted(
        f"{cogs.__name__}.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if not module.name.startswith("_") and module.name not in NOT_COGS
    )


class SmartTree(app_commands.CommandTree["SmartBot"]):
    """The command tree: every slash command answers Discord in time, however slow its work turns out.

    A command can set `extras={"ephemeral": False}` when it answers publicly (so a deferral "thinks" in public),
    or `extras={"auto_defer": False}` when it answers with a form, which Discord accepts only undeferred.
    """

    async def interaction_check(self, interaction: discord.Interaction[SmartBot], /) -> bool:
        """Arrange for a slow command to be deferred before Discord's deadline; never refuse one."""
        if interaction.type is discord.InteractionType.application_command:
            command = interaction.command
            extras = command.extras if command is not None else {}
            if extras.get("auto_defer", True):
                defer_when_slow(interaction, ephemeral=bool(extras.get("ephemeral", True)))
        return True

    async def on_error(
        self, interaction: discord.Interaction[SmartBot], error: app_commands.AppCommandError, /
    ) -> None:
        """Answer every app-command error ephemerally (see `cogs/_errors.py` for what users are told)."""
        await report_error(interaction, error)


class SmartBot(commands.AutoShardedBot):
    """The SMART meetings bot."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Clock | None = None,
        scheduler: Scheduler | None = None,
        freeze_heap: bool = False,
        **options: object,
    ) -> None:
        options.setdefault("intents", bot_intents())
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        options.setdefault("tree_cls", SmartTree)
        if settings.shard_count is not None:
            options.setdefault("shard_count", settings.shard_count)
            if settings.shard_ids is not None:
                options.setdefault("shard_ids", settings.shard_id_list())
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **options)  # type: ignore[arg-type]
        self.settings = settings
        self._freeze_heap = freeze_heap
        self.database = database
        self.clock: Clock = clock or SystemClock()
        self.scheduler = scheduler or Scheduler()
        self.services = Services.build(
            database, self.clock, tools_dir=settings.tools_content_dir, scope=settings.shard_scope()
        )
        # The one way from what services decided (the outbox) to Discord; every cog and timer reaches it here.
        self.delivery: Delivery = Delivery(self)
        # The one close every caller waits for (a signal, `async with`'s exit, a second signal).
        self._shutdown: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Load the cogs, sync the command tree when it changed, and start the scheduler."""
        # Imported, not loaded as discord.py extensions: an extension's module and its submodules are executed
        # afresh at every load and dropped from `sys.modules` at close, for hot reloading, which the bot never does.
        # That re-execution (class bodies, every slash command's signature parsed again) was 40% of a bot's start;
        # the tests start about 290 bots. Each cog module's `setup` adds its cogs as an extension's would, and
        # `close` removes them again.
        names = cog_extensions()
        for name in names:
            await importlib.import_module(name).setup(self)
        log.info("Loaded %d cog module(s).", len(names))
        await self.sync_commands_if_changed()
        self.scheduler.start()
        if self._freeze_heap:
            # What start-up built (SQLAlchemy's mappers and statement caches, templates, the tools library) lives
            # as long as the process: out of the collector's sight, a full collection no longer walks it and
            # pauses answers by ~100 ms (benchmark 1). Only for the real process: tests start many bots in one.
            gc.collect()
            gc.freeze()

    async def sync_commands_if_changed(self) -> bool:
        """Sync app commands to the dev guild or globally, only when the tree differs from the last sync."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        scope = f"guild:{guild.id}" if guild else "global"
        key = COMMAND_HASH_KEY.format(scope=scope)
        if await self.services.app_state.get(key) == digest:
            log.info("App commands unchanged since the last sync (%s); not syncing.", scope)
            return False
        synced = await self.tree.sync(guild=guild)
        await self.services.app_state.set(key, digest)
        log.info("Synced %d app command(s) to %s.", len(synced), scope)
        return True

    async def close(self) -> None:
        """Let the delivery under way finish, stop the scheduler, log out, and release the database."""
        # Once, however often it is asked for: each caller returns when all of it is done, the database included.
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self._close())
        await self._shutdown

    async def _close(self) -> None:
        try:
            # First, while the scheduler still runs: shutting it down cancels its jobs under way without waiting.
            await self.delivery.stop()
        finally:
            self.scheduler.shutdown()
            try:
                await super().close()
            finally:
                await self.database.dispose()


async def run_until_signalled(bot: discord.Client, token: str) -> None:
    """Run the bot until SIGINT or SIGTERM, and return only once its close has finished, the database's included."""
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Future[None]] = []

    def close() -> None:
        if not closing:  # a second signal while closing changes nothing
            closing.append(asyncio.ensure_future(bot.close()))

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, close)
    try:
        async with bot:
            await bot.start(token)
    finally:
        # discord.py's start returns once its own part of closing is done; the rest of ours (the database) may still
        # be going, and asyncio.run would cancel it on return, cutting a connection off mid-statement.
        if closing:
            await closing[0]
