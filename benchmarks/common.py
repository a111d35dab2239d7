"""What the benchmarks share: machine facts, percentiles, result lines, the sandbox world, bot processes, seeding.

Every bot under test runs in its own process (`benchmarks.botproc`), as it would in production, while the sandbox,
the members acting in it and the measurements stay in this one: Discord is not inside the bot's process either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web

from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.db.models import GuildConfig
from tests.sandbox.models import Channel, Guild, Member, Message, Role
from tests.sandbox.server import Sandbox
from tests.sandbox.validation import RequestValidator

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH "
ZONE = ZoneInfo("Europe/London")
OPENING_MARK = "Welcome to this SMART Recovery meeting"
# Seeded with a constant so two runs draw the same due times, members and commands.
SEED = 8


# --- facts and figures ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Return the date (UTC) and what the figures depend on: CPUs, CPU model, memory, Python, load."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gb = float("nan")
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model or platform.processor() or platform.machine(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        # Other work on the machine makes figures noisy; the load average says whether there was any.
        "load_1min": round(os.getloadavg()[0], 2),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100), interpolating between closest ranks as numpy does by default."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def memory_mb() -> dict[str, float]:
    """Return this process's resident memory now (VmRSS) and at its peak (VmHWM), in MiB."""
    values: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    if "VmHWM" not in values:
        # Not Linux: the peak is all getrusage knows (kilobytes on Linux, bytes on macOS).
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        values["VmHWM"] = peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
        values.setdefault("VmRSS", values["VmHWM"])
    return {"rss_mb": round(values["VmRSS"], 1), "peak_rss_mb": round(values["VmHWM"], 1)}


def ms(seconds: float) -> float:
    """Return seconds as milliseconds, rounded for printing."""
    return round(seconds * 1000, 2)


@dataclass
class Result:
    """One benchmark's outcome: figures for the case and the baseline, the ratio, and the verdict."""

    name: str
    title: str
    figures: dict[str, Any]
    ratio: float | None
    target: str
    met: bool | None
    notes: list[str] = field(default_factory=list)

    def show(self) -> None:
        """Print the figures for people, then one JSON line for machines (prefixed `BENCH `)."""
        print(f"\n== {self.title} ==")
        width = max(len(key) for key in self.figures) if self.figures else 0
        for key, value in self.figures.items():
            print(f"  {key:<{width}}  {value}")
        if self.ratio is not None:
            print(f"  {'ratio':<{width}}  {self.ratio:.2f}x")
        verdict = "n/a" if self.met is None else "MET" if self.met else "MISSED"
        print(f"  target: {self.target} -> {verdict}")
        for note in self.notes:
            print(f"  note: {note}")
        record = {
            "benchmark": self.name,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target,
            "met": self.met,
            **self.figures,
        }
        print(RESULT_PREFIX + json.dumps(record, default=str), flush=True)


def quiet_logging() -> None:
    """Keep the sandbox and libraries to warnings: a benchmark prints figures, not a request log."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)


# --- the sandbox world ------------------------------------------------------------------------------


@dataclass
class GroupWorld:
    """One SMART group's server in the sandbox."""

    guild: Guild
    meetings: Channel
    facilitators: Channel
    coordinators: Channel
    voices: list[Channel]
    facilitator_role: Role
    coordinator_role: Role
    reminder_role: Role
    facilitator: Member
    members: list[Member]


class TrustingValidator(RequestValidator):
    """Accept every request body unchecked: the e2e tests check what the bot sends; here the cost would be measured.

    Checking a body against Discord's OpenAPI spec takes the sandbox about 3 ms of CPU, on the same two cores as
    the bot; 50 callbacks in a row would queue behind 150 ms of it and the figure would be the sandbox's.
    """

    def __init__(self) -> None:
        """Load nothing: there is nothing to check against."""

    def validate(self, method: str, path: str, body: object) -> dict[str, object] | None:
        """Accept the body."""
        return None


def new_sandbox(*, validate: bool = True) -> Sandbox:
    """Return a sandbox (not started yet, so hooks can go in first) with Discord's default rate limits."""
    return Sandbox(app_name="SMART Bot", validator=None if validate else TrustingValidator())


async def start_sandbox(*, validate: bool = True) -> Sandbox:
    """Return a started sandbox with Discord's default rate limits."""
    return await new_sandbox(validate=validate).start()


async def build_groups(sb: Sandbox, count: int, *, voices: int = 1, members: int = 0) -> list[GroupWorld]:
    """Create `count` group servers, each with the channels and roles `/setup` would point at."""
    actors = sb.actors
    groups = []
    for index in range(count):
        guild = await actors.create_guild(f"SMART group {index}")
        meetings = await actors.create_channel(guild, "meetings")
        facilitators = await actors.create_channel(guild, "facilitators")
        coordinators = await actors.create_channel(guild, "coordinators")
        rooms = [await actors.create_channel(guild, f"meeting-room-{n}", kind="voice") for n in range(voices)]
        facilitator_role = await actors.create_role(guild, "Facilitator")
        coordinator_role = await actors.create_role(guild, "Coordinator")
        reminder_role = await actors.create_role(guild, "Meeting reminders", mentionable=True)
        facilitator = await actors.create_member(guild, f"fran{index}", roles=[facilitator_role])
        people = [await actors.create_member(guild, f"m{index}x{n}") for n in range(members)]
        groups.append(
            GroupWorld(
                guild=guild,
                meetings=meetings,
                facilitators=facilitators,
                coordinators=coordinators,
                voices=rooms,
                facilitator_role=facilitator_role,
                coordinator_role=coordinator_role,
                reminder_role=reminder_role,
                facilitator=facilitator,
                members=people,
            )
        )
    return groups


