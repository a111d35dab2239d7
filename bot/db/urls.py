"""Database URLs: the default, and where a SQLite URL keeps its file (no settings, no engine needed)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/smartbot.sqlite3"
SQLITE_PREFIX = "sqlite+aiosqlite:///"


def sqlite_path_of(url: str) -> Path | None:
    """Return the file behind a SQLite URL, or None when there is no file."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    path = url.removeprefix(SQLITE_PREFIX).split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)
