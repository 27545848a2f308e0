"""A folder index's chunk records, read from their file when asked for rather than all at open.

    chunks.<gen>.jsonl          one chunk per line (index/types.py `Chunk`), sorted by (doc_id, start)
    chunks.<gen>.rows.npy       int64 (n, 3): each line's FAISS id, byte offset, and its document's
                                position in chunks.<gen>.docs.json; memory-mapped
    chunks.<gen>.changes.json   documents of those files removed since, and the chunks added

Opening maps both files and sorts the ids (about 0.1 s at a million chunks) instead of parsing
every line (about 25 s). A lookup parses one line. Changes since the files (documents added,
replaced or removed) are held in memory; a save whose changes stay within a tenth of the rows
(`index.atomic.keeps_base`) links the three files from the generation before and writes only the changes,
and past that writes them anew (unchanged documents' lines copied as they are). An index written
before the rows file existed is parsed whole at open, as before, and gets one at its next save.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np

from index.atomic import atomic_file, keeps_base, link_or_copy, write_text
from index.types import Chunk


def _chunk(line: bytes | str) -> Chunk:
    return _chunk_of(json.loads(line))


def _chunk_of(record: dict[str, Any]) -> Chunk:
    return Chunk(**{**record, "sentences": tuple(tuple(s) for s in record["sentences"])})


def _line(chunk: Chunk) -> bytes:
    return (json.dumps(asdict(chunk), ensure_ascii=False) + "\n").encode("utf-8")


class ChunkTable(Mapping[int, Chunk]):
    """Chunks by FAISS id, and each document's chunk ids."""

    def __init__(self) -> None:
        self._data: Any = b""  # the lines file, memory-mapped
        self._ids = np.zeros(0, np.int64)  # the file's ids, in line order
        self._offsets = np.zeros(1, np.int64)  # where each line starts, and the file's end
        self._sorted = np.zeros(0, np.int64)  # the file's ids, sorted
        self._line_of = np.zeros(0, np.int64)  # the line of each sorted id
        self._lines_of: dict[str, tuple[int, int]] = {}  # a document's lines in the file
        self._removed: set[int] = set()  # ids in the file that are gone
        self._added: dict[int, Chunk] = {}
        self._added_by_doc: dict[str, list[int]] = {}
        self._removed_docs: set[str] = set()  # documents of the files removed (or replaced) since
        self._base: tuple[Path, Path, Path] | None = None  # the lines, rows and docs files read

    # -- reading -------------------------------------------------------------------------------

    @classmethod
    def load(
        cls, lines: Path, rows: Path | None, docs: Path | None, changes: Path | None, doc_ids: Sequence[str]
    ) -> ChunkTable:
        """The table of a lines file; `rows` None for an index written before rows files (parsed
        whole); `docs` None for rows whose positions are those of `doc_ids` (the manifest's)."""
        table = cls._load(lines, rows, json.loads(docs.read_text(encoding="utf-8")) if docs else doc_ids)
        if rows is not None and docs is not None:
            table._base = (lines, rows, docs)
        if changes is not None:
            saved = json.loads(changes.read_text(encoding="utf-8"))
            for doc_id in saved["removed"]:
                table.remove(doc_id)
            added: dict[str, list[Chunk]] = {}
            for record in saved["added"]:
                chunk = _chunk_of(record)
                added.setdefault(chunk.doc_id, []).append(chunk)
            for doc_id, chunks in added.items():
                table.add(doc_id, chunks)
        return table

    @classmethod
    def _load(cls, lines: Path, rows: Path | None, doc_ids: Sequence[str]) -> ChunkTable:
        table = cls()
        if rows is None:
            with lines.open(encoding="utf-8") as f:
                by_doc: dict[str, list[Chunk]] = {}
                for line in f:
                    chunk = _chunk(line)
                    by_doc.setdefault(chunk.doc_id, []).append(chunk)
            for doc_id, chunks in by_doc.items():
                table.add(doc_id, chunks)
            return table
        table_rows = np.load(rows, mmap_mode="r")
        size = lines.stat().st_size
        if table_rows.ndim != 2 or table_rows.shape[1] != 3:
            raise ValueError(f"chunk rows of shape {table_rows.shape}, expected (n, 3)")
        if size:
            with lines.open("rb") as f:
                table._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        table._ids = np.asarray(table_rows[:, 0])
        table._offsets = np.append(np.asarray(table_rows[:, 1]), size)
        table._line_of = np.argsort(table._ids, kind="stable")
        table._sorted = table._ids[table._line_of]
        bounds = np.searchsorted(table_rows[:, 2], np.arange(len(doc_ids) + 1)).tolist()
        table._lines_of = {
            d: (bounds[i], bounds[i + 1]) for i, d in enumerate(doc_ids) if bounds[i + 1] > bounds[i]
        }
        return table

    def _read(self, line: int) -> Chunk:
        return _chunk(self._data[int(self._offsets[line]) : int(self._offsets[line + 1])])

    def __getitem__(self, faiss_id: int) -> Chunk:
        added = self._added.get(faiss_id)
        if added is not None:
            return added
        if faiss_id not in self._removed:
            i = int(np.searchsorted(self._sorted, faiss_id))
            if i < len(self._sorted) and self._sorted[i] == faiss_id:
                return self._read(int(self._line_of[i]))
        raise KeyError(faiss_id)

    def __contains__(self, faiss_id: object) -> bool:
        if faiss_id in self._added:
            return True
        if not isinstance(faiss_id, int | np.integer) or faiss_id in self._removed:
            return False
        i = int(np.searchsorted(self._sorted, faiss_id))
        return i < len(self._sorted) and bool(self._sorted[i] == faiss_id)

    def __iter__(self) -> Iterator[int]:
        for fid in self._ids.tolist():
            if fid not in self._removed:
                yield fid
        yield from self._added

    def __len__(self) -> int:
        return len(self._ids) - len(self._removed) + len(self._added)

    def ids_of(self, doc_id: str) -> list[int]:
        """A document's chunk ids, in document order."""
        if doc_id in self._added_by_doc:
            return list(self._added_by_doc[doc_id])
        lo, hi = self._lines_of.get(doc_id, (0, 0))
        return self._ids[lo:hi].tolist()

    # -- changing ------------------------------------------------------------------------------

    def add(self, doc_id: str, chunks: Sequence[Chunk]) -> None:
        """Add a document's chunks (remove its old ones first)."""
        for c in chunks:
            self._added[c.faiss_id] = c
        self._added_by_doc[doc_id] = [c.faiss_id for c in sorted(chunks, key=lambda c: c.start)]

    def remove(self, doc_id: str) -> list[int]:
        """Remove a document's chunks; returns their ids."""
        ids = self.ids_of(doc_id)
        if doc_id in self._added_by_doc:
            del self._added_by_doc[doc_id]
            for fid in ids:
                del self._added[fid]
        else:
            self._removed.update(ids)
        if self._lines_of.pop(doc_id, None) is not None:
            self._removed_docs.add(doc_id)
        return ids

    def save(
        self,
        lines: Path,
        rows: Path,
        docs: Path,
        changes: Path,
        doc_ids: Sequence[str],
        compact: bool = False,
    ) -> bool:
        """Write the table: its files linked from before plus `changes` when the changes are few
        (and not `compact`), else all three anew (documents in the order of `doc_ids`). Returns
        whether `changes` was written."""
        base = self._base
        if (
            not compact
            and base is not None
            and all(p.exists() for p in base)
            and keeps_base(len(self._removed) + len(self._added), len(self._ids))
        ):
            for source, target in zip(base, (lines, rows, docs), strict=True):
                link_or_copy(source, target)
            if not self._removed_docs and not self._added:
                return False
            saved = {
                "removed": sorted(self._removed_docs),
                "added": [asdict(self._added[fid]) for ids in self._added_by_doc.values() for fid in ids],
            }
            write_text(changes, json.dumps(saved, ensure_ascii=False))
            return True
        with atomic_file(lines) as tmp, tmp.open("wb") as f:
            table = self.write(f, doc_ids)
        with atomic_file(rows) as tmp, tmp.open("wb") as f:
            np.save(f, table)
        write_text(docs, json.dumps(list(doc_ids), ensure_ascii=False))
        return False

    def write(self, lines: IO[bytes], doc_ids: Sequence[str]) -> np.ndarray:
        """Write every chunk to `lines`, documents in the order of `doc_ids` (each document's chunks
        by start); returns the rows to save beside them."""
        ids: list[np.ndarray] = []
        offsets: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        at = 0
        for position, doc_id in enumerate(doc_ids):
            if doc_id in self._added_by_doc:
                block = [_line(self._added[fid]) for fid in self._added_by_doc[doc_id]]
                doc_ids_ = np.array(self._added_by_doc[doc_id], dtype=np.int64)
                starts = (
                    np.cumsum([0, *map(len, block[:-1])], dtype=np.int64) if block else np.zeros(0, np.int64)
                )
                data = b"".join(block)
            elif doc_id in self._lines_of:
                lo, hi = self._lines_of[doc_id]
                first = int(self._offsets[lo])
                data = self._data[first : int(self._offsets[hi])]
                doc_ids_ = self._ids[lo:hi]
                starts = self._offsets[lo:hi] - first
            else:
                continue
            lines.write(data)
            ids.append(np.asarray(doc_ids_, dtype=np.int64))
            offsets.append(np.asarray(starts, dtype=np.int64) + at)
            docs.append(np.full(len(doc_ids_), position, dtype=np.int64))
            at += len(data)
        if not ids:
            return np.zeros((0, 3), np.int64)
        return np.stack([np.concatenate(ids), np.concatenate(offsets), np.concatenate(docs)], axis=1)
