"""A folder index's document records, read from their file when asked for rather than all at open.

    documents.<gen>.jsonl         one `DocumentInfo` per line, sorted by doc_id
    documents.<gen>.rows.json     {"ids": [...], "offsets": [...]}: each line's doc_id and where it
                                  starts (and, last, the file's end)
    documents.<gen>.changes.json  records of those files removed since, and records added or replaced

Opening reads the ids (about 0.2 s for 300k documents) instead of parsing every record (about 4 s,
when they were a list in manifest.json). Changes since the files are held in memory; a save whose
changes stay within a tenth of the records (`index.atomic.keeps_base`) links both files from the generation
before and writes only the changes, and past that writes them anew (unchanged lines copied). Indexes whose
manifest still lists the documents (format version 1) load them from it.
"""

from __future__ import annotations

import json
import mmap
import re
from collections import Counter
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from index.atomic import atomic_file, keeps_base, link_or_copy, write_text
from index.types import DocumentInfo

_HASH_FIELD = re.compile(rb'"content_hash": "([^"]*)"')  # as json.dumps writes it


def document_info(record: dict[str, Any]) -> DocumentInfo:
    """A document record as written (JSON: lists where the dataclass has tuples)."""
    return DocumentInfo(**{**record, "pages": tuple(record.get("pages", ()))})


class DocumentTable(MutableMapping[str, DocumentInfo]):
    """DocumentInfo by doc_id."""

    def __init__(self, infos: Iterable[DocumentInfo] = ()) -> None:
        self._data: Any = b""  # the lines file, memory-mapped
        self._offsets: list[int] = [0]
        self._row: dict[str, int] = {}  # the file's documents: their line
        self._gone: set[str] = set()  # the file's documents removed or replaced since
        self._changed: dict[str, DocumentInfo] = {d.doc_id: d for d in infos}
        self._base: tuple[Path, Path] | None = None  # the lines and rows files read

    @classmethod
    def load(cls, lines: Path, rows: Path, changes: Path | None = None) -> DocumentTable:
        table = cls._load(lines, rows)
        table._base = (lines, rows)
        if changes is not None:
            saved = json.loads(changes.read_text(encoding="utf-8"))
            table._gone.update(saved["gone"])
            table._changed = {r["doc_id"]: document_info(r) for r in saved["changed"]}
        return table

    @classmethod
    def _load(cls, lines: Path, rows: Path) -> DocumentTable:
        table = cls()
        index = json.loads(rows.read_text(encoding="utf-8"))
        ids, offsets = index["ids"], index["offsets"]
        if len(offsets) != len(ids) + 1 or offsets[-1] != lines.stat().st_size:
            raise ValueError(f"{rows.name} does not match {lines.name}")
        if offsets[-1]:
            with lines.open("rb") as f:
                table._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        table._offsets = offsets
        table._row = {d: i for i, d in enumerate(ids)}
        return table

    def __getitem__(self, doc_id: str) -> DocumentInfo:
        changed = self._changed.get(doc_id)
        if changed is not None:
            return changed
        row = self._row.get(doc_id)
        if row is None or doc_id in self._gone:
            raise KeyError(doc_id)
        return self._read(row)

    def _read(self, row: int) -> DocumentInfo:
        return document_info(json.loads(self._data[self._offsets[row] : self._offsets[row + 1]]))

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._changed or (doc_id in self._row and doc_id not in self._gone)

    def __setitem__(self, doc_id: str, info: DocumentInfo) -> None:
        self._changed[doc_id] = info
        if doc_id in self._row:
            self._gone.add(doc_id)

    def __delitem__(self, doc_id: str) -> None:
        if doc_id in self._changed:
            del self._changed[doc_id]
        elif doc_id in self._row and doc_id not in self._gone:
            self._gone.add(doc_id)
        else:
            raise KeyError(doc_id)

    def __iter__(self) -> Iterator[str]:
        for doc_id in self._row:
            if doc_id not in self._gone:
                yield doc_id
        yield from self._changed

    def __len__(self) -> int:
        return len(self._row) - len(self._gone) + len(self._changed)

    def content_hashes(self) -> set[str]:
        """Every document's content hash, found in the file's bytes rather than by reading each
        record (a second at 300k documents instead of several)."""
        counts = Counter(h.decode() for h in _HASH_FIELD.findall(self._data)) if self._row else Counter()
        for doc_id in self._gone:  # their lines are still in the file
            counts[self._read(self._row[doc_id]).content_hash] -= 1
        return {h for h, n in counts.items() if n > 0} | {d.content_hash for d in self._changed.values()}

    def save(self, lines: Path, rows: Path, changes: Path, compact: bool = False) -> bool:
        """Write the table: its files linked from before plus `changes` when the changes are few
        (and not `compact`), else both anew. Returns whether `changes` was written."""
        base = self._base
        if (
            not compact
            and base is not None
            and all(p.exists() for p in base)
            and keeps_base(len(self._gone) + len(self._changed), len(self._row))
        ):
            link_or_copy(base[0], lines)
            link_or_copy(base[1], rows)
            if not self._gone and not self._changed:
                return False
            saved = {"gone": sorted(self._gone), "changed": [asdict(d) for d in self._changed.values()]}
            write_text(changes, json.dumps(saved, ensure_ascii=False))
            return True
        with atomic_file(lines) as tmp, tmp.open("wb") as f:
            index = self.write(f)
        write_text(rows, json.dumps(index, ensure_ascii=False))
        return False

    def write(self, lines: IO[bytes]) -> dict[str, list[Any]]:
        """Write every record to `lines`, sorted by doc_id; returns the rows to save beside them."""
        ids = sorted(self)
        offsets = [0]
        for doc_id in ids:
            if doc_id in self._changed:
                data = (json.dumps(asdict(self._changed[doc_id]), ensure_ascii=False) + "\n").encode("utf-8")
            else:
                row = self._row[doc_id]
                data = self._data[self._offsets[row] : self._offsets[row + 1]]
            lines.write(data)
            offsets.append(offsets[-1] + len(data))
        return {"ids": ids, "offsets": offsets}
