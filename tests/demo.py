"""`make demo`: the bot runs a SMART group's week against the loopback Discord, with no account or token.

It plays a scripted scenario through every command that exists, prints the readable transcript, and
leaves the SQLite database and the bot's log in the work folder.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.services.participation.export import ExportRequest, ParticipationExport, metadata
from bot.services.participation.export_files import write_csv
from bot.services.participation.report import build_report
from bot.settings import Settings
from tests.fixtures.bot import BotHarness, Group, build_group, configure
from tests.fixtures.db import FakeClock
from tests.sandbox.models import Channel, Message
from tests.sandbox.runner import pointed_at
from tests.sandbox.server import Sandbox

START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # Tuesday 19:00 in London


def say(text: str) -> None:
    """Narrate a step on the terminal."""
    print(f"\n=== {text}", flush=True)


async def command(
    sandbox: Sandbox, group: Group, who: object, name: str, options: dict[str, object] | None = None
) -> str:
    """Use a slash command as a person and return what the bot answered."""
    handle = await sandbox.actors.invoke(group.guild, who, name, options or {})  # type: ignore[arg-type]
    response = await handle.response()
    return response.content


def meeting_thread(group: Group) -> Channel:
    return next(c for c in group.guild.channels.values() if c.is_thread and c.parent_id == group.meetings.id)


def panel(sandbox: Sandbox, thread: Channel) -> Message:
    return next(m for m in sandbox.channel_messages(thread) if "Facilitator panel" in m.content)


async def scenario(sandbox: Sandbox, workdir: Path) -> None:
    group = await build_group(sandbox)
    url = f"sqlite+aiosqlite:///{workdir / 'smartbot.sqlite3'}"
    settings = Settings(
        discord_token=sandbox.token,
        database_url=url,
        pseudonym_key_file=workdir / "pseudonym.key",
        _env_file=None,  # type: ignore[call-arg]
    )
    harness = BotHarness(sandbox, url, settings, FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)))
    say("The bot logs in and syncs its commands")
    await harness.start()

    say("A coordinator sets the group up")
    await configure(sandbox, group)
    await command(sandbox, group, group.admin, "setup show")

    say("Max asks for reminders; a facilitator schedules the weekly meeting")
    await command(sandbox, group, group.member, "meeting remind-me", {"setting": "on"})
    await command(
        sandbox,
        group,
        group.facilitator,
        "meeting schedule",
        {"title": "Tuesday evening SMART", "time": "19:00", "weekday": 1, "channel": group.voice},
    )
    await command(sandbox, group, group.newcomer, "meeting list")

    say("Three facilitators join the rota; a coordinator plans it")
    flo = await sandbox.actors.create_member(group.guild, "flo", roles=[group.facilitator_role])
    gil = await sandbox.actors.create_member(group.guild, "gil", roles=[group.facilitator_role])
    facilitators = [group.facilitator, flo, gil]
    for person in facilitators:
        await command(sandbox, group, person, "rota join", {"roles": "lead,co", "trained_since": "2024-03-01"})
    await command(sandbox, group, group.coordinator, "rota generate", {"weeks": 4})
    await harness.idle()

    say("Members look at SMART tools")
    await command(sandbox, group, group.newcomer, "tool list")
    await command(sandbox, group, group.member, "tool show", {"name": "disarm"})

    say("72 hours before, the lead is asked to confirm, can't make it, and another facilitator covers")
    await harness.advance_to(START - timedelta(hours=72))
    lead = next(
        p for p in facilitators if any("Can you make it?" in m.content and "lead" in m.content for m in sandbox.dms(p))
    )
    request = next(m for m in sandbox.dms(lead) if "lead" in m.content)
    await (await sandbox.actors.click(lead, request, label="Can't make it")).response()
    await harness.idle()
    cover = next(m for m in reversed(sandbox.channel_messages(group.facilitators)) if "Cover needed" in m.content)
    on_duty = {
        p.user.id
        for p in facilitators
        if f"<@{p.user.id}>"
        in next(
            m.content for m in sandbox.channel_messages(group.facilitators) if "The rota is out" in m.content
        ).split("\n", 3)[2]
    }
    cover_taker = next(p for p in facilitators if p is not lead and p.user.id not in on_duty)
    await (await sandbox.actors.click(cover_taker, cover, label="Take this shift")).response()
    await harness.idle()

    say("24 hours and 15 minutes before: reminders")
    await harness.advance_to(START - timedelta(hours=24))
    await harness.advance_to(START - timedelta(minutes=15))

    say("19:00: the meeting opens, run by the facilitator who covered")
    await harness.advance_to(START)
    thread = meeting_thread(group)
    say("The opening statement members read, with the group's guidelines")
    print(sandbox.channel_messages(thread)[0].content, flush=True)
    await sandbox.actors.voice_join(group.member, group.voice)
    await sandbox.actors.post(group.member, thread, "(a member checks in)")
    welcome = next(m for m in sandbox.channel_messages(thread) if m.content.startswith("**Welcome**"))
    await (await sandbox.actors.click(group.newcomer, welcome, label="I'm here")).response()
    await command(sandbox, group, cover_taker, "tool share", {"name": "cost benefit"})
    await harness.idle()

    say("Max privately asks for help: the facilitator running the meeting is DMed and mentioned, and takes it")
    handle = await sandbox.actors.invoke(
        group.guild, group.member, "alert-facilitator", {"text": "I'm struggling with an urge right now"}
    )
    await handle.response()
    await handle.wait_followups(1)
    alert_post = next(m for m in reversed(sandbox.channel_messages(group.facilitators)) if m.content.startswith("🚨"))
    await (await sandbox.actors.click(cover_taker, alert_post, label="I'm on it")).response()
    await harness.idle()

    say("The facilitator moves through the phases")
    while "Closing" not in panel(sandbox, thread).content:
        harness.clock.set(harness.clock.now() + timedelta(minutes=10))
        await (await sandbox.actors.click(cover_taker, panel(sandbox, thread), label="Next phase")).response()
        await harness.idle()

    say("Max works through DISARM privately; the worksheet arrives by DM")
    card = next(m for m in reversed(sandbox.ephemeral_replies(group.member)) if m.embeds)
    opened = await sandbox.actors.click(group.member, card, label="Work through it (private)")
    submitted = await sandbox.actors.submit_modal(
        opened,
        {
            "What the urge voice tells me": "You deserve a break",
            "How I answer it": "I deserve a clear head tomorrow",
        },
    )
    await submitted.response()
    await submitted.wait_followups(1)

    say("The facilitator who covered ends the meeting")
    await (await sandbox.actors.click(cover_taker, panel(sandbox, thread), label="End meeting")).response()
    await harness.idle()
    await sandbox.actors.voice_leave(group.member)

    say("Later, an alert nobody takes: after 5 minutes the coordinators are called too")
    handle = await sandbox.actors.invoke(group.guild, group.newcomer, "alert-facilitator", {})
    await handle.response()
    await handle.wait_followups(1)
    await harness.advance_to(harness.clock.now() + timedelta(minutes=5))

    say("The central office: the anonymised export and the report for this meeting")
    assert harness.bot is not None
    counting = harness.bot.get_cog("Counting")
    if counting is not None:
        await counting.idle()  # type: ignore[attr-defined]
    request = ExportRequest(START.date(), START.date())
    exported = io.StringIO()
    rows = ParticipationExport(harness.bot.database).rows(request)
    await write_csv(rows, exported, metadata(request, harness.clock.now()), request.by)
    print(exported.getvalue())
    report = await build_report(harness.bot.database, request, workdir / "report", harness.clock.now())
    print(f"Report: {report.summary}")
    await harness.stop()


async def main(workdir: Path, serve: bool = False, port: int = 8080) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "smartbot.log"
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-8s | %(name)s | %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    for noisy in ("tests", "discord", "aiosqlite", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sandbox = Sandbox(app_name="SMART Meetings Bot")
    await sandbox.start()
    try:
        with pointed_at(sandbox):
            await scenario(sandbox, workdir)
    finally:
        print("\n----- transcript -----")
        print(sandbox.render())
        await sandbox.stop()
    print(f"\nDatabase: {workdir / 'smartbot.sqlite3'}\nLog:      {log_path}")
    if sandbox.internal_errors:
        print("The sandbox reported errors: " + "; ".join(sandbox.internal_errors), file=sys.stderr)
        return 1
    await dashboard(workdir, serve, port)
    return 0


async def dashboard(workdir: Path, serve: bool, port: int) -> None:
    """Print a one-time sign-in link to the central office's dashboard of the demo's data; serve it if asked."""
    from bot.cli_web import create_link, serve as serve_dashboard

    url = f"sqlite+aiosqlite:///{workdir / 'smartbot.sqlite3'}"
    token = await create_link(url, timedelta(minutes=30), exact=False)
    print(
        f"\nThe central office's dashboard of this demo: sign in once with\n  http://127.0.0.1:{port}/login/link/{token}"
    )
    if not serve:
        print(f"Serve it with: make demo DEMO_ARGS=--serve, or DATABASE_URL={url} python -m bot web --port {port}")
        return
    settings = Settings(
        database_url=url,
        pseudonym_key_file=workdir / "pseudonym.key",
        web_session_key_file=workdir / "web_session.key",
        _env_file=None,  # type: ignore[call-arg]
    )
    print("Serving the dashboard until interrupted (Ctrl+C).", flush=True)
    await serve_dashboard(settings, "127.0.0.1", port)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Folder for the database and log (default: a temp dir)"
    )
    parser.add_argument("--serve", action="store_true", help="Then serve the dashboard until interrupted")
    parser.add_argument("--port", type=int, default=8080, help="The dashboard's port (default 8080)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="smartbot-demo-"))
    print(f"Work folder: {workdir}")
    try:
        sys.exit(asyncio.run(main(workdir, args.serve, args.port)))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    cli()
