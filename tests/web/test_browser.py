"""The dashboard in a real browser: headless Chromium against `python -m bot web`, with meetings run in the sandbox.

One module-wide stack (sandbox, a meeting run by the real bot, the web process, one browser) serves every test here:
sign in through the sandbox's OAuth provider, compare the overview and a downloaded CSV with the CLI's export, lose
access when the role goes, sign out, use a one-time link once, and check every page with axe-core. With
UPDATE_SCREENSHOTS=1 the tests also rewrite the screenshots in docs/images/.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from subprocess import PIPE

import pytest
import pytest_asyncio

from bot.cli_web import READY
from bot.settings import Settings
from tests.e2e.test_participation import end_meeting, message_with, settle
from tests.fixtures.bot import BotHarness, build_group
from tests.fixtures.db import FakeClock
from tests.fixtures.meeting import MeetingDriver, START
from tests.sandbox.models import Member, Role
from tests.sandbox.runner import pointed_at
from tests.sandbox.server import Sandbox

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "images"
MONTH = START.strftime("%Y-%m")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium)"),
    pytest.mark.asyncio(loop_scope="module"),
]


@dataclass
class Stack:
    sandbox: Sandbox
    base: str
    env: dict[str, str]
    staff: Member
    visitor: Member
    office_role: Role
    browser: object
    group_name: str

    async def cli(self, *args: str) -> str:
        """Run `python -m bot ARGS` against the same database; return its standard output."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            env=self.env,
            cwd=self.env["HOME_DIR"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    async def signed_in_page(self, who: Member) -> object:
        """Return a page of a new browser context signed in with Discord as `who`."""
        context = await self.browser.new_context(accept_downloads=True)
        page = await context.new_page()
        self.sandbox.oauth.next_user = who
        await page.goto(f"{self.base}/login")
        await page.get_by_role("link", name="Sign in with Discord").click()
        await page.wait_for_load_state()
        return page


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    from playwright.async_api import async_playwright

    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}"
    sandbox = Sandbox()
    await sandbox.start()
    with pointed_at(sandbox):
        group = await build_group(sandbox)
        actors = sandbox.actors
        office = await actors.create_guild("SMART Central Office")
        digest = await actors.create_channel(office, "digest")
        office_role = await actors.create_role(office, "Central office")
        staff = await actors.create_member(office, "olive", roles=[office_role])
        visitor = await actors.create_member(office, "victor")
        settings = Settings(
            discord_token=sandbox.token,
            database_url=url,
            pseudonym_key_file=folder / "pseudonym.key",
            _env_file=None,  # type: ignore[call-arg]
        )
        clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
        harness = BotHarness(sandbox, url, settings, clock)
        driver = MeetingDriver(sandbox, group, harness)
        bot = await driver.start_bot_and_configure()
        await driver.schedule_weekly()
        await actors.voice_join(group.member, group.voice)
        await driver.open_meeting()
        await settle(harness)
        thread = driver.thread()
        await (
            await actors.click(group.newcomer, message_with(sandbox, thread, "I'm here"), label="I'm here")
        ).response()
        await end_meeting(sandbox, group, harness, thread, 20)
        await bot.services.participation.office.configure(office.id, digest.id, office_role.id)
        await harness.stop()

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "HOME_DIR": str(folder),
            "DATABASE_URL": url,
            "DISCORD_TOKEN": sandbox.token,
            "PSEUDONYM_KEY_FILE": str(folder / "pseudonym.key"),
            "DISCORD_API_BASE": sandbox.api_base,
            "DISCORD_OAUTH_AUTHORIZE_URL": sandbox.oauth.authorize_url,
            "WEB_OAUTH_CLIENT_ID": str(sandbox.oauth.client_id),
            "WEB_OAUTH_CLIENT_SECRET": sandbox.oauth.client_secret,
            "WEB_OAUTH_REDIRECT_URL": f"{base}/auth/callback",
            "WEB_SESSION_KEY_FILE": str(folder / "web_session.key"),
            # Every request checks the role again: removing it must end access at once in these tests.
            "WEB_ROLE_RECHECK_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
        }
        web = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "web", "--port", str(port), env=env, cwd=folder, stdout=PIPE
        )
        assert web.stdout is not None
        # The process says when it accepts connections: waited for, not polled.
        await asyncio.wait_for(_ready(web.stdout), timeout=60)
        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield Stack(sandbox, base, env, staff, visitor, office_role, browser, "SMART Online Group")
        finally:
            await browser.close()
            await playwright.stop()
            web.terminate()
            await web.wait()
            await sandbox.stop()


