"""Text helpers: split long text to fit Discord's limits, count things in words, and normalise text for matching."""

from __future__ import annotations

import re

MESSAGE_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, preferring paragraph, line and word breaks."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 4:
                break
        if cut <= 0:
            # No natural break in a long run of characters: hard-split rather than drop text.
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return [piece for piece in pieces if piece] or [""]


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """Return `count` with the noun in the right number: "1 duty", "8 duties", "0 meetings"."""
    if count == 1:
        return f"{count} {singular}"
    if plural_form is None:
        # English "-y after a consonant" words (duty, activity) take "-ies"; everything else here takes "-s".
        ies = singular.endswith("y") and singular[-2:-1] not in ("", *"aeiou")
        plural_form = f"{singular[:-1]}ies" if ies else f"{singular}s"
    return f"{count} {plural_form}"


def normalise(text: str) -> str:
    """Return text lower-cased with punctuation turned into single spaces, for matching."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.casefold()).split())
