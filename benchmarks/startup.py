"""Benchmark 4: start-up to ready with 10,000 schedules, and resident memory, against a bare discord.py bot.

Case: SmartBot restarted on a database holding 10,000 weekly meeting series (1,000 groups with 10 each) and
everything a running deployment has for them: 8 weeks of materialised occurrences (80,000), their pending
reminders, and scheduled events for each group's next 4 meetings. It starts exactly as `python -m bot run` does
(migrations, cogs, materialising, command-tree check, scheduler), in a fresh process each time.
Baseline: a bare discord.py bot (the same class, AutoShardedBot, and intents, with SmartBot's command names,
syncing them on start) in a fresh process, against the same 1,000 guilds.
Start-up is the parent's wall clock from spawning the process to the bot's `on_ready` (both bots use discord.py's
default `guild_ready_timeout` of 2 s, as production does). Memory is the process's peak resident set (VmHWM),
read from /proc at exit, once the bot has gone idle after ready (under 5% of a CPU for a second: whatever it does
in the background after `on_ready` is included, and how long that took is reported). One warm-up start of each,
then alternating starts.
Target: start-up <= 3x the bare bot's, and <= 150 MB resident.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BotProcess,
    GroupWorld,
    Result,
    ZONE,
    build_groups,
    config_rows,
    guild_config_table,
    insert_rows,
    migrated,
    occurrence_row,
    parse_size,
    quiet_logging,
    start_sandbox,
    sync_engine,
    workdir,
)
from bot.db.models import MeetingOccurrence, MeetingReminder, MeetingSchedule
from bot.domain.recurrence import ScheduleRule, expand, first_weekly_start, weekly_rule
from bot.services.meetings.common import MATERIALISE_HORIZON
from tests.sandbox.models import ScheduledEvent
from tests.sandbox.server import Sandbox
from tests.sandbox.snowflakes import snowflake

NAME = "startup"
TITLE = "4. Start-up to ready with 10,000 schedules, and memory"
TARGET_RATIO = 3.0
TARGET_MB = 150.0
EVENTS_AHEAD = 4


@dataclass(frozen=True)
class Size:
    groups: int
    per_group: int
    runs: int


FULL = Size(groups=1000, per_group=10, runs=2)
TOY = Size(groups=3, per_group=2, runs=1)


def seed(path: Path, sb: Sandbox, groups: list[GroupWorld], size: Size) -> dict[str, int]:
    """Write the groups, their weekly series, 8 weeks of occurrences, reminders and events; return counts."""
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    schedules, occurrences = [], []
    schedule_id = 0
    for g_index, group in enumerate(groups):
        rows = []
        for s_index in range(size.per_group):
            schedule_id += 1
            weekday = (g_index + s_index) % 7
            local_time = time(10 + (g_index + 3 * s_index) % 12, 30 * (s_index % 2))
            dtstart = first_weekly_start(today, weekday, local_time)
            rule = ScheduleRule(weekly_rule(weekday, local_time), ZONE.key, dtstart)
            schedules.append(
                {
                    "id": schedule_id,
                    "guild_id": group.guild.id,
                    "title": f"SMART meeting {s_index + 1}",
                    "rrule": rule.rrule,
                    "timezone": ZONE.key,
                    "dtstart_local": dtstart.isoformat(),
                    "duration_minutes": 90,
                    "template_slug": "standard-90",
                    "location_kind": "voice",
                    "channel_id": group.voices[0].id,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for occurrence in expand(rule, now, now + MATERIALISE_HORIZON):
                row = occurrence_row(
                    group.guild.id,
                    group.voices[0].id,
                    occurrence.utc,
                    now,
                    facilitator_id=group.facilitator.id,
                    schedule_id=schedule_id,
                    title=f"SMART meeting {s_index + 1}",
                )
                row["local_start"] = occurrence.local.isoformat()
                rows.append(row)
        rows.sort(key=lambda r: r["starts_at"])
        # The schedule service mirrors each group's next few meetings as Discord scheduled events.
        for row in rows[:EVENTS_AHEAD]:
            event = ScheduledEvent(
                id=snowflake(),
                guild_id=group.guild.id,
                name=row["title"],
                scheduled_start_time=row["starts_at"],
                scheduled_end_time=row["ends_at"],
                entity_type=2,
                channel_id=group.voices[0].id,
                creator_id=sb.bot.id,
            )
            group.guild.scheduled_events[event.id] = event
            row.update(event_id=event.id, event_requested=True)
        occurrences += rows
    engine = sync_engine(path)
    insert_rows(engine, guild_config_table(), config_rows(groups, now))
    insert_rows(engine, MeetingSchedule.__table__, schedules)  # type: ignore[arg-type]
    insert_rows(engine, MeetingOccurrence.__table__, occurrences)  # type: ignore[arg-type]
    with engine.begin() as connection:
        ids = connection.exec_driver_sql("SELECT id, guild_id, starts_at FROM meeting_occurrence").all()
    reminders = []
    for occurrence_id, guild_id, starts_at_text in ids:
        starts_at = datetime.fromisoformat(starts_at_text).replace(tzinfo=UTC)
        for offset in (1440, 15):
            if starts_at - timedelta(minutes=offset) > now:
                due = starts_at - timedelta(minutes=offset)
                reminders.append(
                    {"guild_id": guild_id, "occurrence_id": occurrence_id, "offset_minutes": offset, "due_at": due}
                )
    insert_rows(engine, MeetingReminder.__table__, reminders)  # type: ignore[arg-type]
    engine.dispose()
    return {"schedules": len(schedules), "occurrences": len(occurrences), "reminders": len(reminders)}


async def one_start(kind: str, sb: Sandbox, scratch: Path, db_path: Path | None) -> dict[str, Any]:
    """Start a bot in a fresh process, let it run ready for a moment, stop it; return its timings and memory."""
    process = BotProcess(kind, sb, scratch, db_path=db_path)
    ready = await process.start(timeout=600)
    busy = await process.wait_idle()
    stats = await process.stop()
    if not stats:
        raise RuntimeError(f"{kind} bot did not report its memory:\n{process.log_tail()}")
    result = {
        "startup": ready["wall"] - process.spawned,
        "interpreter": ready["started"] - process.spawned,
        "rss_ready": ready["rss_mb"],
        "peak": stats["peak_rss_mb"],
        "busy_after_ready": busy,
    }
    if "setup_started" in ready:
        result["imports"] = ready["setup_started"] - ready["started"]
        result["setup_hook"] = ready["setup_done"] - ready["setup_started"]
        result["connect"] = ready["wall"] - ready["setup_done"]
    return result


async def run(size: Size = FULL) -> Result:
    with workdir("startup") as scratch:
        sandboxes = {"bare": await start_sandbox(), "smart": await start_sandbox()}
        try:
            worlds = {kind: await build_groups(sb, size.groups) for kind, sb in sandboxes.items()}
            db_path = scratch / "startup.sqlite3"
            await migrated(db_path)
            counts = seed(db_path, sandboxes["smart"], worlds["smart"], size)
            # The bare bot's guilds carry the same events (they arrive in GUILD_CREATE for both).
            for bare_group, smart_group in zip(worlds["bare"], worlds["smart"], strict=True):
                for event in smart_group.guild.scheduled_events.values():
                    copy = ScheduledEvent(**{**event.__dict__, "id": snowflake(), "guild_id": bare_group.guild.id})
                    bare_group.guild.scheduled_events[copy.id] = copy
            runs: dict[str, list[dict[str, Any]]] = {"bare": [], "smart": []}
            for index in range(size.runs + 1):
                for kind in ("bare", "smart"):
                    measured = await one_start(kind, sandboxes[kind], scratch, db_path if kind == "smart" else None)
                    if index > 0:  # the first start of each warms the page cache and syncs the commands
                        runs[kind].append(measured)
        finally:
            for sb in sandboxes.values():
                await sb.stop()
    bare = statistics.median(r["startup"] for r in runs["bare"])
    smart = statistics.median(r["startup"] for r in runs["smart"])
    peak = max(r["peak"] for r in runs["smart"])
    ratio = smart / bare

    def median(kind: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[kind]), 2)

    figures = {
        "series, occurrences, reminders": f"{counts['schedules']}, {counts['occurrences']}, {counts['reminders']}",
        "guilds": size.groups,
        "starts measured (each)": size.runs,
        "bare start-up s": round(bare, 2),
        "smart start-up s": round(smart, 2),
        "smart: interpreter + imports s": round(median("smart", "interpreter") + median("smart", "imports"), 2),
        "smart: setup_hook s": median("smart", "setup_hook"),
        "smart: connect to ready s": median("smart", "connect"),
        "smart: busy after ready s": median("smart", "busy_after_ready"),
        "bare peak RSS MB": max(r["peak"] for r in runs["bare"]),
        "smart RSS at ready MB": median("smart", "rss_ready"),
        "smart peak RSS MB": peak,
    }
    met = ratio <= TARGET_RATIO and peak <= TARGET_MB
    target = f"start-up <= {TARGET_RATIO:g}x bare, peak RSS <= {TARGET_MB:g} MB"
    return Result(NAME, TITLE, figures, ratio, target, met)


def main(argv: list[str] | None = None) -> None:
    toy = parse_size(argv, __doc__ or "")
    quiet_logging()
    asyncio.run(run(TOY if toy else FULL)).show()


if __name__ == "__main__":
    main(sys.argv[1:])
