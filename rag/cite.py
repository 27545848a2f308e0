"""Number cited sources 1..N in order of first use and write the answer text with `[n]` markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.types import Citation


@dataclass(frozen=True)
class Quote:
    """A sentence chosen for the answer, before numbering."""

    doc_id: str
    source: str
    title: str
    quote: str
    start: int
    end: int
    score: float


def cite(quotes: list[Quote]) -> tuple[str, tuple[Citation, ...]]:
    """Return the answer text and its citations; quotes from one document share a number."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for q in quotes:
        n = numbers.setdefault(q.doc_id, len(numbers) + 1)
        citations.append(Citation(n, q.doc_id, q.source, q.title, q.quote, q.start, q.end, q.score))
        parts.append(f"{display(q.quote)} [{n}]")
    return " ".join(parts), tuple(citations)


def display(quote: str) -> str:
    """A quote on one line: line breaks inside a sentence become spaces."""
    return re.sub(r"\s+", " ", quote).strip()
