"""Fixes proposed in docs/BENCHMARKS.md, applied as monkeypatches inside a benchmarked bot process only.

They exist to measure "after" figures before the production code changes: `BENCH_FIXES=read-pool make bench`
(any comma-separated subset of `FIXES`) patches the SmartBot child processes and the export's measuring process;
nothing else is touched. Several replace a whole method with a copy of it as it was when measured: once a fix
has landed in `bot/` or `cogs/`, delete its entry rather than let the copy drift.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

ENV = "BENCH_FIXES"


def requested(where: str | None = None) -> list[str]:
    """Return the fixes named in BENCH_FIXES (empty: the code as it is), for the bot's or the export's process."""
    names = [name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip()]
    if where is None:
        return names
    return [name for name in names if name.startswith("export-") == (where == "export")]


def read_pool() -> None:
    """Give SQLite sessions a pool of four connections instead of one (upper bound of a read-only pool's effect).

    Not a proposal as it stands: the single connection is there so that writers queue instead of failing to
    upgrade a read transaction ("database is locked"). Measured to size the gain of a separate read-only engine
    (WAL lets readers run beside the writer) for the commands that only read.
    """
    from bot.db import engine

    original_init = engine.Database.__init__

    def init(self: engine.Database, url: str, *, echo: bool = False) -> None:
        original_create = engine.create_async_engine

        def create(url: str, **kwargs: Any) -> Any:
            if kwargs.get("pool_size") == 1:
                kwargs["pool_size"] = 4
            return original_create(url, **kwargs)

        engine.create_async_engine = create  # type: ignore[assignment]
        try:
            original_init(self, url, echo=echo)
        finally:
            engine.create_async_engine = original_create  # type: ignore[assignment]

    engine.Database.__init__ = init  # type: ignore[method-assign]


FIXES: dict[str, Callable[[], None]] = {
    "read-pool": read_pool,
}


def apply(names: list[str]) -> list[str]:
    """Apply the named fixes; return the names applied."""
    unknown = set(names) - set(FIXES)
    if unknown:
        raise SystemExit(f"unknown fix(es) in {ENV}: {', '.join(sorted(unknown))}; known: {', '.join(FIXES)}")
    for name in names:
        FIXES[name]()
    return names
