"""Citation markers: number sources 1..N in order of first use, write `[n]` after each quote, read them back."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.types import Citation

# A marker as a model may write one: [1], [2, 3], and malformed ones ([a], [], [1-2]) to be dropped.
MARKER = re.compile(r"\[([^\[\]]*)\]")
# The markers this project writes: [n], with the space before them.
_OWN_MARKER = re.compile(r"\s*\[\d+\]")


def cite(quotes: list[Citation]) -> tuple[str, tuple[Citation, ...]]:
    """Number `quotes` (their `n` is ignored) and return the answer text and the citations.

    Quotes from one document share a number; numbers follow the order of first use.
    """
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for q in quotes:
        n = numbers.setdefault(q.doc_id, len(numbers) + 1)
        citations.append(replace(q, n=n))
        parts.append(f"{one_line(q.quote)} [{n}]")
    return " ".join(parts), tuple(citations)


def strip_markers(text: str) -> str:
    """An answer's text without its `[n]` markers."""
    return _OWN_MARKER.sub("", text).strip()


def one_line(text: str) -> str:
    """`text` on one line: runs of white space, line breaks included, become one space."""
    return " ".join(text.split())
