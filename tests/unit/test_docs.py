"""The docs stay true: links resolve, each reader has a page, and the coordinators' page needs no terminal."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

import cogs
from bot.domain.server_setup import PERMISSION_LABELS
from bot.permissions import BOT_PERMISSIONS
from bot.settings import SETUP_GUIDE

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
COORDINATOR_GUIDE = DOCS / "COORDINATOR_GUIDE.md"
HOSTING = DOCS / "HOSTING.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

FENCE_RE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK_RE = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
HEADING_RE = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)
SLASH_COMMAND_RE = re.compile(r"^/(?P<name>[a-z-]+)(?: (?P<sub>[a-z-]+))?(?P<rest>.*)$", re.DOTALL)
OPTION_RE = re.compile(r"(?:^|\s)(?P<option>[a-z_]+):")

# How Discord's settings name the permissions the invite asks for beyond the group plan's (referral links).
MORE_PERMISSION_LABELS = {"create_instant_invite": "Create Invite", "pin_messages": "Pin Messages"}

# What a coordinator must never be asked to type: the brief's "no terminal" (shell, Python, git, the venv).
TERMINAL_IN_CODE = ("make ", "python", ".venv", "pip ", "$ ", "git ")
TERMINAL_IN_PROSE = (
    re.compile(r"\bmake\s+(?:run|test|check|demo|bench|migrate|lock)\b"),
    re.compile(r"python", re.IGNORECASE),
    re.compile(r"\.venv\b"),
    re.compile(r"\bpip3?\s+install\b"),
    re.compile(r"^\s*\$\s", re.MULTILINE),
    re.compile(r"\bgit\s+(?:clone|pull|checkout|push)\b"),
    re.compile(r"\b(?:sudo|systemctl|pg_dump|sqlite3)\b"),
    re.compile(r"(?<![\w/])\.env\b"),
    re.compile(r"-m bot\b"),
)


def without_code(text: str) -> str:
    """Return `text` with fenced blocks and code spans blanked out, so a link or heading inside them is ignored."""
    return CODE_SPAN_RE.sub("", FENCE_RE.sub("", text))


def code_of(text: str) -> list[str]:
    """Return every line of the fenced blocks and every code span of `text`."""
    lines = [line for match in FENCE_RE.finditer(text) for line in match.group(0).splitlines()[1:-1]]
    return lines + [match.group(2) for match in CODE_SPAN_RE.finditer(FENCE_RE.sub("", text))]


def slug(title: str) -> str:
    """Return the anchor GitHub gives a heading: lower case, punctuation dropped, spaces made hyphens."""
    title = LINK_RE.sub(lambda match: match.group("text"), title)
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """Return the anchors of a page's headings, numbered like GitHub's when a heading repeats."""
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING_RE.finditer(without_code(page.read_text(encoding="utf-8"))):
        base = slug(match.group("title"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken_links(page: Path) -> list[str]:
    """Return each relative link of `page` whose file, or heading on a Markdown page, does not exist."""
    broken = []
    for match in LINK_RE.finditer(without_code(page.read_text(encoding="utf-8"))):
        target = match.group("target")
        if SCHEME_RE.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def first_index(text: str, needle: str) -> int:
    index = text.find(needle)
    assert index >= 0, f"{needle!r} is not mentioned"
    return index


def _cog_classes() -> Iterator[type[commands.Cog]]:
    for info in pkgutil.walk_packages(cogs.__path__, "cogs."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, commands.Cog) and cls.__module__ == module.__name__:
                yield cls


@cache
def registered_commands() -> dict[str, frozenset[str] | None]:
    """Return every slash command the cogs define ("setup start", "crisis") with its options; None for a group."""
    found: dict[str, frozenset[str] | None] = {}

    def add(command: app_commands.Command[Any, ..., Any] | app_commands.Group, prefix: str) -> None:
        name = f"{prefix} {command.name}".strip()
        if isinstance(command, app_commands.Group):
            found[name] = None
            for child in command.commands:
                add(child, name)
        else:
            found[name] = frozenset(parameter.name for parameter in command.parameters)

    for cls in _cog_classes():
        group = str(cls.__cog_group_name__) if cls.__cog_is_app_commands_group__ else ""
        if group:
            found[group] = None
        for command in cls.__cog_app_commands__:
            add(command, group)
    return found


def unknown_commands(page: Path) -> list[str]:
    """Return each slash command (or option of one) that `page` names in code but the bot does not have."""
    known = registered_commands()
    wrong = []
    for code in code_of(page.read_text(encoding="utf-8")):
        # A code span may be wrapped across lines; Markdown shows it on one.
        match = SLASH_COMMAND_RE.match(" ".join(code.split()))
        if match is None:
            continue
        name, sub, rest = match.group("name"), match.group("sub"), match.group("rest")
        if name not in known or (sub is not None and known[name] is None and f"{name} {sub}" not in known):
            wrong.append(f"/{name}" if sub is None else f"/{name} {sub}")
            continue
        if sub is not None and known[name] is not None:
            # A command without subcommands: the next word is a value, not a subcommand.
            command, rest = name, f" {sub}{rest}"
        else:
            command = name if sub is None else f"{name} {sub}"
        options = known[command] or frozenset()
        wrong += [f"/{command} {option}:" for option in OPTION_RE.findall(rest) if option not in options]
    return wrong


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_finds_missing_files_and_headings(tmp_path: Path) -> None:
    (tmp_path / "OTHER.md").write_text("# Other page\n\n## 6. Several processes (large)\n", encoding="utf-8")
    page = tmp_path / "PAGE.md"
    page.write_text(
        "# Page\n\n"
        "[fine](OTHER.md) [fine too](OTHER.md#6-several-processes-large) [here](#page) [web](https://example.org)\n"
        "[gone](GONE.md) [no such heading](OTHER.md#nowhere)\n"
        "`[in code](SPAN.md)`\n\n```\n[in a block](BLOCK.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["GONE.md: no such file", "OTHER.md#nowhere: no heading #nowhere in OTHER.md"]


def test_readme_says_who_does_what_and_sends_each_reader_to_a_guide() -> None:
    text = README.read_text(encoding="utf-8")
    who, guides, quickstart = (
        first_index(text, heading) for heading in ("## Who does what", "## Guides", "## Quickstart")
    )
    assert who < guides < quickstart
    assert "One deployment serves every group" in text[who:guides]
    guide_links = {match.group("target") for match in LINK_RE.finditer(text[guides:quickstart])}
    for page in ("COORDINATOR_GUIDE", "FACILITATOR_GUIDE", "HOSTING", "CENTRAL_OFFICE", "DEVELOPING"):
        assert f"docs/{page}.md" in guide_links
    # The two commands CI and newcomers use stay in the quickstart.
    assert "make run\nmake test" in text[quickstart:]


def test_coordinator_guide_needs_no_terminal() -> None:
    text = COORDINATOR_GUIDE.read_text(encoding="utf-8")
    for code in code_of(text):
        assert not [word for word in TERMINAL_IN_CODE if word in code], code
    for block in FENCE_RE.finditer(text):
        lines = [line for line in block.group(0).splitlines()[1:-1] if line.strip()]
        assert all(line.lstrip().startswith("/") for line in lines), f"only slash commands in code blocks: {lines}"
    for pattern in TERMINAL_IN_PROSE:
        assert pattern.search(text) is None, pattern.pattern


def test_coordinator_guide_walks_from_the_invite_link_to_a_first_meeting() -> None:
    text = COORDINATOR_GUIDE.read_text(encoding="utf-8")
    steps = ["invite link", "`/setup start`", "`/setup check`", "`/meeting schedule`"]
    positions = [first_index(text, step) for step in steps]
    assert positions == sorted(positions), dict(zip(steps, positions, strict=True))
    # Groups outside the UK must be told to replace the (UK) default crisis text, and coordinators need Integrations.
    assert "outside the UK" in text
    assert "Integrations" in text


@pytest.mark.parametrize("page", [README, COORDINATOR_GUIDE], ids=["README.md", "COORDINATOR_GUIDE.md"])
def test_slash_commands_in_the_guides_exist(page: Path) -> None:
    assert unknown_commands(page) == []


def test_the_command_check_finds_a_made_up_command_and_option(tmp_path: Path) -> None:
    page = tmp_path / "PAGE.md"
    page.write_text(
        "`/setup start timezone:Europe/London` `/crisis` `/setup` `/meeting schedule title:x time:7pm colour:red`\n"
        "`/setup begin` `/nothing here` `/meeting\nlist`\n\n"
        "```\n/meeting schedule title:x time:7pm channel:Meeting room weekday:Tuesday\n/rota join role:lead\n```\n",
        encoding="utf-8",
    )
    assert unknown_commands(page) == ["/rota join role:", "/meeting schedule colour:", "/setup begin", "/nothing here"]


def test_coordinator_guide_explains_every_permission_the_invite_asks_for() -> None:
    text = COORDINATOR_GUIDE.read_text(encoding="utf-8")
    appendix = text[first_index(text, "## Appendix: the permissions the bot asks for") :]
    labels = {**PERMISSION_LABELS, **MORE_PERMISSION_LABELS}
    asked = {name for name in labels if getattr(BOT_PERMISSIONS, name)}
    covered = discord.Permissions(**dict.fromkeys(asked, True))
    assert covered.value == BOT_PERMISSIONS.value, "a permission the invite asks for has no label here"
    assert sorted(labels[name] for name in asked if labels[name] not in appendix) == []


def test_the_missing_token_message_names_the_hosting_page() -> None:
    guide = ROOT / SETUP_GUIDE
    assert guide == HOSTING
    assert "Reset Token" in guide.read_text(encoding="utf-8")


def test_hosting_creates_the_venv_before_using_it() -> None:
    text = HOSTING.read_text(encoding="utf-8")
    assert first_index(text, "make check") < first_index(text, ".venv/bin/python")
    assert first_index(text, "make run") < first_index(text, "invite-url")
