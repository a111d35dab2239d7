"""Who counts as attending one meeting: enough time in voice, a post in the meeting's thread, or a check-in."""

from __future__ import annotations

import json
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.pseudonyms import is_meeting_token

# The default: ten minutes in the meeting's voice or stage channel, summed over rejoins.
DEFAULT_MIN_VOICE = timedelta(minutes=10)

# Bumped when the saved state changes shape; from_json refuses other versions rather than guess.
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class VoiceJoined:
    """The member entered the meeting's voice or stage channel."""

    member: str
    at: datetime


@dataclass(frozen=True, slots=True)
class VoiceLeft:
    """The member left the meeting's voice or stage channel (or moved to another channel)."""

    member: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MessagePosted:
    """The member posted in the meeting's thread or channel; only the author is known, never the text."""

    member: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CheckedIn:
    """The member pressed the meeting's "I'm here" button."""

    member: str
    at: datetime


AttendanceEvent = VoiceJoined | VoiceLeft | MessagePosted | CheckedIn


@dataclass(slots=True)
class _Voice:
    """One member's voice sessions: the closed ones in order, the open one's start, the last accepted event."""

    # Sessions rather than a running sum, so counted(at) is exact for any `at` and time after the end never counts.
    sessions: list[tuple[datetime, datetime]]
    since: datetime | None
    last: datetime