class PostLog:
    """Wall-clock arrival time of every message the sandbox creates (time.time(), comparable across processes)."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.posts: list[tuple[float, Message]] = []
        original = sb.messages.create

        def create(*args: Any, **kwargs: Any) -> Message:
            message = original(*args, **kwargs)
            self.posts.append((time.time(), message))
            return message

        # Instance attribute: only this sandbox, only in this benchmark process.
        sb.messages.create = create  # type: ignore[method-assign]

    def openings(self) -> list[tuple[float, Message]]:
        """Return (arrival, message) of every opening statement, in arrival order."""
        return [(at, message) for at, message in self.posts if OPENING_MARK in message.content[:80]]


class CallbackLog:
    """Loop time at which each interaction's initial response reached the sandbox, by interaction id.

    Install it before `sb.start()`: it wraps the REST handler, so the stamp is taken as the request comes in,
    before the sandbox parses, rate-limits and stores it (Discord's own clock would start there too).
    """

    def __init__(self, sb: Sandbox) -> None:
        self.answered: dict[int, float] = {}
        original = sb.rest.handle

        async def handle(request: web.Request) -> web.StreamResponse:
            parts = request.path.split("/")
            # /api/v10/interactions/{id}/{token}/callback
            if len(parts) == 7 and parts[3] == "interactions" and parts[6] == "callback" and parts[4].isdigit():
                self.answered.setdefault(int(parts[4]), asyncio.get_running_loop().time())
            return await original(request)

        sb.rest.handle = handle  # type: ignore[method-assign]


class RequestLog:
    """Every REST request the sandbox answers: arrival (time.time()), method, path and status.

    Install it before `sb.start()` (it wraps the REST handler).
    """

    def __init__(self, sb: Sandbox) -> None:
        self.requests: list[tuple[float, str, str, int]] = []
        original = sb.rest.handle

        async def handle(request: web.Request) -> web.StreamResponse:
            arrived = time.time()
            response = await original(request)
            self.requests.append((arrived, request.method, request.path, response.status))
            return response

        sb.rest.handle = handle  # type: ignore[method-assign]


# --- databases --------------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    """Return the async URL the bot uses for a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


async def migrated(path: Path) -> None:
    """Create a SQLite database at `path` with every migration applied, as `python -m bot migrate` does."""
    database = Database(sqlite_url(path))
    try:
        await upgrade(database)
    finally:
        await database.dispose()


def sync_engine(path: Path) -> sa.Engine:
    """Return a plain synchronous engine for bulk seeding (far faster than the ORM one row at a time)."""
    return sa.create_engine(f"sqlite:///{path}")


def insert_rows(engine: sa.Engine, table: sa.Table, rows: Iterable[dict[str, Any]], chunk: int = 20_000) -> int:
    """Insert rows in executemany chunks; return how many."""
    total = 0
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                connection.execute(sa.insert(table), batch)
                total += len(batch)
                batch = []
        if batch:
            connection.execute(sa.insert(table), batch)
            total += len(batch)
    return total


def config_rows(groups: Sequence[GroupWorld], now: datetime) -> list[dict[str, Any]]:
    """Return the guild_config rows `/setup configure` would have written for these groups."""
    return [
        {
            "guild_id": g.guild.id,
            "timezone": ZONE.key,
            "meetings_channel_id": g.meetings.id,
            "facilitators_channel_id": g.facilitators.id,
            "coordinators_channel_id": g.coordinators.id,
            "facilitator_role_id": g.facilitator_role.id,
            "coordinator_role_id": g.coordinator_role.id,
            "reminder_role_id": g.reminder_role.id,
            "pass_the_hat_enabled": True,
            "reminder_offsets": "1440,15",
            "late_start_grace_minutes": 15,
            "events_ahead": 4,
            "created_at": now,
            "updated_at": now,
        }
        for g in groups
    ]


def occurrence_row(
    guild_id: int,
    channel_id: int,
    starts_at: datetime,
    now: datetime,
    *,
    facilitator_id: int | None,
    schedule_id: int | None = None,
    event_id: int | None = None,
    title: str = "Evening SMART meeting",
    minutes: int = 90,
) -> dict[str, Any]:
    """Return a scheduled meeting_occurrence row exactly as the schedule service materialises one."""
    return {
        "guild_id": guild_id,
        "schedule_id": schedule_id,
        "local_start": starts_at.astimezone(ZONE).replace(tzinfo=None).isoformat(timespec="seconds"),
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=minutes),
        "state": "scheduled",
        "title": title,
        "template_slug": "standard-90",
        "location_kind": "voice",
        "channel_id": channel_id,
        "event_id": event_id,
        "event_requested": event_id is not None,
        "facilitator_id": facilitator_id,
        "phase_nudged": False,
        "phase_timings": "[]",
        "started_late": False,
        "no_facilitator_alerted": False,
        "created_at": now,
    }


