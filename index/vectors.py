"""A folder index's chunk vectors: a base FAISS index written once, and the changes since.

    vectors.<gen>.faiss         the base (index/ann.py: exact up to 50k vectors, IVF past it),
                                memory-mapped when opened
    vectors.<gen>.changes.npz   ids removed from the base since, and the ids and vectors added

The base is never changed in place: removals are remembered (and left out of every search) and
additions go to a small exact index beside it. A save whose changes stay within a tenth of the
base (`index.atomic.keeps_base`) links the base file from the generation before (no copy) and writes only the
changes; past that it writes a new base holding every vector, and `ann.fit` picks its kind for the
size (the IVF lists are kept unless the index grew or shrank fourfold). So an update neither reads
the whole base into memory nor writes it out again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index import ann
from index.atomic import atomic_file, keeps_base, link_or_copy


class Vectors:
    """Vectors by FAISS id: search, look up, add, remove, save."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._base: Any = ann.exact(dimension)
        self._base_file: Path | None = None  # where `_base` was read from (mapped)
        self._gone: set[int] = set()  # base ids removed since
        self._added: Any = ann.exact(dimension)
        self._added_ids: set[int] = set()

    @classmethod
    def load(cls, base: Path, changes: Path | None, dimension: int) -> Vectors:
        vectors = cls(dimension)
        vectors._base = ann.read(base, mapped=True)
        vectors._base_file = base
        if vectors._base.d != dimension:
            raise ValueError(f"vectors of dimension {vectors._base.d}, expected {dimension}")
        if changes is not None:
            with np.load(changes) as saved:
                vectors._gone = set(saved["gone"].tolist())
                if len(saved["ids"]):
                    vectors.add(saved["ids"], saved["vectors"])
        return vectors

    @property
    def ntotal(self) -> int:
        return int(self._base.ntotal) - len(self._gone) + int(self._added.ntotal)

    @property
    def approximate(self) -> bool:
        """Whether the base is searched approximately (IVF)."""
        return ann.is_approximate(self._base)

    @property
    def changes(self) -> int:
        return len(self._gone) + int(self._added.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._added.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
        )
        self._added_ids.update(np.asarray(ids).tolist())

    def remove(self, ids: Iterable[int]) -> None:
        """Remove vectors by id (ids that are not here are the caller's mistake: not checked)."""
        ids = set(ids)
        added = ids & self._added_ids
        if added:
            ann.remove(self._added, np.array(sorted(added), dtype=np.int64))
            self._added_ids -= added
        self._gone |= ids - added

    def vector(self, faiss_id: int) -> np.ndarray:
        return self.vectors_of([faiss_id])[0]

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these ids, one row each, in this order."""
        keys = np.asarray(ids, dtype=np.int64)
        if not self._added_ids:
            return np.asarray(self._base.reconstruct_batch(keys), dtype=np.float32)
        added = np.isin(keys, np.fromiter(self._added_ids, dtype=np.int64))
        out = np.empty((len(keys), self._base.d), dtype=np.float32)
        for part, index in ((added, self._added), (~added, self._base)):
            if part.any():
                out[part] = index.reconstruct_batch(keys[part])
        return out

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every `(ids, vectors)`."""
        ids, vectors = ann.all_vectors(self._base)
        if self._gone:
            keep = ~np.isin(ids, np.fromiter(self._gone, dtype=np.int64))
            ids, vectors = ids[keep], vectors[keep]
        if self._added.ntotal:
            more_ids, more = ann.all_vectors(self._added)
            ids, vectors = np.concatenate([ids, more_ids]), np.concatenate([vectors, more])
        return ids, vectors

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """The `k` best `(id, score)` for one query row, best first; only `allowed` ids when given."""
        gone = np.fromiter(self._gone, dtype=np.int64) if self._gone else None
        parts = []
        if allowed is None:
            if self._base.ntotal:
                parts.append(ann.search(self._base, query, min(k, self._base.ntotal), None, excluded=gone))
            if self._added.ntotal:
                parts.append(self._added.search(query, min(k, self._added.ntotal)))
        else:
            in_added = (
                np.isin(allowed, np.fromiter(self._added_ids, dtype=np.int64)) if self._added_ids else None
            )
            base_allowed = allowed if in_added is None else allowed[~in_added]
            if gone is not None:
                base_allowed = base_allowed[~np.isin(base_allowed, gone)]
            if len(base_allowed):
                parts.append(ann.search(self._base, query, min(k, len(base_allowed)), base_allowed))
            if in_added is not None and in_added.any():
                parts.append(ann.search(self._added, query, min(k, int(in_added.sum())), allowed[in_added]))
        hits = [
            (int(i), float(s))
            for scores, ids in parts
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]
        hits.sort(key=lambda h: -h[1])
        return hits[:k]

    def save(self, base: Path, changes: Path, compact: bool = False) -> bool:
        """Write the base file (linked from before when the changes are few, unless `compact`) and,
        when there are changes on top of it, the changes file; returns whether that was written."""
        if (
            not compact
            and self._base_file is not None
            and self._base_file.exists()
            and keeps_base(self.changes, self._base.ntotal)
        ):
            link_or_copy(self._base_file, base)
            if not self.changes:
                return False
            ids, vectors = ann.all_vectors(self._added)
            with atomic_file(changes) as tmp, tmp.open("wb") as f:
                np.savez(f, gone=np.array(sorted(self._gone), dtype=np.int64), ids=ids, vectors=vectors)
            return True
        with atomic_file(base) as tmp:
            ann.write(ann.fit(self._merged()), tmp)
        return False

    def _merged(self) -> Any:
        """One index holding every vector: the base (read into memory) less the removed, plus the added."""
        import faiss

        # never the base itself: a save that fails must leave this object as it was
        merged = (
            faiss.clone_index(self._base)
            if self._base_file is None
            else ann.read(self._base_file, mapped=False)
        )
        if self._gone:
            ann.remove(merged, np.array(sorted(self._gone), dtype=np.int64))
        if self._added.ntotal:
            ids, vectors = ann.all_vectors(self._added)
            merged.add_with_ids(vectors, ids)
        return merged
