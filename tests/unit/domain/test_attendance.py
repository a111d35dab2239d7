"""Attendance counting: the voice threshold, posts, check-ins, idempotent replays and a state that survives restarts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from bot.domain.attendance import (
    AttendanceEvent,
    AttendanceTracker,
    CheckedIn,
    MessagePosted,
    VoiceJoined,
    VoiceLeft,
    classify_attendance,
)
from bot.domain.pseudonyms import evaluation_period, meeting_token, pseudonym

START = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
MEETING = timedelta(minutes=90)
MEMBERS = [f"{index:064x}" for index in range(1, 6)]
ZONES = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=13))]

fast = settings(deadline=None, max_examples=120)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def replay(events: list[AttendanceEvent], tracker: AttendanceTracker | None = None) -> AttendanceTracker:
    tracker = tracker or AttendanceTracker()
    for event in events:
        tracker.record(event)
    return tracker


# Fixed examples: the rules as the issue states them.


@pytest.mark.parametrize(("minutes", "counts"), [(9, False), (9.99, False), (10, True), (45, True)])
def test_voice_threshold(minutes: float, counts: bool) -> None:
    tracker = replay([VoiceJoined("a", at(0)), VoiceLeft("a", at(minutes))])
    assert ("a" in tracker.counted(at(90))) is counts


def test_voice_time_is_summed_over_rejoins() -> None:
    sessions = [(0, 4), (20, 23), (40, 43)]
    events: list[AttendanceEvent] = []
    for join, leave in sessions:
        events += [VoiceJoined("a", at(join)), VoiceLeft("a", at(leave))]
    tracker = replay(events)
    assert tracker.voice_time("a", at(90)) == timedelta(minutes=10)
    assert tracker.counted(at(90)) == {"a"}
    assert tracker.counted(at(42)) == set()
    assert tracker.counted(at(43)) == {"a"}
    short = replay(events[:-1] + [VoiceLeft("a", at(42))])
    assert short.counted(at(90)) == set()


def test_a_member_still_in_voice_counts_up_to_the_end() -> None:
    tracker = replay([VoiceJoined("a", at(85))])
    assert "a" not in tracker.counted(at(94))
    assert "a" in tracker.counted(at(95))
    assert tracker.voice_time("a", at(80)) == timedelta(0)


def test_posts_and_check_ins_count_without_voice() -> None:
    tracker = replay([MessagePosted("p", at(5)), CheckedIn("c", at(6)), VoiceJoined("v", at(0))])
    assert tracker.counted(at(7)) == {"p", "c"}
    assert tracker.counted(at(4)) == set()
    assert tracker.posted == {"p"}
    assert tracker.checked_in == {"c"}


def test_one_count_per_member_however_many_signals() -> None:
    events: list[AttendanceEvent] = [
        VoiceJoined("a", at(0)),
        MessagePosted("a", at(1)),
        MessagePosted("a", at(2)),
        CheckedIn("a", at(3)),
        CheckedIn("a", at(3)),
        VoiceLeft("a", at(30)),
    ]
    tracker = replay(events)
    assert tracker.counted(at(90)) == {"a"}
    assert classify_attendance(tracker.counted(at(90)), set()).attendees == 1


def test_replayed_voice_events_add_no_time() -> None:
    join, leave = VoiceJoined("a", at(0)), VoiceLeft("a", at(6))
    tracker = replay([join, join, leave, leave, join, leave])
    assert tracker.voice_time("a", at(90)) == timedelta(minutes=6)
    # A stale leave arriving after a rejoin must not close the new session either.
    tracker = replay([join, leave, VoiceJoined("a", at(20)), leave])
    assert tracker.in_voice == {"a"}
    assert tracker.voice_time("a", at(25)) == timedelta(minutes=11)


def test_sync_voice_joins_the_present_and_leaves_the_gone() -> None:
    tracker = replay([VoiceJoined("a", at(0)), VoiceJoined("b", at(0))])
    tracker.sync_voice({"b", "c"}, at(5))
    assert tracker.in_voice == {"b", "c"}
    assert tracker.voice_time("a", at(90)) == timedelta(minutes=5)
    assert tracker.voice_time("b", at(10)) == timedelta(minutes=10)
    assert tracker.voice_time("c", at(10)) == timedelta(minutes=5)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AttendanceTracker().record(VoiceJoined("a", datetime(2026, 3, 2, 19, 0)))


def test_repr_shows_no_member_keys() -> None:
    tracker = replay([VoiceJoined(MEMBERS[0], at(0)), MessagePosted(MEMBERS[1], at(1))])
    assert MEMBERS[0] not in repr(tracker)
    assert MEMBERS[1] not in repr(tracker)


LAST = "2026-03-02T19:10Z"


def _state(**changes: object) -> str:
    state: dict[str, object] = {"version": 1, "min_voice_us": 600_000_000, "voice": {}, "posted": {}, "checked_in": {}}
    return json.dumps(state | changes)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        _state(version=2),
        _state(min_voice_us=0),
        _state(min_voice_us=True),
        _state(voice=[]),
        _state(posted={"a": "2026-03-02T19:00"}),
        _state(voice={"a": {"sessions": [["2026-03-02T19:10Z", "2026-03-02T19:00Z"]], "since": None, "last": LAST}}),
        _state(voice={"a": {"sessions": [["2026-03-02T19:10Z"]], "since": None, "last": LAST}}),
        _state(voice={"a": {"sessions": [], "since": None}}),
    ],
)
def test_malformed_state_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a saved attendance state"):
        AttendanceTracker.from_json(text)


def test_the_threshold_travels_with_the_state() -> None:
    tracker = AttendanceTracker(min_voice=timedelta(minutes=3))
    restored = AttendanceTracker.from_json(tracker.to_json())
    assert restored.min_voice == timedelta(minutes=3)
    assert json.loads(restored.to_json()) == json.loads(tracker.to_json())


# Random meetings: each member's true presence is a list of disjoint sessions; the events derived from it are
# delivered with duplicates and stale replays, in whatever time zone the caller happened to use.


@dataclass(frozen=True)
class Meeting:
    sessions: dict[str, list[tuple[int, int | None]]]  # seconds from the start; None: still in voice at the end
    posts: dict[str, int]
    check_ins: dict[str, int]
    events: list[AttendanceEvent]

    @property
    def end(self) -> datetime:
        return START + MEETING

    def true_voice(self, member: str) -> timedelta:
        end = int(MEETING.total_seconds())
        seconds = sum((leave if leave is not None else end) - join for join, leave in self.sessions[member])
        return timedelta(seconds=seconds)

    def expected(self, threshold: timedelta = timedelta(minutes=10)) -> set[str]:
        voice = {member for member in self.sessions if self.true_voice(member) >= threshold}
        return voice | set(self.posts) | set(self.check_ins)


@st.composite
def meetings(draw: st.DrawFn) -> Meeting:
    last_second = int(MEETING.total_seconds())
    sessions: dict[str, list[tuple[int, int | None]]] = {}
    timed: list[tuple[int, int, AttendanceEvent]] = []
    for rank, member in enumerate(draw(st.lists(st.sampled_from(MEMBERS), unique=True))):
        # Strictly increasing instants: joins and leaves alternate with real gaps between sessions.
        instants = sorted(draw(st.sets(st.integers(min_value=0, max_value=last_second - 1), max_size=8)))
        pairs: list[tuple[int, int | None]] = []
        for index in range(0, len(instants), 2):
            join = instants[index]
            leave = instants[index + 1] if index + 1 < len(instants) else None
            pairs.append((join, leave))
            timed.append((join, rank, VoiceJoined(member, START + timedelta(seconds=join))))
            if leave is not None:
                timed.append((leave, rank, VoiceLeft(member, START + timedelta(seconds=leave))))
        if pairs:
            sessions[member] = pairs
    posts = draw(st.dictionaries(st.sampled_from(MEMBERS), st.integers(min_value=0, max_value=last_second - 1)))
    check_ins = draw(st.dictionaries(st.sampled_from(MEMBERS), st.integers(min_value=0, max_value=last_second - 1)))
    for member, second in posts.items():
        timed.append((second, 99, MessagePosted(member, START + timedelta(seconds=second))))
    for member, second in check_ins.items():
        timed.append((second, 99, CheckedIn(member, START + timedelta(seconds=second))))
    events = [event for _, _, event in sorted(timed, key=lambda item: (item[0], item[1]))]
    # Replays: copies of earlier events delivered again later (a resumed gateway, a restart replaying its log).
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        if not events:
            break
        source = draw(st.integers(min_value=0, max_value=len(events) - 1))
        target = draw(st.integers(min_value=source + 1, max_value=len(events)))
        events.insert(target, events[source])
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=len(events), max_size=len(events)))
    events = [type(event)(event.member, event.at.astimezone(zone)) for event, zone in zip(events, zones, strict=True)]
    return Meeting(sessions, posts, check_ins, events)


@fast
@given(meetings())
def test_counting_matches_the_true_presence(meeting: Meeting) -> None:
    tracker = replay(meeting.events)
    for member in meeting.sessions:
        assert tracker.voice_time(member, meeting.end) == meeting.true_voice(member)
    assert tracker.counted(meeting.end) == meeting.expected()


@fast
@given(meetings(), st.integers(min_value=1, max_value=30))
def test_a_configured_threshold_is_applied(meeting: Meeting, minutes: int) -> None:
    threshold = timedelta(minutes=minutes)
    assert replay(meeting.events, AttendanceTracker(threshold)).counted(meeting.end) == meeting.expected(threshold)


@fast
@given(meetings(), st.data())
def test_state_survives_a_restart_mid_meeting(meeting: Meeting, data: st.DataObject) -> None:
    split = data.draw(st.integers(min_value=0, max_value=len(meeting.events)))
    straight = replay(meeting.events)
    before = replay(meeting.events[:split])
    restored = AttendanceTracker.from_json(before.to_json())
    assert restored.to_json() == before.to_json()
    resumed = replay(meeting.events[split:], restored)
    assert resumed.to_json() == straight.to_json()
    assert resumed.counted(meeting.end) == straight.counted(meeting.end) == meeting.expected()


@fast
@given(meetings(), st.data())
def test_replaying_everything_after_a_restart_changes_nothing(meeting: Meeting, data: st.DataObject) -> None:
    # A restart that replays the whole log from the start over a state saved at any point adds no time.
    split = data.draw(st.integers(min_value=0, max_value=len(meeting.events)))
    straight = replay(meeting.events)
    restored = AttendanceTracker.from_json(replay(meeting.events[:split]).to_json())
    assert replay(meeting.events, restored).to_json() == straight.to_json()


# New, returning and unlinked.

KEY = bytes(range(32))
USER_IDS = st.integers(min_value=10**16, max_value=2**63)


@fast
@given(st.sets(USER_IDS, max_size=8), st.sets(USER_IDS, max_size=8), st.sets(USER_IDS, max_size=4))
def test_classification_splits_everyone_exactly_once(today: set[int], earlier: set[int], opted_out: set[int]) -> None:
    guild_id, period = 10**17, "2026"
    today -= opted_out
    attending = {pseudonym(KEY, guild_id, user, period) for user in today}
    attending |= {meeting_token(KEY, guild_id, user, 42) for user in opted_out}
    seen_before = {pseudonym(KEY, guild_id, user, period) for user in earlier}
    split = classify_attendance(attending, seen_before)
    assert split.attendees == len(today) + len(opted_out)
    assert split.unlinked == len(opted_out)
    assert split.new == {pseudonym(KEY, guild_id, user, period) for user in today - earlier}
    assert split.returning == {pseudonym(KEY, guild_id, user, period) for user in today & earlier}
    assert not split.new & split.returning


def test_a_new_period_makes_everyone_new() -> None:
    guild_id, user = 10**17, 10**18
    last_year = evaluation_period(datetime(2026, 12, 31, tzinfo=UTC).date())
    this_year = evaluation_period(datetime(2027, 1, 1, tzinfo=UTC).date())
    seen = {pseudonym(KEY, guild_id, user, last_year)}
    split = classify_attendance({pseudonym(KEY, guild_id, user, this_year)}, seen)
    assert len(split.new) == 1
    assert not split.returning
