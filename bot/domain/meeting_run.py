"""The running meeting as a pure state machine: phases, timers, pause and extension."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.domain.meeting_format import PhaseSpec
from bot.errors import ConflictError

EXTEND_MINUTES = 5


@dataclass(frozen=True)
class PhaseTiming:
    """When a phase actually ran."""

    key: str
    started: datetime
    ended: datetime | None = None

    def to_json(self) -> dict[str, str | None]:
        """Return the timing as JSON-ready strings."""
        return {
            "key": self.key,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> PhaseTiming:
        """Read a timing written by `to_json`."""
        started, ended = data["started"], data.get("ended")
        assert started is not None  # noqa: S101 - written by to_json
        return cls(str(data["key"]), datetime.fromisoformat(started), datetime.fromisoformat(ended) if ended else None)


@dataclass(frozen=True)
class RunState:
    """Where a running meeting is: the phase, its deadline (None while paused) and the timings so far."""

    phases: tuple[PhaseSpec, ...]
    index: int
    deadline: datetime | None
    paused_remaining: timedelta | None = None
    nudged: bool = False
    timings: tuple[PhaseTiming, ...] = field(default_factory=tuple)

    @property
    def phase(self) -> PhaseSpec:
        """Return the current phase."""
        return self.phases[self.index]

    @property
    def is_last(self) -> bool:
        """Return whether the current phase is the last one."""
        return self.index == len(self.phases) - 1

    @property
    def paused(self) -> bool:
        """Return whether the phase timer is paused."""
        return self.paused_remaining is not None

    def nudge_at(self) -> datetime | None:
        """Return when the facilitator should be told time is nearly up, if still to come."""
        if self.deadline is None or self.nudged or self.phase.nudge_minutes_before == 0:
            return None
        when = self.deadline - timedelta(minutes=self.phase.nudge_minutes_before)
        # A phase no longer than the warning would be "nearly up" the moment it opens: no nudge for it.
        opened = self.timings[-1].started if self.timings else None
        if opened is not None and when <= opened:
            return None
        return when


def begin(phases: list[PhaseSpec], now: datetime) -> RunState:
    """Start the first phase at `now`."""
    first = phases[0]
    return RunState(
        phases=tuple(phases),
        index=0,
        deadline=now + timedelta(minutes=first.minutes),
        timings=(PhaseTiming(first.key, now),),
    )


def advance(state: RunState, now: datetime) -> RunState:
    """Close the current phase and open the next one."""
    if state.is_last:
        raise ConflictError("This is already the last phase: use End meeting to close it.")
    timings = (*state.timings[:-1], replace(state.timings[-1], ended=now))
    nxt = state.phases[state.index + 1]
    return RunState(
        phases=state.phases,
        index=state.index + 1,
        deadline=now + timedelta(minutes=nxt.minutes),
        timings=(*timings, PhaseTiming(nxt.key, now)),
    )


def finish(state: RunState, now: datetime) -> RunState:
    """Close the current phase; the meeting is over."""
    timings = (*state.timings[:-1], replace(state.timings[-1], ended=now))
    return replace(state, deadline=None, paused_remaining=None, timings=timings)


def extend(state: RunState, minutes: int = EXTEND_MINUTES) -> RunState:
    """Give the current phase more time."""
    if state.paused_remaining is not None:
        return replace(state, paused_remaining=state.paused_remaining + timedelta(minutes=minutes))
    assert state.deadline is not None  # noqa: S101 - a running phase always has one
    return replace(state, deadline=state.deadline + timedelta(minutes=minutes), nudged=False)


def pause(state: RunState, now: datetime) -> RunState:
    """Stop the phase timer, keeping the time left."""
    if state.paused_remaining is not None:
        raise ConflictError("The timer is already paused.")
    assert state.deadline is not None  # noqa: S101 - a running phase always has one
    return replace(state, deadline=None, paused_remaining=max(state.deadline - now, timedelta()))


def resume(state: RunState, now: datetime) -> RunState:
    """Restart the phase timer with the time that was left."""
    if state.paused_remaining is None:
        raise ConflictError("The timer is not paused.")
    return replace(state, deadline=now + state.paused_remaining, paused_remaining=None)
