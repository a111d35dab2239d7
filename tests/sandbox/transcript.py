"""An ordered, printable record of everything that happened in the sandbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.sandbox.snowflakes import utcnow

log = logging.getLogger(__name__)

# Entry kinds.
MESSAGE = "message"
EDIT = "edit"
DELETE = "delete"
COMMAND = "command"
CLICK = "click"
SELECT = "select"
MODAL_SUBMIT = "modal_submit"
AUTOCOMPLETE = "autocomplete"
RESPONSE = "response"
FAILED = "failed"
EVENT = "event"
THREAD = "thread"
VOICE = "voice"
PIN = "pin"
ROLE = "role"
NOTE = "note"

_BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium"}


@dataclass
class Pings:
    """Who a message pinged, by Discord's allowed-mentions rules."""

    users: list[int] = field(default_factory=list)
    roles: list[int] = field(default_factory=list)
    everyone: bool = False
    here: bool = False
    user_ids: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.users or self.roles or self.everyone or self.here)


@dataclass
class Entry:
    """One thing that happened, as a person watching Discord would describe it."""

    seq: int
    kind: str
    actor: str
    where: str
    text: str
    actor_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None
    to_user_id: int | None = None
    to: str = ""
    ephemeral: bool = False
    pings: Pings | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime = field(default_factory=utcnow)

    def render(self) -> str:
        """Return this entry as one or more readable lines."""
        flag = f" (only {self.to} sees it)" if self.ephemeral and self.to else " (ephemeral)" if self.ephemeral else ""
        head = f"[{self.seq:03d}] {self.where:<18} {self.actor}{flag} {self.kind}:"
        body = self.text.replace("\n", "\n" + " " * 8)
        line = f"{head} {body}" if body else head
        if self.pings:
            line += f"\n        pings: {self._pings_text()}"
        return line

    def _pings_text(self) -> str:
        assert self.pings is not None
        parts = [f"<@{u}>" for u in self.pings.users] + [f"<@&{r}>" for r in self.pings.roles]
        if self.pings.everyone:
            parts.append("@everyone")
        if self.pings.here:
            parts.append("@here")
        return ", ".join(parts) + f" -> {len(self.pings.user_ids)} user(s)"


class Transcript:
    """The ordered list of entries, with query helpers and a way to wait for a new one."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._changed = asyncio.Event()

    def add(self, kind: str, actor: str, where: str, text: str, **extra: Any) -> Entry:
        """Append an entry and wake anyone waiting for one."""
        entry = Entry(seq=len(self.entries) + 1, kind=kind, actor=actor, where=where, text=text, **extra)
        self.entries.append(entry)
        log.debug("transcript: %s", entry.render())
        self._changed.set()
        return entry

    def render(self, entries: Iterable[Entry] | None = None) -> str:
        """Return the whole transcript (or the given entries) as text."""
        return "\n".join(e.render() for e in (self.entries if entries is None else entries))

    def __str__(self) -> str:
        return self.render()

    def __len__(self) -> int:
        return len(self.entries)

    def of_kind(self, *kinds: str) -> list[Entry]:
        """Return the entries of the given kinds, in order."""
        return [e for e in self.entries if e.kind in kinds]

    def messages(self, channel_id: int | None = None, *, include_ephemeral: bool = True) -> list[Entry]:
        """Return message entries, optionally for one channel."""
        return [
            e
            for e in self.entries
            if e.kind == MESSAGE
            and (channel_id is None or e.channel_id == channel_id)
            and (include_ephemeral or not e.ephemeral)
        ]

    def ephemeral_replies(self, user_id: int) -> list[Entry]:
        """Return the ephemeral messages only the given user saw."""
        return [e for e in self.entries if e.kind in (MESSAGE, EDIT) and e.ephemeral and e.to_user_id == user_id]

    def dms(self, user_id: int | None = None) -> list[Entry]:
        """Return messages posted in DM channels, optionally to one user."""
        return [
            e
            for e in self.entries
            if e.kind == MESSAGE and e.where.startswith("DM") and (user_id is None or e.to_user_id == user_id)
        ]

    def pings(self) -> list[Entry]:
        """Return the message entries that pinged someone."""
        return [e for e in self.entries if e.kind in (MESSAGE, EDIT) and e.pings]

    def last(self, kind: str | None = None) -> Entry | None:
        """Return the most recent entry, optionally of one kind."""
        for entry in reversed(self.entries):
            if kind is None or entry.kind == kind:
                return entry
        return None

    async def wait_for(self, predicate: Callable[[Entry], bool], *, timeout: float = 5.0, start: int = 0) -> Entry:
        """Wait until an entry at or after index `start` matches, and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            while index < len(self.entries):
                if predicate(self.entries[index]):
                    return self.entries[index]
                index += 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no matching transcript entry within {timeout} s; transcript:\n{self.render()}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue


def describe_message(content: str, embeds: list[dict[str, Any]], components: list[dict[str, Any]]) -> str:
    """Return a readable one-block summary of a message's content, embeds and components."""
    parts: list[str] = []
    if content:
        parts.append(repr(content) if len(content) <= 300 else repr(content[:300]) + f"... ({len(content)} chars)")
    for embed in embeds:
        parts.append(_describe_embed(embed))
    rows = [_describe_component(c) for c in components]
    parts.extend(r for r in rows if r)
    return "\n".join(parts) if parts else "(empty)"


def _describe_embed(embed: dict[str, Any]) -> str:
    bits = []
    if embed.get("title"):
        bits.append(f"title={embed['title']!r}")
    if embed.get("description"):
        text = str(embed["description"])
        bits.append(f"description={text[:200]!r}" + ("..." if len(text) > 200 else ""))
    for fld in embed.get("fields", []):
        bits.append(f"field {fld.get('name')!r}={str(fld.get('value'))[:100]!r}")
    if (embed.get("footer") or {}).get("text"):
        bits.append(f"footer={embed['footer']['text']!r}")
    return "[embed " + "; ".join(bits) + "]"


def _describe_component(component: dict[str, Any]) -> str:
    kind = component.get("type")
    if kind == 1:
        return " ".join(filter(None, (_describe_component(c) for c in component.get("components", []))))
    if kind == 2:
        style = _BUTTON_STYLES.get(component.get("style", 0), "?")
        disabled = " disabled" if component.get("disabled") else ""
        target = component.get("custom_id") or component.get("url") or ""
        return f"[button {component.get('label')!r} {style}{disabled} {target}]"
    if kind in (3, 5, 6, 7, 8):
        options = "|".join(str(o.get("label")) for o in component.get("options", []))
        return f"[select {component.get('custom_id')} {options}]".replace(" ]", "]")
    if kind == 4:
        return f"[text input {component.get('label')!r} {component.get('custom_id')}]"
    if kind == 10:
        return f"[text {component.get('content')!r}]"
    if kind == 18:
        return f"[label {component.get('label')!r}: " + _describe_component(component.get("component", {})) + "]"
    inner = [_describe_component(c) for c in component.get("components", [])]
    if component.get("accessory"):
        inner.append(_describe_component(component["accessory"]))
    return f"[component type {kind}" + (" " + " ".join(filter(None, inner)) if inner else "") + "]"


def describe_components(components: list[dict[str, Any]]) -> str:
    """Return a readable summary of a component list (used for modals)."""
    return " ".join(filter(None, (_describe_component(c) for c in components)))
