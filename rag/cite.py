"""Number cited sources 1..N in order of first use and write the answer text with `[n]` markers."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.types import Citation


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
        parts.append(f"{display(q.quote)} [{n}]")
    return " ".join(parts), tuple(citations)


def display(quote: str) -> str:
    """A quote on one line: line breaks inside a sentence become spaces."""
    return re.sub(r"\s+", " ", quote).strip()