async def _ready(stdout: asyncio.StreamReader) -> None:
    """Return once `python -m bot web` says it accepts connections."""
    while not (line := await stdout.readline()).startswith(READY.encode()):
        assert line, "python -m bot web ended before it was ready"


async def _axe(page: object, name: str) -> None:
    """Fail on any serious or critical accessibility violation; save a screenshot when asked to."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in serious]
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"dashboard_{name}.png"), full_page=True)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


async def test_sign_in_overview_and_download_match_the_cli(stack: Stack) -> None:
    page = await stack.signed_in_page(stack.staff)
    assert page.url == f"{stack.base}/"
    await _axe(page, "overview")
    # Keyboard first: the first Tab reaches the skip link. At phone width nothing but the table scrolls sideways.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await _axe(page, "overview_phone")
    await page.set_viewport_size({"width": 1280, "height": 720})
    row = page.locator(f'tr[data-group="{stack.group_name}"]')
    assert await row.count() == 1
    # Only groups: the office's own server is not one of them.
    assert await page.locator("tbody tr").count() == 1
    exported = await stack.cli(
        "export", "participation", "--from", f"{MONTH}-01", "--to", f"{MONTH}-31", "--by", "month"
    )
    [cli] = [r for r in _rows(exported) if r["scope"] == "group"]
    assert cli["meetings"] == "1" and cli["meetings_held"] == "1"
    for column in (
        "meetings",
        "meetings_held",
        "missed_no_facilitator",
        "attendees",
        "new_attendees",
        "returning_attendees",
    ):
        shown = (await row.locator(f'td[data-column="{column}"]').inner_text()).strip()
        assert shown == cli[column], column
    assert cli["guild_id"] not in await page.content()  # groups by name, never by id

    await row.get_by_role("link", name=stack.group_name).click()
    await page.wait_for_load_state()
    assert await page.locator("h1").inner_text() == stack.group_name
    await _axe(page, "group")

    await page.get_by_role("link", name="Downloads").click()
    await _axe(page, "downloads")
    await page.fill("#from", "2026-11-01")
    await page.fill("#to", "2026-12-31")
    await page.select_option("#by", "occurrence")
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Download").click()
    download = await (await waiting.value).path()
    browser_csv = Path(download).read_bytes().decode()
    cli_csv = await stack.cli(
        "export", "participation", "--from", "2026-11-01", "--to", "2026-12-31", "--by", "occurrence"
    )
    strip = lambda text: re.sub(r"^# generated_at: .*\n", "", text, flags=re.M)
    assert strip(browser_csv) == strip(cli_csv)
    assert "# generated_at: " in browser_csv

    await page.get_by_role("link", name="Report").click()
    await page.fill("#from", "2026-11-01")
    await page.fill("#to", "2026-12-31")
    await page.get_by_role("button", name="Show the report").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("img", name=re.compile("Meetings held and missed")).count() == 1
    await _axe(page, "report")
    await page.context.close()


async def test_a_user_without_the_role_is_refused_and_a_removed_role_ends_access(stack: Stack) -> None:
    refused = await stack.signed_in_page(stack.visitor)
    assert refused.url.endswith("/login?why=role")
    await _axe(refused, "sign_in")
    await refused.goto(f"{stack.base}/")
    assert refused.url == f"{stack.base}/login"
    await refused.context.close()

    page = await stack.signed_in_page(stack.staff)
    assert page.url == f"{stack.base}/"
    stack.staff.roles.remove(stack.office_role.id)
    try:
        await page.reload()
        assert page.url.endswith("/login?why=role")
        assert "central office role" in await page.content()
    finally:
        stack.staff.roles.append(stack.office_role.id)
    await page.context.close()


async def test_sign_out_ends_the_session(stack: Stack) -> None:
    page = await stack.signed_in_page(stack.staff)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_load_state()
    assert page.url.endswith("/login?why=signed-out")
    await page.goto(f"{stack.base}/downloads")
    assert page.url == f"{stack.base}/login"
    await page.context.close()


async def test_a_one_time_link_works_once(stack: Stack) -> None:
    link = (await stack.cli("web", "login-link", "--url", stack.base)).strip()
    first = await (await stack.browser.new_context()).new_page()
    await first.goto(link)
    await first.get_by_role("button", name="Sign in").click()
    await first.wait_for_load_state()
    assert first.url == f"{stack.base}/"
    second = await (await stack.browser.new_context()).new_page()
    await second.goto(link)
    await second.get_by_role("button", name="Sign in").click()
    await second.wait_for_load_state()
    assert second.url.endswith("/login?why=link")
    for page in (first, second):
        await page.context.close()
