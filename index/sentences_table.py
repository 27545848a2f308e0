"""The vectors of every document's sentences, embedded once at index time.

An answer quotes whole sentences, so the answerer compares the question with each sentence of the
retrieved passages. Embedding those sentences at question time was most of a warm question's cost;
here they are embedded with the chunks and stored beside them as `sentences.<gen>/`:

    vectors.npy   float32, one L2-normalised row per sentence (memory-mapped when opened)
    spans.npy     int64 (start, end) of each row's sentence in its document's text
    docs.npy      int32, each row's document (an index into doc_ids.json)
    doc_ids.json  the document ids

Indexes built before this file existed load with an empty table; their sentences are embedded when
asked for, as before, and the next `rag index` run over their files stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

Span = tuple[int, int]


class SentenceTable:
    """Sentence vectors by document and span."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._docs: dict[str, tuple[dict[Span, int], np.ndarray]] = {}

    def __len__(self) -> int:
        return sum(len(rows) for rows, _ in self._docs.values())

    def __contains__(self, doc_id: object) -> bool:
        """Whether the document's sentence vectors are stored."""
        return doc_id in self._docs

    def add(self, doc_id: str, spans: Sequence[Span], vectors: np.ndarray) -> None:
        """Store (or replace) a document's sentence vectors, one row per span."""
        if len(spans) != len(vectors):
            raise ValueError(f"{len(spans)} sentence spans but {len(vectors)} vectors")
        rows = {(int(s), int(e)): i for i, (s, e) in enumerate(spans)}
        self._docs[doc_id] = (rows, np.asarray(vectors, dtype=np.float32).reshape(len(spans), self.dimension))

    def of(self, doc_id: str) -> tuple[list[Span], np.ndarray] | None:
        """A document's sentence spans and vectors, in span order; None when none are stored."""
        stored = self._docs.get(doc_id)
        if stored is None:
            return None
        rows, vectors = stored
        spans = sorted(rows)
        return spans, np.asarray(vectors, dtype=np.float32)[[rows[s] for s in spans]].reshape(
            len(spans), self.dimension
        )

    def remove(self, doc_id: str) -> None:
        self._docs.pop(doc_id, None)

    def lookup(self, keys: Iterable[tuple[str, int, int]]) -> list[np.ndarray | None]:
        """The vector of each `(doc_id, start, end)` sentence, or None where none is stored."""
        out: list[np.ndarray | None] = []
        for doc_id, start, end in keys:
            stored = self._docs.get(doc_id)
            row = stored[0].get((start, end)) if stored else None
            out.append(
                None if stored is None or row is None else np.asarray(stored[1][row], dtype=np.float32)
            )
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        doc_ids = sorted(self._docs)
        spans: list[Span] = []
        docs: list[int] = []
        blocks: list[np.ndarray] = []
        for i, doc_id in enumerate(doc_ids):
            rows, vectors = self._docs[doc_id]
            order = sorted(rows, key=rows.__getitem__)
            spans += order
            docs += [i] * len(order)
            blocks.append(np.asarray(vectors)[[rows[s] for s in order]])
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, self.dimension), np.float32)
        np.save(folder / "vectors.npy", matrix.astype(np.float32, copy=False))
        np.save(folder / "spans.npy", np.asarray(spans, dtype=np.int64).reshape(-1, 2))
        np.save(folder / "docs.npy", np.asarray(docs, dtype=np.int32))
        (folder / "doc_ids.json").write_text(json.dumps(doc_ids, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, dimension: int) -> SentenceTable:
        table = cls(dimension)
        doc_ids = json.loads((folder / "doc_ids.json").read_text(encoding="utf-8"))
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        spans = np.load(folder / "spans.npy")
        docs = np.load(folder / "docs.npy")
        if vectors.shape != (len(spans), dimension) or len(docs) != len(spans):
            raise ValueError(
                f"sentence table of shape {vectors.shape} for {len(spans)} spans of dimension {dimension}"
            )
        bounds = np.searchsorted(docs, np.arange(len(doc_ids) + 1))  # rows are grouped by document
        for i, doc_id in enumerate(doc_ids):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            rows = {(int(s), int(e)): r for r, (s, e) in enumerate(spans[lo:hi].tolist())}
            table._docs[doc_id] = (rows, vectors[lo:hi])
        return table