class AttendanceTracker:
    """Count one meeting's attendees from voice, post and check-in events keyed by opaque member keys.

    Member keys are whatever the caller passes (a period pseudonym, or a meeting token for an opted-out member); the
    tracker never sees a Discord id. Voice events are idempotent: a join while joined and a leave while not joined
    are ignored, and so are stale ones (a join at or before the member's last accepted voice event, a leave before
    the open session began), so replaying events after a restart or a gateway resume never adds time twice.
    """

    __slots__ = ("_checked_in", "_min_voice", "_posted", "_voice")

    def __init__(self, min_voice: timedelta = DEFAULT_MIN_VOICE) -> None:
        if min_voice <= timedelta(0):
            raise ValueError("the voice threshold must be a positive duration")
        self._min_voice = min_voice
        self._voice: dict[str, _Voice] = {}
        # Earliest post and check-in per member, so counted(at) answers "as of `at`" for every rule alike.
        self._posted: dict[str, datetime] = {}
        self._checked_in: dict[str, datetime] = {}

    def __repr__(self) -> str:
        # Counts only: member keys are pseudonyms and have no business in a log line.
        return (
            f"AttendanceTracker(min_voice={self._min_voice}, in_voice={len(self.in_voice)}, "
            f"posted={len(self._posted)}, checked_in={len(self._checked_in)})"
        )

    @property
    def min_voice(self) -> timedelta:
        """The total voice time that makes a member count."""
        return self._min_voice

    @property
    def in_voice(self) -> frozenset[str]:
        """The members whose voice session is open."""
        return frozenset(member for member, voice in self._voice.items() if voice.since is not None)

    @property
    def checked_in(self) -> frozenset[str]:
        """The members who pressed check-in."""
        return frozenset(self._checked_in)

    @property
    def posted(self) -> frozenset[str]:
        """The members who posted in the meeting's thread or channel."""
        return frozenset(self._posted)

    def record(self, event: AttendanceEvent) -> None:
        """Apply one event; voice replays and out-of-date voice events are ignored."""
        at = _utc(event.at)
        match event:
            case VoiceJoined(member=member):
                self._join(member, at)
            case VoiceLeft(member=member):
                self._leave(member, at)
            case MessagePosted(member=member):
                _keep_earliest(self._posted, member, at)
            case CheckedIn(member=member):
                _keep_earliest(self._checked_in, member, at)

    def sync_voice(self, present: Iterable[str], at: datetime) -> None:
        """Reconcile with the members seen in the channel at `at` (after a restart or resume): join new, leave gone."""
        at = _utc(at)
        seen = set(present)
        for member in sorted(seen):
            self._join(member, at)
        for member in sorted(self.in_voice - seen):
            self._leave(member, at)

    def voice_time(self, member: str, at: datetime) -> timedelta:
        """Return the member's voice time up to `at`, an open session counting until `at`."""
        voice = self._voice.get(member)
        if voice is None:
            return timedelta(0)
        at = _utc(at)
        sessions = voice.sessions if voice.since is None else [*voice.sessions, (voice.since, at)]
        return sum((min(end, at) - start for start, end in sessions if start < at), timedelta(0))

    def counted(self, at: datetime) -> set[str]:
        """Return every member who counts as attending by `at`; call it with the meeting's end for the final count."""
        at = _utc(at)
        result = {member for member, first in self._posted.items() if first <= at}
        result.update(member for member, first in self._checked_in.items() if first <= at)
        result.update(member for member in self._voice if self.voice_time(member, at) >= self._min_voice)
        return result

    def to_json(self) -> str:
        """Serialise the running state (member keys and their voice sessions) so a restart can resume it."""
        state = {
            "version": STATE_VERSION,
            "min_voice_us": _microseconds(self._min_voice),
            "voice": {
                member: {
                    "sessions": [[start.isoformat(), end.isoformat()] for start, end in voice.sessions],
                    "since": None if voice.since is None else voice.since.isoformat(),
                    "last": voice.last.isoformat(),
                }
                for member, voice in sorted(self._voice.items())
            },
            "posted": {member: at.isoformat() for member, at in sorted(self._posted.items())},
            "checked_in": {member: at.isoformat() for member, at in sorted(self._checked_in.items())},
        }
        return json.dumps(state, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AttendanceTracker:
        """Rebuild a tracker from to_json output, refusing anything malformed or of another version."""
        try:
            state = json.loads(text)
            if state["version"] != STATE_VERSION:
                raise ValueError(f"version {state['version']!r}, expected {STATE_VERSION}")
            tracker = cls(timedelta(microseconds=_int(state["min_voice_us"])))
            for member, voice in _items(state["voice"]):
                since = voice["since"]
                tracker._voice[member] = _Voice(
                    sessions=[_parse_session(session) for session in voice["sessions"]],
                    since=None if since is None else _parse_time(since),
                    last=_parse_time(voice["last"]),
                )
            for member, at in _items(state["posted"]):
                tracker._posted[member] = _parse_time(at)
            for member, at in _items(state["checked_in"]):
                tracker._checked_in[member] = _parse_time(at)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # The message names the problem, never the state: it holds pseudonyms.
            raise ValueError(f"not a saved attendance state ({type(exc).__name__}: {_describe(exc)})") from None
        return tracker

    def _join(self, member: str, at: datetime) -> None:
        voice = self._voice.get(member)
        if voice is None:
            self._voice[member] = _Voice(sessions=[], since=at, last=at)
        elif voice.since is None and at > voice.last:
            # Strictly later than the last leave: an equal or older join is a replay of one already counted.
            voice.since = voice.last = at

    def _leave(self, member: str, at: datetime) -> None:
        voice = self._voice.get(member)
        if voice is None or voice.since is None or at < voice.since:
            return
        voice.sessions.append((voice.since, at))
        voice.since = None
        voice.last = at


@dataclass(frozen=True, slots=True)
class AttendanceSplit:
    """One meeting's attendees split into new and returning pseudonyms and a count of unlinked (opted-out) members."""

    new: frozenset[str]
    returning: frozenset[str]
    unlinked: int

    @property
    def attendees(self) -> int:
        """Everyone counted: new, returning and unlinked."""
        return len(self.new) + len(self.returning) + self.unlinked


def classify_attendance(attending: Iterable[str], seen_before: Set[str]) -> AttendanceSplit:
    """Split attendees into new and returning (seen earlier in the same period); meeting tokens count as unlinked.

    Only `new | returning` may be written as attendance marks; unlinked members appear in the headcount alone.
    """
    linked: set[str] = set()
    unlinked = 0
    for member in set(attending):
        if is_meeting_token(member):
            unlinked += 1
        else:
            linked.add(member)
    return AttendanceSplit(
        new=frozenset(linked - seen_before), returning=frozenset(linked & seen_before), unlinked=unlinked
    )


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("attendance times must be timezone-aware")
    return at.astimezone(UTC)


def _keep_earliest(firsts: dict[str, datetime], member: str, at: datetime) -> None:
    known = firsts.get(member)
    if known is None or at < known:
        firsts[member] = at


def _microseconds(delta: timedelta) -> int:
    # Whole microseconds survive the JSON round trip exactly; float seconds would not.
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value


def _items(value: Any) -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return list(value.items())


def _parse_session(value: Any) -> tuple[datetime, datetime]:
    if not isinstance(value, list) or len(value) != 2:
        raise TypeError("expected a [start, end] pair")
    start, end = _parse_time(value[0]), _parse_time(value[1])
    if end < start:
        raise ValueError("a session ends before it starts")
    return start, end


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("expected a timestamp string")
    return _utc(datetime.fromisoformat(value))


def _describe(exc: Exception) -> str:
    # KeyError's text is the missing key, a fixed field name here; other errors carry our own messages.
    return str(exc) if not isinstance(exc, KeyError) else f"missing {exc.args[0]!r}"
