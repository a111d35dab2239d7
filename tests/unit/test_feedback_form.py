"""Reading a submitted feedback form from the raw payload, as after a restart, without the modal that drew it."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInputError
from bot.services.participation.feedback import feedback_columns
from cogs.participation._buttons import submitted_answers


def labelled(custom_id: str, values: list[str]) -> dict[str, object]:
    return {"type": 18, "id": 1, "component": {"type": 3, "id": 2, "custom_id": custom_id, "values": values}}


def test_answers_are_read_from_labels_and_rows_and_unanswered_questions_are_none() -> None:
    components = [
        labelled("fb:helpful", ["5"]),
        {"type": 1, "components": [{"type": 3, "custom_id": "fb:again", "values": ["maybe"]}]},
        labelled("fb:plan", []),
    ]
    assert submitted_answers(components) == {"helpful": "5", "plan": None, "heard": None, "again": "maybe"}
    assert feedback_columns(submitted_answers(components)) == ["fb_helpful_5", "fb_again_maybe"]


def test_a_form_of_an_older_version_is_refused_as_out_of_date() -> None:
    with pytest.raises(InvalidInputError, match="out of date"):
        feedback_columns(submitted_answers([labelled("fb:mood", ["good"])]))


def test_an_answer_that_is_not_a_choice_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="isn't one of the choices"):
        feedback_columns(submitted_answers([labelled("fb:helpful", ["11"])]))
