"""The command line: `python -m bot [run|migrate|check|invite-url|...]`."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import discord
import typer

from bot.cli_export import mount_export_commands
from bot.cli_referral import mount_referral_commands
from bot.cli_referral_counts import mount_referral_export
from bot.cli_schedule import schedule_app
from bot.cli_web import web_app
from bot.permissions import BOT_PERMISSIONS, BOT_SCOPES
from bot.settings import SETUP_GUIDE, Settings, SettingsResult

log = logging.getLogger(__name__)

app = typer.Typer(
    help="SMART Recovery meetings bot.", add_completion=False, pretty_exceptions_enable=False, no_args_is_help=False
)


app.add_typer(schedule_app, name="schedule")
app.add_typer(web_app, name="web")
mount_export_commands(app)
mount_referral_commands(app)
mount_referral_export()


def fail(message: str, code: int) -> typer.Exit:
    """Print `message` to stderr and return the exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def require_settings(ctx: typer.Context) -> Settings:
    """Return the settings, or exit 2 listing each problem on its own line."""
    result: SettingsResult = ctx.obj
    if result.settings is None:
        for problem in result.problems:
            typer.echo(f"Invalid setting: {problem}", err=True)
        raise typer.Exit(2)
    return result.settings


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """Run the bot when no command is given."""
    if ctx.invoked_subcommand is None:
        run(ctx)


@app.command()
def run(ctx: typer.Context) -> None:
    """Apply migrations and start the bot (the default command)."""
    settings = require_settings(ctx)
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise fail(
            "DISCORD_TOKEN is not set. Put your bot's token in .env (copy .env.example) or the environment.\n"
            f"How to create a bot and get its token: {SETUP_GUIDE}",
            1,
        )
    from bot.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(_run_bot(settings))
    except discord.LoginFailure:
        raise fail(f"Discord rejected DISCORD_TOKEN. Check it, or make a new one as {SETUP_GUIDE} shows.", 1) from None


async def _run_bot(settings: Settings) -> None:
    from bot.client import SmartBot, run_until_signalled
    from bot.db.engine import Database
    from bot.db.migrate import upgrade
    from bot.keyfile import ensure_key_file

    assert settings.discord_token is not None  # noqa: S101 - checked by the caller
    ensure_key_file(settings.pseudonym_key_file)
    database = Database(settings.database_url)
    await upgrade(database)
    bot = SmartBot(settings, database, freeze_heap=True)
    try:
        await run_until_signalled(bot, settings.discord_token.get_secret_value())
    finally:
        log.info("Bot stopped.")


@app.command()
def migrate(ctx: typer.Context, revision: Annotated[str, typer.Option(help="Target revision.")] = "head") -> None:
    """Apply database migrations up to REVISION (default: the latest)."""
    settings = require_settings(ctx)
    from bot.db.engine import Database
    from bot.db.migrate import upgrade

    async def _migrate() -> None:
        database = Database(settings.database_url)
        try:
            await upgrade(database, revision)
        finally:
            await database.dispose()

    asyncio.run(_migrate())
    typer.echo(f"Database is at revision {revision}.")


@app.command()
def check(ctx: typer.Context) -> None:
    """Validate the settings, meeting templates and every SMART tool content file; exit 1 listing the problems."""
    from bot.domain.meeting_format import load_templates
    from bot.domain.tools import check_library, default_content_dir

    result: SettingsResult = ctx.obj
    problems = [f"setting {problem}" for problem in result.problems]
    content_dir = (result.settings.tools_content_dir if result.settings else None) or default_content_dir()
    if not content_dir.is_dir():
        problems.append(f"setting TOOLS_CONTENT_DIR: {content_dir} is not a folder")
    else:
        problems += [f"tools content {problem}" for problem in check_library(content_dir)]
    try:
        load_templates()
    except ValueError as exc:
        problems.append(f"meeting template {exc}")
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"Settings, meeting templates and tools content ({content_dir.name}): OK")


@app.command()
def ics(
    ctx: typer.Context,
    guild: Annotated[int, typer.Option(help="The server id of the group.")],
    out: Annotated[Path | None, typer.Option(help="File to write; default: standard output.")] = None,
) -> None:
    """Write the group's meetings as an iCalendar file (VTIMEZONE, RRULE, EXDATE for cancellations)."""
    settings = require_settings(ctx)
    from bot.clock import SystemClock
    from bot.db.engine import Database
    from bot.services.meetings.calendar import guild_calendar

    async def _export() -> bytes:
        database = Database(settings.database_url)
        try:
            return await guild_calendar(database, SystemClock(), guild)
        finally:
            await database.dispose()

    data = asyncio.run(_export())
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        typer.echo(f"Wrote {out}.", err=True)


@app.command("invite-url")
def invite_url(
    client_id: Annotated[int, typer.Option(help="Your application's id (Developer Portal → General Information).")],
) -> None:
    """Print the OAuth2 URL that adds the bot to a server with exactly the permissions it needs."""
    typer.echo(discord.utils.oauth_url(client_id, permissions=BOT_PERMISSIONS, scopes=BOT_SCOPES))


def main(result: SettingsResult | None = None) -> None:
    """Run the CLI with settings already loaded (they are built once, in `__main__`)."""
    from bot.settings import load_settings

    app(obj=result or load_settings(), prog_name="python -m bot", args=sys.argv[1:])
