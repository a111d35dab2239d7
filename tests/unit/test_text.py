import re
import tokenize
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from bot.domain.text import plural, split_text


@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=6000), st.integers(min_value=20, max_value=2000))
def test_pieces_fit_and_keep_every_word(text, limit):
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert "".join(text.split()) == "".join("".join(pieces).split())


def test_prefers_paragraph_breaks():
    text = "a" * 1500 + "\n\n" + "b" * 1500
    assert split_text(text) == ["a" * 1500, "b" * 1500]


def test_short_text_is_one_piece():
    assert split_text("hello") == ["hello"]


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "duty", "1 duty"),
        (8, "duty", "8 duties"),
        (0, "duty", "0 duties"),
        (1, "week", "1 week"),
        (2, "week", "2 weeks"),
        (3, "upcoming meeting", "3 upcoming meetings"),
        (2, "day", "2 days"),  # a vowel before the y: just an s
    ],
)
def test_plural_writes_the_noun_in_the_right_number(count, noun, expected):
    assert plural(count, noun) == expected


def test_plural_takes_an_irregular_form():
    assert plural(2, "person", "people") == "2 people"
    assert plural(1, "person", "people") == "1 person"


def test_no_user_facing_text_hedges_a_plural():
    """Messages say "1 duty" and "8 duties", never "duty(ies)" or "week(s)" (log lines are for operators)."""
    hedged = re.compile(r"[a-z]\((s|es|ies)\)")
    root = Path(__file__).resolve().parents[2]
    found = []
    for path in sorted([*(root / "bot").rglob("*.py"), *(root / "cogs").rglob("*.py")]):
        before: list[str] = []
        with path.open("rb") as handle:
            for token in tokenize.tokenize(handle.readline):
                if token.type == tokenize.STRING and hedged.search(token.string):
                    # A string right after `log.<level>(` is a log line, not user-facing.
                    if not (len(before) == 4 and before[0] == "log" and before[3] == "("):
                        found.append(f"{path.relative_to(root)}:{token.start[0]}")
                if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                    before = [*before[-3:], token.string]
    assert found == []
