"""The vectors of every document's sentences, embedded once at index time.

An answer quotes whole sentences, so the answerer compares the question with each sentence of the
retrieved passages. Embedding those sentences at question time was most of a warm question's cost;
here they are embedded with the chunks and stored beside them as `sentences.<gen>/`:

    vectors.npy   float32, one L2-normalised row per sentence (memory-mapped when opened)
    spans.npy     int64 (start, end) of each row's sentence in its document's text
    docs.npy      int32, each row's document (an index into doc_ids.json)
    doc_ids.json  the document ids

Opening reads only `docs.npy` and the document ids: a document's rows are looked up the first time
it is asked for, so a million-chunk index opens in well under a second. A save whose changes stay
under a tenth of the rows (`index.atomic.keeps_base`) links those four files from the generation before (no
copy) and writes only `changes/`: `gone.json` (documents of the base removed or replaced) and
`added/`, the added documents in the same four files. Past that, the whole table is written anew.

Indexes built before this file existed load with an empty table; their sentences are embedded when
asked for, as before, and the next `rag index` run over their files stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from index.atomic import keeps_base, link_or_copy

Span = tuple[int, int]


_FILES = ("vectors.npy", "spans.npy", "docs.npy", "doc_ids.json")
Stored = tuple[dict[Span, int], np.ndarray]  # a document's row of each span, and its vectors


class SentenceTable:
    """Sentence vectors by document and span."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._base_rows: dict[str, tuple[int, int]] = {}  # live documents of the base files: their rows
        self._spans = np.zeros((0, 2), np.int64)  # the base files' (memory-mapped)
        self._vectors = np.zeros((0, dimension), np.float32)
        self._base_folder: Path | None = None
        self._gone: set[str] = set()  # base documents removed or replaced since it was written
        self._gone_rows = 0
        self._added: dict[str, Stored] = {}
        self._read: dict[str, dict[Span, int]] = {}  # base documents asked for: span -> row

    def __len__(self) -> int:
        base = len(self._spans) - self._gone_rows
        return base + sum(len(rows) for rows, _ in self._added.values())

    def __contains__(self, doc_id: object) -> bool:
        """Whether the document's sentence vectors are stored."""
        return doc_id in self._added or doc_id in self._base_rows

    def _get(self, doc_id: str) -> Stored | None:
        if doc_id in self._added:
            return self._added[doc_id]
        where = self._base_rows.get(doc_id)
        if where is None:
            return None
        lo, hi = where
        if doc_id not in self._read:
            self._read[doc_id] = {(int(s), int(e)): r for r, (s, e) in enumerate(self._spans[lo:hi].tolist())}
        return self._read[doc_id], self._vectors[lo:hi]

    def add(self, doc_id: str, spans: Sequence[Span], vectors: np.ndarray) -> None:
        """Store (or replace) a document's sentence vectors, one row per span."""
        if len(spans) != len(vectors):
            raise ValueError(f"{len(spans)} sentence spans but {len(vectors)} vectors")
        self.remove(doc_id)
        rows = {(int(s), int(e)): i for i, (s, e) in enumerate(spans)}
        self._added[doc_id] = (
            rows,
            np.asarray(vectors, dtype=np.float32).reshape(len(spans), self.dimension),
        )

    def of(self, doc_id: str) -> tuple[list[Span], np.ndarray] | None:
        """A document's sentence spans and vectors, in span order; None when none are stored."""
        stored = self._get(doc_id)
        if stored is None:
            return None
        rows, vectors = stored
        spans = sorted(rows)
        return spans, np.asarray(vectors, dtype=np.float32)[[rows[s] for s in spans]].reshape(
            len(spans), self.dimension
        )

    def remove(self, doc_id: str) -> None:
        self._added.pop(doc_id, None)
        where = self._base_rows.pop(doc_id, None)
        if where is not None:
            self._gone.add(doc_id)
            self._gone_rows += where[1] - where[0]
            self._read.pop(doc_id, None)

    def lookup(self, keys: Iterable[tuple[str, int, int]]) -> list[np.ndarray | None]:
        """The vector of each `(doc_id, start, end)` sentence, or None where none is stored."""
        out: list[np.ndarray | None] = []
        for doc_id, start, end in keys:
            stored = self._get(doc_id)
            row = stored[0].get((start, end)) if stored else None
            out.append(
                None if stored is None or row is None else np.asarray(stored[1][row], dtype=np.float32)
            )
        return out

    # -- files ---------------------------------------------------------------------------------

    def save(self, folder: Path, compact: bool = False) -> None:
        """Write the table into `folder`: the base linked from before plus the changes when they
        are few (and not `compact`), else anew."""
        folder.mkdir(parents=True, exist_ok=True)
        added_rows = sum(len(rows) for rows, _ in self._added.values())
        base = self._base_folder
        if (
            not compact
            and base is not None
            and (base / _FILES[0]).exists()
            and keeps_base(self._gone_rows + added_rows, len(self._spans))
        ):
            for name in _FILES:
                link_or_copy(base / name, folder / name)
            changes = folder / "changes"
            changes.mkdir()
            (changes / "gone.json").write_text(
                json.dumps(sorted(self._gone), ensure_ascii=False), encoding="utf-8"
            )
            self._write(changes / "added", sorted(self._added), base=False)
            return
        self._write(folder, sorted([*self._added, *self._base_rows]), base=True)

    def _write(self, folder: Path, doc_ids: list[str], base: bool) -> None:
        """The four files of these documents (added ones, and with `base` the base's live ones)."""
        folder.mkdir(parents=True, exist_ok=True)
        spans: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        blocks: list[np.ndarray] = []
        for i, doc_id in enumerate(doc_ids):
            if doc_id in self._added:
                rows, vectors = self._added[doc_id]
                order = sorted(rows, key=rows.__getitem__)
                spans.append(np.asarray(order, dtype=np.int64).reshape(-1, 2))
                blocks.append(np.asarray(vectors)[[rows[s] for s in order]])
            elif base:  # as read: its rows are in span order already
                lo, hi = self._base_rows[doc_id]
                spans.append(self._spans[lo:hi])
                blocks.append(self._vectors[lo:hi])
            else:
                continue
            docs.append(np.full(len(spans[-1]), i, dtype=np.int32))
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, self.dimension), np.float32)
        np.save(folder / "vectors.npy", matrix.astype(np.float32, copy=False))
        np.save(folder / "spans.npy", np.concatenate(spans) if spans else np.zeros((0, 2), np.int64))
        np.save(folder / "docs.npy", np.concatenate(docs) if docs else np.zeros(0, np.int32))
        (folder / "doc_ids.json").write_text(json.dumps(doc_ids, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, dimension: int) -> SentenceTable:
        table = cls(dimension)
        doc_ids, spans, vectors, bounds = _read(folder, dimension)
        table._base_rows = {d: (bounds[i], bounds[i + 1]) for i, d in enumerate(doc_ids)}
        table._spans, table._vectors = spans, vectors
        table._base_folder = folder
        changes = folder / "changes"
        if changes.is_dir():
            for doc_id in json.loads((changes / "gone.json").read_text(encoding="utf-8")):
                table.remove(doc_id)
            doc_ids, spans, vectors, bounds = _read(changes / "added", dimension)
            for i, doc_id in enumerate(doc_ids):
                lo, hi = bounds[i], bounds[i + 1]
                table._added[doc_id] = (
                    {(int(s), int(e)): r for r, (s, e) in enumerate(spans[lo:hi].tolist())},
                    np.asarray(vectors[lo:hi]),
                )
        return table


def _read(folder: Path, dimension: int) -> tuple[list[str], np.ndarray, np.ndarray, list[int]]:
    """A folder's document ids, spans and vectors (memory-mapped), and where each document's rows start."""
    doc_ids = json.loads((folder / "doc_ids.json").read_text(encoding="utf-8"))
    vectors = np.load(folder / "vectors.npy", mmap_mode="r")
    spans = np.load(folder / "spans.npy", mmap_mode="r")
    docs = np.load(folder / "docs.npy")
    if vectors.shape != (len(spans), dimension) or len(docs) != len(spans):
        raise ValueError(
            f"sentence table of shape {vectors.shape} for {len(spans)} spans of dimension {dimension}"
        )
    bounds = np.searchsorted(docs, np.arange(len(doc_ids) + 1)).tolist()  # rows grouped by document
    return doc_ids, spans, vectors, bounds
