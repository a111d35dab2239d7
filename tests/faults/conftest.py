"""Fixtures of the fault suite."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.tools import ToolLibrary, load_library
from bot.services import registry

# The end-to-end fixtures: a group's server in the sandbox and a harness to start, kill and restart the bot.
from tests.e2e.conftest import app_logging, group, harness, meeting  # noqa: F401


@functools.cache
def _library(directory: Path) -> ToolLibrary:
    return load_library(directory)


@pytest.fixture(autouse=True)
def tools_read_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Parse the SMART tool files once per process: these tests restart the bot hundreds of times.

    The library is read-only data, the same for every start; parsing its YAML is most of a restart's cost.
    """
    monkeypatch.setattr(registry, "load_library", _library)
    yield
