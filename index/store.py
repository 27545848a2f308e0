"""The index on disk: a folder a person can open, written atomically.

    DIR/manifest.json          model, dimension, chunking, format version, the files below, counts
    DIR/documents.<gen>.*      one document record per line, their ids and offsets, changes since
                               (index/document_table.py; format version 1 listed them in the manifest)
    DIR/vectors.<gen>.faiss    FAISS: exact IndexFlatIP up to 50k chunks, IVF past it (index/ann.py);
                               vectors are L2-normalised; memory-mapped when opened; changes since
                               it in `vectors.<gen>.changes.npz` (index/vectors.py)
    DIR/chunks.<gen>.jsonl     one chunk per line: ids, document id, span, text, sentence spans
    DIR/chunks.<gen>.*         each line's FAISS id, offset and document; changes since
                               (index/chunk_table.py)
    DIR/bm25.<gen>/            BM25 over the chunks (index/bm25.py)
    DIR/sentences.<gen>/       each sentence's vector, embedded at index time (index/sentences_table.py)
    DIR/texts/<sha256>.txt     each document's extracted text, named by its content hash

Vectors, records, BM25 and sentence vectors are each a base plus the changes since it: a save links
the base's files under the new generation's names (hard links, no copy) and writes the changes, or
writes a new base once the changes pass a tenth of it. `manifest.json` is the commit point: data
files get new names for each generation and the manifest is replaced with `os.replace` last, so a
crash at any moment leaves the previous index loadable.
A process reading a generation holds a shared lock on `DIR/readers.<gen>.lock`; a save removes an
older generation's files only when nobody holds its lock, so a server never loses the files of the
version it answers from while `rag index` updates the folder.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import atomic_folder, write_text
from index.bm25 import BM25Index
from index.chunk import indexed_text
from index.chunk_table import ChunkTable
from index.document_table import DocumentTable, document_info
from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
)
from index.sentences_table import SentenceTable, Span
from index.stores import check_same_build
from index.types import Chunk, DocumentInfo
from index.vectors import Vectors

FORMAT_VERSION = 2
READS = (1, 2)  # 1: documents listed in manifest.json, chunks parsed whole at open
MANIFEST = "manifest.json"
_GENERATION = re.compile(r"^(?:vectors|chunks|documents|bm25|sentences|readers)\.(\d+)(?:\.|$)")
_FILE_NAMES = {
    "vectors": re.compile(r"^vectors\.\d+\.faiss$"),
    "vector_changes": re.compile(r"^vectors\.\d+\.changes\.npz$"),
    "chunks": re.compile(r"^chunks\.\d+\.jsonl$"),
    "chunk_rows": re.compile(r"^chunks\.\d+\.rows\.npy$"),
    "chunk_docs": re.compile(r"^chunks\.\d+\.docs\.json$"),
    "chunk_changes": re.compile(r"^chunks\.\d+\.changes\.json$"),
    "documents": re.compile(r"^documents\.\d+\.jsonl$"),
    "document_rows": re.compile(r"^documents\.\d+\.rows\.json$"),
    "document_changes": re.compile(r"^documents\.\d+\.changes\.json$"),
    "bm25": re.compile(r"^bm25\.\d+$"),
    "sentences": re.compile(r"^sentences\.\d+$"),
}
_HASH = re.compile(r"^[0-9a-f]{64}$")


class IndexStore:
    """Vectors, chunks and document texts of one index folder."""

    def __init__(self, path: Path, model: str, dimension: int, chunking: dict[str, int]) -> None:
        self.path = path
        self.model = model
        self.dimension = dimension
        self.chunking = dict(chunking)
        self.documents = DocumentTable()
        self.chunks = ChunkTable()
        self.generation = 0
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._vectors = Vectors(dimension)
        self._pending_texts: dict[str, str] = {}
        self._text_cache: dict[str, str] = {}
        self._bm25: BM25Index | None = None  # built on first use when not on disk (or too changed)
        self.sentences = SentenceTable(dimension)  # empty for indexes built before it existed
        self._reader_lock: Any = None  # the shared lock on this generation's files, while open

    # -- reading -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> IndexStore:
        """Load an index folder; errors say what is wrong and how to fix it."""
        for _ in range(5):
            try:
                return cls._open(path)
            except _Superseded:  # a writer switched generations while we read: read the new one
                continue
        return cls._open(path, last_try=True)

    @classmethod
    def _open(cls, path: str | os.PathLike[str], last_try: bool = False) -> IndexStore:
        root = Path(path).expanduser()
        manifest_path = root / MANIFEST
        if not manifest_path.is_file():
            raise IndexNotFoundError(
                f"no index at '{path}'; run `rag index PATH... --index-dir {path}` first"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            version = manifest["format_version"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"index '{path}' has an unreadable {MANIFEST} ({exc}); rebuild it with "
                f"`rag index PATH... --index-dir {path} --rebuild`"
            ) from None
        if version not in READS:
            raise IndexMismatchError(
                f"index '{path}' has format version {version}, this version of rag reads versions "
                f"{', '.join(map(str, READS))}; rebuild it with `rag index PATH... --index-dir {path} --rebuild`"
            )
        _check_names(manifest, path)
        try:
            store = cls(
                root, manifest["model"]["name"], int(manifest["model"]["dimension"]), manifest["chunking"]
            )
            store.generation = int(manifest["generation"])
            store._reader_lock = _read_lock(root, store.generation)
            store.created_at = manifest.get("created_at", store.created_at)
            store._read_files(manifest["files"], manifest.get("documents", []))
        except (OSError, RuntimeError) as exc:
            if not last_try and _manifest_changed(manifest_path, manifest):
                raise _Superseded from None
            raise IndexCorruptError(
                f"index '{path}' is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
                f"rebuild it with `rag index PATH... --index-dir {path} --rebuild`"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"index '{path}' is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
                f"rebuild it with `rag index PATH... --index-dir {path} --rebuild`"
            ) from None
        if store._vectors.ntotal != len(store.chunks):
            raise IndexCorruptError(
                f"index '{path}' is damaged: {store._vectors.ntotal} vectors for {len(store.chunks)} chunks; "
                f"rebuild it with `rag index PATH... --index-dir {path} --rebuild`"
            )
        return store

    def check_compatible(self, model: str, chunking: dict[str, int]) -> None:
        """Raise IndexMismatchError unless the index was built with this model and chunking."""
        remedy = f"rebuild with `rag index PATH... --index-dir {self.path} --rebuild`"
        check_same_build(f"'{self.path}'", (self.model, self.chunking), (model, chunking), remedy)

    def search(
        self, vector: np.ndarray, k: int, within: Collection[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """The `k` chunks with the highest inner product (cosine) with `vector`, best first.

        `within` limits the search to the chunks of those document ids.
        """
        return [(self.chunks[i], score) for i, score in self.dense(vector, k, within)]

    def dense(
        self, vector: np.ndarray, k: int, within: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """`search`'s ranking as (chunk id, cosine) pairs."""
        if k < 1:
            raise InputError(f"k must be greater than 0. Currently, k is {k}")
        allowed = None
        n = self._vectors.ntotal
        if within is not None:
            allowed = np.array(self.chunk_ids(within), dtype=np.int64)
            n = len(allowed)
        if n == 0:
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        return self._vectors.search(query, min(k, n), allowed)

    @property
    def bm25(self) -> BM25Index:
        """BM25 over the chunks (title + text, as embedded); loaded from disk or built on first use."""
        if self._bm25 is None:
            self._bm25 = BM25Index.build(
                (fid, indexed_text(self.documents[c.doc_id].title, c.text)) for fid, c in self.chunks.items()
            )
        return self._bm25

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks, in document order."""
        return sorted((self.chunks[i] for i in self.chunks.ids_of(doc_id)), key=lambda c: c.start)

    def chunk_ids(self, within: Collection[str]) -> list[int]:
        """The FAISS ids of the chunks of these documents."""
        return [i for d in within for i in self.chunks.ids_of(d)]

    def vector(self, faiss_id: int) -> np.ndarray:
        """The stored (normalised) vector of one chunk."""
        return self._vectors.vector(faiss_id)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """All `(faiss_ids, vectors)`, for reference checks and exports."""
        return self._vectors.all()

    def text(self, doc_id: str) -> str:
        """The extracted text of a document; citation offsets index into it."""
        info = self.documents.get(doc_id)
        if info is None:
            raise InputError(f"document '{doc_id}' is not in index '{self.path}'")
        h = info.content_hash
        if not _HASH.match(h):  # it names a file: never a path
            raise IndexCorruptError(
                f"index '{self.path}' has a document record with an invalid content_hash ({h[:80]!r}); "
                f"rebuild it with `rag index PATH... --index-dir {self.path} --rebuild`"
            )
        if h not in self._text_cache:
            pending = self._pending_texts.get(h)
            self._text_cache[h] = (
                pending
                if pending is not None
                else (self.path / "texts" / f"{h}.txt").read_text(encoding="utf-8")
            )
        return self._text_cache[h]

    def labels(self, doc_id: str) -> str:
        return document_labels(self.documents[doc_id])

    # -- what `Store` asks of every store (index/stores.py) ---------------------------------------

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def address(self) -> str:
        return str(self.path)

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def stamp(self) -> tuple[int, int, int]:
        """What changes whenever a save replaces the manifest: its (inode, size, mtime)."""
        try:
            st = (self.path / MANIFEST).stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def reopen(self) -> IndexStore:
        return IndexStore.open(self.path)

    def lexical(self, query: str, k: int, within: Collection[str] | None = None) -> list[int]:
        """The ids of the `k` chunks BM25 ranks first for `query`."""
        allowed = None if within is None else self.chunk_ids(within)
        return [i for i, _ in self.bm25.search(query, k, allowed)]

    def fetch(self, ids: Sequence[int], vector: np.ndarray) -> list[tuple[Chunk, float]]:
        ids = [i for i in ids if i in self.chunks]
        if not ids:
            return []
        cosines = self._vectors.vectors_of(ids) @ np.asarray(vector, dtype=np.float32)
        return [(self.chunks[i], float(s)) for i, s in zip(ids, cosines.tolist(), strict=True)]

    # -- changing ------------------------------------------------------------------------------

    def add(
        self,
        info: DocumentInfo,
        text: str,
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentences: tuple[Sequence[Span], np.ndarray] | None = None,
    ) -> None:
        """Add (or replace) one document with its chunks and their vectors, and optionally its
        sentences' spans and vectors."""
        if info.doc_id in self.documents:
            self.remove(info.doc_id)
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        ids = np.array([c.faiss_id for c in chunks], dtype=np.int64)
        clash = [c for c in chunks if c.faiss_id in self.chunks]
        if clash or len(set(ids.tolist())) != len(ids):
            raise IndexCorruptError(f"chunk id collision in document '{info.doc_id}'; report this as a bug")
        if len(chunks):
            self._vectors.add(ids, vectors)
        self.chunks.add(info.doc_id, chunks)
        self.documents[info.doc_id] = info
        self._pending_texts[info.content_hash] = text
        if self._bm25 is not None:
            for c in chunks:
                self._bm25.add(c.faiss_id, indexed_text(info.title, c.text))
        if sentences is not None:
            self.sentences.add(info.doc_id, *sentences)

    def remove(self, doc_id: str) -> None:
        """Remove a document and its chunks."""
        self.documents.pop(doc_id, None)
        self.sentences.remove(doc_id)
        ids = self.chunks.remove(doc_id)
        if ids:
            self._vectors.remove(ids)
            if self._bm25 is not None:
                self._bm25.remove(ids)

    def save(self, compact: bool = False) -> None:
        """Write a new generation, then switch the manifest to it in one `os.replace`; with
        `compact`, every part is written anew with no changes on top of a base (`rag compact`).

        On failure (a full disk, say) this generation's partial files are removed and
        IndexWriteError names the cause; the previous version stays as it was.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        # Files of runs that failed or were killed go first: they may be what filled the disk.
        self._collect_garbage(_manifest_files(self.path), texts=False)
        # Never reuse a file name still on disk (after --rebuild the count starts again).
        on_disk = [int(m.group(1)) for p in self.path.iterdir() if (m := _GENERATION.match(p.name))]
        gen = max([self.generation, *on_disk]) + 1
        files = {
            "vectors": f"vectors.{gen}.faiss",
            "vector_changes": f"vectors.{gen}.changes.npz",
            "chunks": f"chunks.{gen}.jsonl",
            "chunk_rows": f"chunks.{gen}.rows.npy",
            "chunk_docs": f"chunks.{gen}.docs.json",
            "chunk_changes": f"chunks.{gen}.changes.json",
            "documents": f"documents.{gen}.jsonl",
            "document_rows": f"documents.{gen}.rows.json",
            "document_changes": f"documents.{gen}.changes.json",
            "bm25": f"bm25.{gen}",
            "sentences": f"sentences.{gen}",
        }
        written = [h for h in self._pending_texts if not (self.path / "texts" / f"{h}.txt").exists()]
        try:
            self._write(gen, files, compact)
        except OSError as exc:
            self._collect_garbage(_manifest_files(self.path), texts=False, new=gen)
            for h in written:
                if not _referenced(self.path, h):
                    (self.path / "texts" / f"{h}.txt").unlink(missing_ok=True)
            cause = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise IndexWriteError(
                f"could not save index '{self.path}': {cause}; the previous version is unchanged. "
                "Free space (or fix the permissions) and run the same command again"
            ) from None
        self.generation = gen
        self._read_files(files)  # what was just written: mapped, with no changes on top
        self._text_cache.update(self._pending_texts)
        self._pending_texts.clear()
        self._reader_lock = _read_lock(self.path, gen)  # releases the lock on the generation before
        self._collect_garbage(files)

    def _read_files(self, files: dict[str, str], listed: list[dict[str, Any]] | None = None) -> None:
        """Read a generation's files (memory-mapped where they can be). A file kind absent from
        `files` is one that generation predates: documents `listed` in its manifest (format 1),
        chunk rows parsed whole, no BM25 or sentence vectors stored yet."""
        root = self.path

        def optional(kind: str) -> Path | None:
            return root / files[kind] if kind in files else None

        self.documents = (
            DocumentTable.load(
                root / files["documents"], root / files["document_rows"], optional("document_changes")
            )
            if "documents" in files
            else DocumentTable(document_info(d) for d in listed or [])
        )
        self._vectors = Vectors.load(root / files["vectors"], optional("vector_changes"), self.dimension)
        self._bm25 = BM25Index.load(root / files["bm25"]) if "bm25" in files else None
        if "sentences" in files:
            self.sentences = SentenceTable.load(root / files["sentences"], self.dimension)
        self.chunks = ChunkTable.load(
            root / files["chunks"],
            optional("chunk_rows"),
            optional("chunk_docs"),
            optional("chunk_changes"),
            sorted(self.documents),
        )

    def _write(self, gen: int, files: dict[str, str], compact: bool) -> None:
        (self.path / "texts").mkdir(exist_ok=True)
        for h, text in self._pending_texts.items():
            target = self.path / "texts" / f"{h}.txt"
            if not target.exists():
                write_text(target, text)
        if self._bm25 is not None and (compact or not self._bm25.can_change()):
            self._bm25 = None  # built again from every chunk (`bm25` below)
        path = {kind: self.path / name for kind, name in files.items()}
        if not self._vectors.save(path["vectors"], path["vector_changes"], compact):
            del files["vector_changes"]  # none: the file is a base alone
        if not self.documents.save(
            path["documents"], path["document_rows"], path["document_changes"], compact
        ):
            del files["document_changes"]
        doc_ids = sorted(self.documents)
        if not self.chunks.save(
            path["chunks"], path["chunk_rows"], path["chunk_docs"], path["chunk_changes"], doc_ids, compact
        ):
            del files["chunk_changes"]
        with atomic_folder(path["bm25"]) as tmp:
            self.bm25.save(tmp)
        with atomic_folder(path["sentences"]) as tmp:
            self.sentences.save(tmp, compact)
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": gen,
            "created_at": self.created_at,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": {"name": self.model, "dimension": self.dimension},
            "chunking": self.chunking,
            "files": files,
            "counts": {"documents": len(self.documents), "chunks": len(self.chunks)},
        }
        write_text(self.path / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))

    def collect_garbage(self) -> None:
        """Remove the files of failed or killed runs and of older generations nobody reads."""
        if self._pending_texts:
            raise RuntimeError("collect_garbage() with unsaved changes; call save()")
        self._collect_garbage(_manifest_files(self.path))

    def _collect_garbage(self, files: dict[str, str], texts: bool = True, new: int = 0) -> None:
        """Remove what no version in use needs: files of older generations nobody reads (and, after a
        failed save, generation `new`'s partial files), temporary files, and with `texts` the texts
        of documents that are not in `self.documents`."""
        keep = set(files.values()) | {MANIFEST}
        live_gens = {int(m.group(1)) for name in keep if (m := _GENERATION.match(name))}
        in_use: dict[int, bool] = {}  # asked once per generation, before its lock file goes
        doomed: list[Path] = []
        for p in sorted(self.path.iterdir()):
            if p.name.endswith((".tmp", ".old")):  # half-written by a run that failed or was killed
                doomed.append(p)  # (this process holds the writer's lock: no other run writes now)
                continue
            m = _GENERATION.match(p.name)
            gen = int(m.group(1)) if m else None
            if gen is None or gen in live_gens or p.name in keep:
                continue
            if gen != new:
                if gen not in in_use:
                    in_use[gen] = _in_use(self.path, gen)
                if in_use[gen]:  # a reader still answers from it: removed by a later run
                    continue
            doomed.append(p)
        for p in sorted(doomed, key=lambda p: p.name.startswith("readers.")):  # lock files last
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        busy = {g for g, used in in_use.items() if used}
        folder = self.path / "texts"
        if busy or not texts or not folder.is_dir():
            return
        live = {f"{h}.txt" for h in self.documents.content_hashes()}
        for p in folder.iterdir():
            if p.name not in live:
                p.unlink(missing_ok=True)


def document_labels(info: DocumentInfo) -> str:
    """What names a document besides its text: its title, its file's name (when the document is
    the whole file, not a record of a .jsonl collection) and its metadata values."""
    name = Path(info.origin).stem if info.source == info.origin else ""
    return "\n".join([info.title, name, *info.metadata.values()])


class _Superseded(Exception):
    """The generation being read was replaced (and collected) meanwhile."""


def _check_names(manifest: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Refuse a manifest whose file names or content hashes could point outside the index folder."""
    files = manifest.get("files", {})
    bad = [f"{k}={v!r}" for k, v in files.items() if k not in _FILE_NAMES or not _FILE_NAMES[k].match(str(v))]
    bad += [
        f"content_hash={d.get('content_hash')!r}"
        for d in manifest.get("documents", [])
        if not isinstance(d, dict) or not _HASH.match(str(d.get("content_hash", "")))
    ][:3]
    if bad:
        raise IndexCorruptError(
            f"index '{path}' has a manifest with invalid names ({', '.join(bad[:3])}); it was edited or "
            f"damaged: rebuild it with `rag index PATH... --index-dir {path} --rebuild`"
        )


def _manifest_files(root: Path) -> dict[str, str]:
    """The data files the manifest on disk names (none when there is no readable manifest)."""
    try:
        files = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _manifest_changed(manifest_path: Path, read: dict[str, Any]) -> bool:
    try:
        now = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(now.get("generation") != read.get("generation"))


def _referenced(root: Path, content_hash: str) -> bool:
    """Whether the committed version names this text (format 1 in its manifest, 2 in its records)."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if any(d.get("content_hash") == content_hash for d in manifest.get("documents", [])):
            return True
        files = manifest.get("files", {})
        records = [files[k] for k in ("documents", "document_changes") if k in files]
        return any(content_hash.encode() in (root / name).read_bytes() for name in records)
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def _read_lock(root: Path, gen: int) -> Any:
    """A shared lock on generation `gen`, held while the returned file stays open (None where
    locks are not available, or the folder is read-only)."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        f = (root / f"readers.{gen}.lock").open("a")
    except OSError:
        return None
    fcntl.flock(f, fcntl.LOCK_SH)
    return f


def _in_use(root: Path, gen: int) -> bool:
    """Whether a process holds generation `gen` open for reading."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        with (root / f"readers.{gen}.lock").open("a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except OSError:
        return False
