"""The import rules of docs/ARCHITECTURE.md, checked on the source: dependencies point one way only.

- `bot.domain`, `bot.services` and `bot.web` never import discord or the cogs;
- `bot.domain` never imports `bot.db` or SQLAlchemy (it is pure);
- `bot.services` never imports `bot.delivery` (delivery is reached the other way round);
- no module imports another package's `_private` module (or a `_private` name of another module).
"""

import ast
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "cogs")

# (modules the rule is about, what they must not import, why)
FORBIDDEN: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (("bot.domain", "bot.services", "bot.web"), ("discord", "cogs"), "Discord belongs to the cogs and bot.delivery"),
    (("bot.domain",), ("bot.db", "sqlalchemy"), "the domain is pure: no database"),
    (("bot.services",), ("bot.delivery",), "services write the outbox; delivery reads it, never the other way"),
    (
        ("bot.web",),
        ("bot.delivery", "bot.client"),
        "the dashboard is its own process: it reads through bot.services, never the bot's Discord side",
    ),
]


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of a source file under `root`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(module: str, tree: ast.Module, *, is_package: bool) -> Iterator[tuple[int, list[str]]]:
    """Yield each import of `module`: its line, and the dotted names it may reach (`from a import b`: a.b and a)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, [alias.name]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # Relative: resolve against the importing module's package.
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                # `b` may be a submodule of `a` or a name defined in it: both are what the line reaches.
                yield node.lineno, [base] if alias.name == "*" else [f"{base}.{alias.name}", base]


def private_owner(name: str) -> str | None:
    """Return the package (or module) a `_private` part of `name` is private to, or None if nothing is private."""
    parts = name.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    return None


@functools.cache
def _parsed(source: str) -> ast.Module:
    """Return the syntax tree of a source; each planted case reads the whole project again, parsed once."""
    return ast.parse(source)


def violations(sources: Mapping[str, tuple[str, bool]]) -> list[str]:
    """Return every broken rule in `sources` (dotted module name -> (source text, is a package's __init__))."""
    found = []
    for module, (source, is_package) in sorted(sources.items()):
        for line, names in imported(module, _parsed(source), is_package=is_package):
            for importers, targets, why in FORBIDDEN:
                hits = [name for name in names if _within(name, targets)]
                if hits and _within(module, importers):
                    found.append(f"{module}:{line} imports {hits[-1]}: {why}")
            owners = [(name, owner) for name in names if (owner := private_owner(name)) is not None]
            if owners and not _within(module, (owners[-1][1],)):
                found.append(f"{module}:{line} imports {owners[-1][0]}, private to {owners[-1][1] or 'its top level'}")
    return sorted(set(found))


def project_sources(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    """Return the sources of every module of the bot and the cogs."""
    return {
        module_name(path, root): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts  # Alembic's scripts, loaded by Alembic, not imported
    }


def test_the_project_follows_the_import_rules() -> None:
    assert violations(project_sources()) == []


def test_the_project_is_actually_read() -> None:
    sources = project_sources()
    assert {"bot.client", "bot.services.outbox", "bot.domain.recurrence", "cogs.shared", "bot.web.app"} <= set(sources)
    reached = {
        name
        for module, (source, is_package) in sources.items()
        for _, names in imported(module, ast.parse(source), is_package=is_package)
        for name in names
    }
    assert "discord" in reached  # the check sees real imports (bot.delivery and the cogs use discord)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("bot.services.rota.service", "import discord", "imports discord: Discord belongs"),
        ("bot.domain.rota", "from discord.ext import commands", "imports discord.ext"),
        ("bot.web.routes", "from cogs.shared import reply", "imports cogs.shared: Discord belongs"),
        ("bot.web.pages", "import discord", "imports discord: Discord belongs"),
        ("bot.web.pages", "from bot.delivery.lanes import Lane", "imports bot.delivery.lanes: the dashboard is"),
        ("bot.web.app", "from bot.client import SmartBot", "imports bot.client: the dashboard is"),
        ("bot.domain.text", "from sqlalchemy import select", "imports sqlalchemy: the domain is pure"),
        ("bot.domain.text", "from bot.db.models import Outbox", "imports bot.db.models: the domain is pure"),
        ("bot.services.outbox", "from bot.delivery.routes import ROUTES", "imports bot.delivery.routes: services"),
        ("cogs.safety._buttons", "from cogs.meetings._checks import has_any_role", "private to cogs.meetings"),
        ("cogs.tools._commands", "from cogs.meetings import _panel", "imports cogs.meetings._panel, private to"),
        ("bot.client", "from cogs._replies import reply", "imports cogs._replies, private to cogs"),
        ("bot.services.alerts", "from bot.services.outbox import _claimable", "private to bot.services.outbox"),
    ],
)
def test_a_planted_violation_is_caught(module: str, source: str, expected: str) -> None:
    [found] = violations({module: (source, False)})
    assert expected in found
    # And planted among the real sources, it is caught there too.
    sources = project_sources() | {f"{module}_planted": (source, False)}
    assert [v for v in violations(sources) if "_planted" in v]


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("cogs.meetings._commands", "from cogs.meetings._panel import PanelButton"),  # its own package's private module
        ("cogs.meetings", "from ._commands import Meetings"),  # relative, from the package's __init__
        ("bot.delivery.messages", "import discord"),  # delivery is where discord may be used
        ("bot.services.outbox", "from bot.domain.states import OutboxState"),
        ("cogs.shared", "from cogs._errors import report_error"),
        # A cog subpackage may use its parent package's private modules (cogs/_replies.py serves every cog).
        ("cogs.rota._buttons", "from .._errors import report_error"),
    ],
)
def test_allowed_imports_pass(module: str, source: str) -> None:
    assert violations({module: (source, module == "cogs.meetings")}) == []
