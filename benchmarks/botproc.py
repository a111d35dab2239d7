"""A bot under benchmark, alone in its process: the real SmartBot, a bare discord.py bot, or a polling bot.

The parent (a benchmark) runs the sandbox and reads this process's stdout, one report per line:
`READY {...}` once the bot is ready, `TICK {...}` for each poll of the polling bot, `STATS {...}` on exit.
"""

from __future__ import annotations

import time

# Taken before the heavy imports, so the parent can split interpreter start and imports from the rest.
STARTED = time.time()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import discord  # noqa: E402
import yarl  # noqa: E402
from discord import app_commands  # noqa: E402
from discord.ext import commands, tasks  # noqa: E402
from discord.gateway import DiscordWebSocket  # noqa: E402
from discord.http import Route  # noqa: E402

from benchmarks import fixes  # noqa: E402

IMPORTED = time.time()


def report(kind: str, **data: Any) -> None:
    """Write one report line for the parent."""
    sys.stdout.write(f"{kind} {json.dumps(data)}\n")
    sys.stdout.flush()


def memory() -> dict[str, float]:
    """Return resident memory now and at its peak, in MiB (Linux /proc; no psutil needed)."""
    values = {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key == "VmRSS":
                values["rss_mb"] = round(int(rest.split()[0]) / 1024, 1)
            elif key == "VmHWM":
                values["peak_rss_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


class ReadyReporter:
    """Report READY once, with timings and memory; later on_ready events (after a reconnect) are ignored."""

    def __init__(self) -> None:
        self.done = False
        self.marks: dict[str, Any] = {"started": STARTED, "imported": IMPORTED}

    async def on_ready(self) -> None:
        """Report READY the first time discord.py says the bot is ready."""
        if self.done:
            return
        self.done = True
        report("READY", wall=time.time(), **self.marks, **memory())


def intents() -> discord.Intents:
    """Return the SmartBot's intents (copied, so the bare bot does not import the application)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True
    chosen.guild_scheduled_events = True
    chosen.guild_messages = True
    return chosen


# --- the real bot ------------------------------------------------------------------------------------


async def run_smart(args: argparse.Namespace, ready: ReadyReporter) -> None:
    """Run SmartBot exactly as `python -m bot run` does (migrations, signal handlers, clean close)."""
    from bot.cli import _run_bot
    from bot.client import SmartBot
    from bot.logging_setup import configure_logging
    from bot.settings import Settings

    settings = Settings(
        discord_token=args.token,
        database_url=args.db,
        pseudonym_key_file=Path(args.key_file),
        log_level="INFO",
        _env_file=None,  # type: ignore[call-arg]
    )
    configure_logging(settings.log_level, settings.log_format)
    # Proposed fixes, measured before they land (benchmarks/fixes.py); none unless BENCH_FIXES names them.
    ready.marks["fixes"] = fixes.apply(fixes.requested("bot"))
    original = SmartBot.setup_hook

    async def setup_hook(self: SmartBot) -> None:
        # A listener, not an override: whatever SmartBot itself does on ready still happens.
        self.add_listener(ready.on_ready, "on_ready")
        ready.marks["setup_started"] = time.time()
        await original(self)
        ready.marks["setup_done"] = time.time()

    SmartBot.setup_hook = setup_hook  # type: ignore[method-assign]
    ready.marks["app_imported"] = time.time()
    await _run_bot(settings)


# --- the bare bot ------------------------------------------------------------------------------------


class Answers:
    """What the bare bot says: short texts, or (`--rendered-answers`) the same payloads as SmartBot's, made once."""

    def __init__(self, rendered: bool) -> None:
        self.meeting_list = "No meetings are scheduled yet."
        self.crisis = "If you are in danger, call 999."
        self.tool_embed: discord.Embed | None = None
        self.tool_slug: str | None = None
        if rendered:
            self._render()

    def _render(self) -> None:
        from bot.domain.guild import DEFAULT_CRISIS_TEXT
        from bot.domain.tool_render import render_tool_embed
        from bot.domain.tools import default_content_dir, load_library

        library = load_library(default_content_dir())
        tool = library.all()[0]
        start = 1_800_000_000
        lines = [
            f"`{1000 + n}` **Evening SMART meeting** · <t:{start + n * 604800}:F> (<t:{start + n * 604800}:R>) · "
            f"<#1234567890123456789>"
            for n in range(10)
        ]
        self.meeting_list = "**Upcoming meetings**\n" + "\n".join(lines)
        self.crisis = DEFAULT_CRISIS_TEXT
        self.tool_embed = discord.Embed.from_dict(render_tool_embed(tool))
        self.tool_slug = tool.slug


class BareBot(commands.AutoShardedBot):
    """The commands SmartBot has, answered at once with no database and no services."""

    def __init__(self, answers: Answers) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.answers = answers
        meeting = app_commands.Group(name="meeting", description="Scheduled SMART Recovery meetings")
        tool = app_commands.Group(name="tool", description="SMART Recovery tools")

        @meeting.command(name="list", description="Upcoming meetings, shown in your own time zone")
        async def meeting_list(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(answers.meeting_list, ephemeral=True)

        @app_commands.command(name="crisis", description="Where to get help right now")
        async def crisis(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(answers.crisis, ephemeral=True)

        @tool.command(name="show", description="Read about a SMART tool and work through it privately")
        async def tool_show(interaction: discord.Interaction, name: str) -> None:
            if answers.tool_embed is None or answers.tool_slug is None:
                await interaction.response.send_message(f"The {name} tool.", ephemeral=True)
                return
            # A fresh view per answer, as SmartBot builds one.
            view = discord.ui.View(timeout=None)
            view.add_item(
                discord.ui.Button(
                    label="Work through it (private)",
                    custom_id=f"tool:work:{answers.tool_slug}",
                    style=discord.ButtonStyle.success,
                )
            )
            await interaction.response.send_message(embed=answers.tool_embed, view=view, ephemeral=True)

        self.tree.add_command(meeting)
        self.tree.add_command(crisis)
        self.tree.add_command(tool)

    async def setup_hook(self) -> None:
        """Register the commands, as a minimal bot does on every start."""
        await self.tree.sync()


async def run_bare(args: argparse.Namespace, ready: ReadyReporter) -> None:
    """Run the bare bot until SIGTERM."""
    bot = BareBot(Answers(args.rendered_answers))
    bot.add_listener(ready.on_ready, "on_ready")
    await _run_until_signal(bot, args.token)


# --- the polling bot ---------------------------------------------------------------------------------


async def run_poller(args: argparse.Namespace, ready: ReadyReporter) -> None:
    """Run the usual `tasks.loop` pattern: every period, open whatever meetings are due."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.domain.guild import DEFAULT_CRISIS_TEXT
    from bot.domain.meeting_format import opening_statement

    engine = create_async_engine(args.db)
    bot = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned, help_command=None, intents=intents(), max_messages=None
    )
    statement = opening_statement(DEFAULT_CRISIS_TEXT)

    @tasks.loop(seconds=args.poll_seconds)
    async def poll() -> None:
        tick = time.time()
        # SQLite keeps these columns as text 'YYYY-MM-DD HH:MM:SS.ffffff', which sorts like the instant.
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(tick)) + f".{int(tick % 1 * 1e6):06d}"
        async with engine.begin() as connection:
            due = (
                await connection.execute(
                    text(
                        "SELECT o.id, o.title, c.meetings_channel_id FROM meeting_occurrence o "
                        "JOIN guild_config c ON c.guild_id = o.guild_id "
                        "WHERE o.state = 'scheduled' AND o.starts_at <= :now ORDER BY o.starts_at"
                    ),
                    {"now": now},
                )
            ).all()
        opened = 0
        for occurrence_id, title, channel_id in due:
            async with engine.begin() as connection:
                won = await connection.execute(
                    text("UPDATE meeting_occurrence SET state = 'running' WHERE id = :id AND state = 'scheduled'"),
                    {"id": occurrence_id},
                )
            if won.rowcount != 1:
                continue
            channel = bot.get_channel(channel_id)
            if not isinstance(channel, discord.TextChannel):
                continue
            thread = await channel.create_thread(name=title, type=discord.ChannelType.public_thread)
            await thread.send(statement)
            opened += 1
        report("TICK", at=tick, due=len(due), opened=opened)

    @poll.before_loop
    async def before() -> None:
        await bot.wait_until_ready()

    async def setup_hook() -> None:
        poll.start()

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    bot.add_listener(ready.on_ready, "on_ready")
    try:
        await _run_until_signal(bot, args.token)
    finally:
        poll.cancel()
        await engine.dispose()


async def _run_until_signal(bot: commands.AutoShardedBot, token: str) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
    async with bot:
        await bot.start(token)


def main() -> None:
    """Point discord.py at the sandbox, run the chosen bot, report memory on the way out."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.botproc")
    parser.add_argument("--kind", choices=("smart", "bare", "poller"), required=True)
    parser.add_argument("--api", required=True, help="sandbox REST base, e.g. http://127.0.0.1:PORT/api/v10")
    parser.add_argument("--gateway", required=True, help="sandbox gateway URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", help="database URL (smart and poller)")
    parser.add_argument("--key-file", required=True, help="pseudonym key file (created if missing)")
    parser.add_argument("--rendered-answers", action="store_true", help="bare bot: answer with SmartBot's payloads")
    parser.add_argument("--poll-seconds", type=float, default=60.0, help="poller: the loop period")
    args = parser.parse_args()
    Route.BASE = args.api
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(args.gateway)
    ready = ReadyReporter()
    runner = {"smart": run_smart, "bare": run_bare, "poller": run_poller}[args.kind]
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    profiler = _start_profiler() if profile_dir else None
    try:
        asyncio.run(runner(args, ready))
    finally:
        report("STATS", **memory())
        if profiler is not None and profile_dir:
            out = Path(profile_dir) / f"{args.kind}-{os.getpid()}.txt"
            if isinstance(profiler, cProfile.Profile):
                profiler.disable()
                with out.open("w") as stream:
                    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(80)
            else:
                profiler.stop()
                out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def _start_profiler() -> Any:
    """Profile the whole process with pyinstrument (an optional tool: `pip install pyinstrument`).

    `BENCH_PROFILER=cprofile` uses the standard library's deterministic profiler instead: CPU spent per function
    on the event loop's thread, where pyinstrument's samples show wall time (waits included).
    """
    if os.environ.get("BENCH_PROFILER") == "cprofile":
        profiler = cProfile.Profile()
        profiler.enable()
        return profiler
    from pyinstrument import Profiler

    # Sample every thread's stack regardless of await points: where the event loop's time goes.
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    return profiler


if __name__ == "__main__":
    main()
