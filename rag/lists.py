"""Lists announced by one sentence and given by the next ones.

"Zhou Rui proposed three measures in response." answers "What did Zhou Rui propose?" only together
with the sentences that follow it ("His first measure is ...", "His second ..."). A sentence
announces a list when it ends on a count and a plural noun ("three measures in response"), on
"the following" / "as follows", or on a colon, and does not give the items itself.
"""

from __future__ import annotations

import re

from index.sentences import sentence_spans

_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_VAGUE = ("several", "a few", "a number of", "some key", "these", "the following")
_COUNTED = re.compile(
    r"(?<!\bin )(?<!\bfor )(?<!\bover )(?<!\bwithin )(?<!\bafter )(?<!\bpast )(?<!\blast )(?<!\bnext )"
    r"\b(?P<count>" + "|".join([*_COUNTS, *_VAGUE, r"[2-9]"]) + r")\s+(?:[a-z][\w-]*\s+){0,2}?"
    r"(?!(?:years|months|weeks|days|hours|minutes|decades|times|percent|points|dollars)\b)[a-z][\w-]*s\b"
)
_OPEN_ENDED = re.compile(r"(\bthe following\b|\bas follows\b|:)[\s.\"')\]]*$", re.IGNORECASE)
_LAST_WORDS = 6  # the count must sit this close to the sentence's end: "proposed three measures in response."
MAX_ITEMS = 6
_MAX_CHARS = 1200
_UNCOUNTED_ITEMS = 3


def announced_count(sentence: str) -> int | None:
    """How many items `sentence` announces (3 for "... three measures in response."), 0 when it
    announces a list of no stated length, None when it announces none or states the items itself."""
    text = sentence.strip()
    if _OPEN_ENDED.search(text):
        return 0
    _, colon, tail = text.partition(":")
    if colon and len(tail.split()) >= 3:
        return None  # "two models of its own: A and B." gives them itself
    words = text.split()
    ending = " ".join(words[-_LAST_WORDS:])
    matches = list(_COUNTED.finditer(ending))
    if not matches:
        return None
    match = matches[-1]
    count = match.group("count").lower()
    return min(_COUNTS.get(count) or (int(count) if count.isdigit() else 0), MAX_ITEMS)


def list_items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the sentences of `text` after the sentence at `start:end` that give the list it
    announces: as many as it counts (at most `MAX_ITEMS`), or a few for "the following"; never
    past a heading. Empty when the sentence announces no list."""
    count = announced_count(text[start:end])
    if count is None:
        return []
    wanted = count or _UNCOUNTED_ITEMS
    window = text[end : end + _MAX_CHARS]
    items: list[tuple[int, int]] = []
    for s, e in sentence_spans(window):
        piece = window[s:e]
        if piece.lstrip().startswith("#") or len(items) == wanted:
            break
        items.append((end + s, end + e))
    return items
