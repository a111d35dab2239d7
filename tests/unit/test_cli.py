import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord
from typer.testing import CliRunner

from bot.cli import app
from bot.domain.tools import default_content_dir
from bot.permissions import BOT_PERMISSIONS
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args, env=None, cwd):
    environment = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_URL", "LOG_FORMAT"}}
    environment.update(env or {})
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=60
    )


def test_run_without_token_explains_and_exits_fast(tmp_path):
    started = time.monotonic()
    result = run_module("run", cwd=tmp_path)
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert "DISCORD_TOKEN" in result.stderr
    assert "docs/HOSTING.md" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_default_command_is_run(tmp_path):
    result = run_module(cwd=tmp_path)
    assert result.returncode == 1
    assert "DISCORD_TOKEN" in result.stderr


def test_invalid_setting_exits_2_with_one_line_each(tmp_path):
    result = run_module("run", env={"LOG_FORMAT": "xml", "DATABASE_URL": "mysql://x"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any("LOG_FORMAT" in line for line in lines)
    assert any("DATABASE_URL" in line for line in lines)
    assert "Traceback" not in result.stderr


def test_check_passes_on_defaults_and_fails_naming_a_broken_setting(tmp_path):
    assert run_module("check", cwd=tmp_path).returncode == 0
    broken = run_module("check", env={"LOG_LEVEL": "LOUD"}, cwd=tmp_path)
    assert broken.returncode == 1
    assert "LOG_LEVEL" in broken.stderr


def test_migrate_creates_the_database(tmp_path):
    result = run_module("migrate", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db/x.sqlite3"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "db" / "x.sqlite3").exists()


def test_invite_url_has_scopes_and_exact_permissions():
    result = CliRunner().invoke(app, ["invite-url", "--client-id", "1234"], obj=load_settings())
    assert result.exit_code == 0
    query = parse_qs(urlparse(result.stdout.strip()).query)
    assert query["client_id"] == ["1234"]
    assert set(query["scope"][0].split()) == {"bot", "applications.commands"}
    permissions = discord.Permissions(int(query["permissions"][0]))
    assert permissions == BOT_PERMISSIONS
    # What `/setup start` needs too: creating the group's channels, and the voice channel its events are in.
    assert permissions.manage_channels and permissions.connect and permissions.manage_roles
    assert not permissions.administrator
    assert not permissions.mention_everyone


def test_check_names_a_broken_tool_file(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    (content / "broken.md").write_text("---\nslug: broken\nname: [unclosed\n---\nbody\n")
    result = run_module("check", env={"TOOLS_CONTENT_DIR": str(content)}, cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.md" in result.stderr


def test_check_fails_a_change_planning_tool_without_the_withdrawal_warning(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(default_content_dir(), content)
    deads = content / "deads.md"
    front, body = deads.read_text(encoding="utf-8").split("\n---\n", 1)
    assert "plans_change: true" in front
    _warning, rest = body.split("\n\n", 1)
    deads.write_text(f"{front}\n---\n{rest}", encoding="utf-8")
    result = run_module("check", env={"TOOLS_CONTENT_DIR": str(content)}, cwd=tmp_path)
    assert result.returncode == 1
    assert "deads.md: plans_change:" in result.stderr
    assert "benzodiazepines" in result.stderr


def test_schedule_preview_is_mounted(tmp_path):
    result = run_module(
        "schedule",
        "preview",
        "--rrule",
        "FREQ=WEEKLY;BYDAY=TU;BYHOUR=19;BYMINUTE=0",
        "--tz",
        "Europe/London",
        "--start",
        "2026-12-01T19:00",
        "--count",
        "2",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert '"utc": "2026-12-01T19:00:00+00:00"' in result.stdout
