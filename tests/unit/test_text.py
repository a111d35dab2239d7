from hypothesis import given, strategies as st

from bot.domain.text import split_text


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
