"""The named states store the very strings the database has always held (no migration needed)."""

from bot.domain.states import AlertState, DutyStatus, OccurrenceState, OutboxState


def test_stored_values_are_unchanged() -> None:
    assert [str(s) for s in OccurrenceState] == [
        "scheduled",
        "running",
        "completed",
        "cancelled",
        "missed",
        "superseded",
    ]
    assert [str(s) for s in OutboxState] == ["pending", "sending", "sent", "failed"]
    assert [str(s) for s in DutyStatus] == ["planned", "confirmed", "open"]
    assert [str(s) for s in AlertState] == ["open", "taken"]


def test_a_state_reads_back_from_its_stored_string() -> None:
    assert OccurrenceState("running") is OccurrenceState.RUNNING
    assert f"**{OccurrenceState.CANCELLED}**" == "**cancelled**"  # how /meeting list shows it