def guild_config_table() -> sa.Table:
    """Return the guild_config table."""
    return GuildConfig.__table__  # type: ignore[return-value]


# --- bot processes ----------------------------------------------------------------------------------


class BotProcess:
    """A bot (`smart`, `bare` or `poller`) running in its own process against a sandbox of this process."""

    def __init__(
        self,
        kind: str,
        sb: Sandbox,
        workdir: Path,
        *,
        db_path: Path | None = None,
        args: Sequence[str] = (),
        cpus: set[int] | None = None,
    ):
        self.kind = kind
        self.sb = sb
        self.workdir = workdir
        self.db_path = db_path
        self.args = list(args)
        self.cpus = cpus
        self.spawned = 0.0
        self.ready: dict[str, Any] | None = None
        self.stats: dict[str, Any] | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.log_path = workdir / f"{kind}-{os.getpid()}-{time.monotonic_ns()}.log"
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def on_event(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call `listener(kind, data)` for every line the child reports."""
        self._listeners.append(listener)

    def command(self) -> list[str]:
        """Return the child's command line."""
        command = [
            sys.executable,
            "-m",
            "benchmarks.botproc",
            "--kind",
            self.kind,
            "--api",
            self.sb.api_base,
            "--gateway",
            self.sb.gateway_url,
            "--token",
            self.sb.token,
            "--key-file",
            str(self.workdir / "pseudonym.key"),
        ]
        if self.db_path is not None:
            command += ["--db", sqlite_url(self.db_path)]
        return command + self.args

    async def start(self, *, timeout: float = 180.0) -> dict[str, Any]:
        """Spawn the child and return its READY report once the bot is ready (discord.py's on_ready)."""
        stderr = self.log_path.open("wb")
        self.spawned = time.time()
        cpus = self.cpus
        self._process = await asyncio.create_subprocess_exec(
            *self.command(),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=_child_env(),
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        stderr.close()
        self._reader = asyncio.create_task(self._read())
        waiter = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({waiter, self._reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            await self.kill()
            raise RuntimeError(f"{self.kind} bot was not ready within {timeout} s:\n{self.log_tail()}")
        assert self.ready is not None
        return self.ready

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for raw in self._process.stdout:
            line = raw.decode(errors="replace").strip()
            kind, _, rest = line.partition(" ")
            try:
                data = json.loads(rest) if rest else {}
            except json.JSONDecodeError:
                continue
            self.events.append((kind, data))
            if kind == "READY" and self.ready is None:
                self.ready = data
                self._ready.set()
            elif kind == "STATS":
                self.stats = data
            for listener in self._listeners:
                listener(kind, data)

    def cpu_seconds(self) -> float:
        """Return the child's CPU time so far (user + system), from /proc."""
        assert self._process is not None
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def wait_idle(self, *, interval: float = 1.0, busy: float = 0.05, timeout: float = 180.0) -> float:
        """Wait until the child uses under `busy` of a CPU over `interval` seconds; return how long that took."""
        started = time.monotonic()
        before = self.cpu_seconds()
        while time.monotonic() - started < timeout:
            await asyncio.sleep(interval)
            after = self.cpu_seconds()
            if after - before < busy * interval:
                return time.monotonic() - started - interval
            before = after
        return time.monotonic() - started

    async def stop(self, *, timeout: float = 60.0) -> dict[str, Any]:
        """Ask the bot to shut down (SIGTERM, as systemd does) and return its final STATS report."""
        process = self._process
        if process is None:
            return {}
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                await self.kill()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)
        return self.stats or {}

    async def kill(self) -> None:
        """Kill the child outright."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the child's stderr (its log)."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """Yield a scratch folder for databases and bot logs; kept (and named on stderr) when the benchmark fails."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    try:
        yield path
    except BaseException:
        print(f"benchmark failed; its databases and bot logs are kept in {path}", file=sys.stderr)
        raise
    shutil.rmtree(path, ignore_errors=True)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """Return (this process's CPUs, the bots' CPUs) when there are at least two, so sandbox and bot never compete."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The bot's own settings come from its command line here, never from a developer's environment or .env.
    for name in ("DISCORD_TOKEN", "DATABASE_URL", "DEV_GUILD_ID", "LOG_LEVEL", "LOG_FORMAT", "TOOLS_CONTENT_DIR"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def parse_size(argv: Sequence[str] | None, description: str) -> bool:
    """Parse a benchmark's command line; return whether `--toy` (a tiny size, for correctness only) was given."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--toy", action="store_true", help="tiny size: checks the benchmark works, figures mean nothing"
    )
    return bool(parser.parse_args(argv).toy)
