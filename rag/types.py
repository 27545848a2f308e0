"""What `rag/` hands to the UI, the CLI and the evals: passages, citations and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

REFUSAL_TEXT = "I could not find this in the indexed documents."


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk; `text == document_text[start:end]`."""

    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str
    sentences: tuple[tuple[int, int], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("sentences")
        return d


@dataclass(frozen=True)
class Citation:
    """Source `n` (numbered from 1 in order of first use) and the sentence quoted from it.

    `quote == document_text[start:end]`, where the document text is what `rag` extracted (for a
    `.txt` or `.md` file, the file's own text).
    """

    n: int
    doc_id: str
    source: str
    title: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer: its text with `[n]` markers, its citations, or a refusal."""

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    resolved_question: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape printed by `rag ask --json`."""
        return {
            "question": self.question,
            "resolved_question": self.resolved_question,
            "text": self.text,
            "refused": self.refused,
            "confidence": round(self.confidence, 4),
            "citations": [asdict(c) for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
        }
