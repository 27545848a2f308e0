"""Build or update an index folder: only new or changed documents are embedded."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.chunk import Chunker, content_hash, indexed_text
from index.embed import Embedder
from index.errors import InputError
from index.find import find_files
from index.limits import Limits
from index.load import load_paths
from index.pgstore import PgStore, is_db_url, redact, split_address
from index.settings import IndexSettings
from index.store import MANIFEST, IndexStore
from index.stores import Store
from index.types import Chunk, Document, DocumentInfo, Skipped


@dataclass(frozen=True)
class BuildReport:
    """What one `build_index` run did."""

    index_dir: str
    files_read: int
    documents_added: tuple[str, ...]
    documents_unchanged: int
    documents_removed: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    chunks_added: int
    chunks_total: int
    documents_total: int
    seconds: float

    def summary(self) -> str:
        lines = [
            f"Indexed {len(self.documents_added)} new or changed documents from {self.files_read} files "
            f"({self.chunks_added} chunks embedded) in {self.seconds:.1f} s.",
            f"Unchanged: {self.documents_unchanged} documents. Removed: {len(self.documents_removed)} documents.",
            f"Index '{self.index_dir}' now holds {self.documents_total} documents, {self.chunks_total} chunks.",
        ]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)}:")
            lines += [f"  {printable(s.path)}: {printable(s.reason)}" for s in self.skipped]
        return "\n".join(lines)


def printable(text: str) -> str:
    """`text` with control characters (from a hostile file name, say) shown as escapes, not sent to the terminal."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def build_index(
    paths: Sequence[str | os.PathLike[str]],
    index_dir: str | os.PathLike[str],
    embedder: Embedder,
    settings: IndexSettings,
    rebuild: bool = False,
    progress: bool = False,
    limits: Limits | None = None,
    follow_links: bool = False,
) -> BuildReport:
    """Index `paths` into `index_dir`, creating it or updating it in place.

    Documents whose content hash is unchanged are kept as they are; documents that vanished from
    the given paths are removed; the folder is switched to the new version in one atomic step.
    A file that cannot be read, is past a `limits` bound, or would replace a document another file
    owns is skipped with its reason (see the report); InputError only when nothing can be indexed.
    Links that lead outside `paths` are skipped unless `follow_links`; the index folder is never read.
    """
    limits = limits or Limits()
    started = time.perf_counter()
    if not paths:
        raise InputError("no paths given; name at least one file or folder to index")
    if is_db_url(str(index_dir)):
        find_files(paths, follow_links)  # fail on a bad path before touching anything
        url, schema = split_address(str(index_dir))
        db = PgStore.create(url, embedder.name, embedder.dimension, settings.chunking(), schema)
        if rebuild:
            db.clear()
        return _build(db, paths, [], embedder, settings, rebuild, progress, limits, follow_links, started)
    root = Path(index_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise InputError(f"index dir '{index_dir}' is a file; give a folder path")
    find_files(paths, follow_links, exclude=[root])  # fail on a bad path before touching anything
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        if (root / MANIFEST).exists() and not rebuild:
            store = IndexStore.open(root)
            store.check_compatible(embedder.name, settings.chunking())
        else:
            store = IndexStore(root, embedder.name, embedder.dimension, settings.chunking())
        return _build(
            store, paths, [root], embedder, settings, rebuild, progress, limits, follow_links, started
        )


def _build(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    exclude: list[Path],
    embedder: Embedder,
    settings: IndexSettings,
    rebuild: bool,
    progress: bool,
    limits: Limits,
    follow_links: bool,
    started: float,
) -> BuildReport:
    bar = _bar(progress, "files", None)
    loaded = load_paths(paths, lambda p: bar.update(1), limits, follow_links, exclude=exclude)
    bar.close()
    documents, skipped = _owned(store, loaded.documents, list(loaded.skipped))
    if not documents and not store.documents:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
        raise InputError(f"no documents could be indexed ({reasons}); fix or replace these files")

    changed = [d for d in documents if _is_changed(store, d)]
    removed = _vanished(store, paths, documents, skipped)
    for doc_id in removed:
        store.remove(doc_id)

    pieces = _chunk(changed, settings, progress)
    too_long = [(d, c) for d, c in pieces if len(c) > limits.max_chunks_per_document]
    skipped += [
        Skipped(
            d.source,
            f"{len(c):,} chunks, over the {limits.max_chunks_per_document:,} limit "
            "(RAG_MAX_CHUNKS_PER_DOCUMENT); split the file or raise the limit",
        )
        for d, c in too_long
    ]
    pieces = [(d, c) for d, c in pieces if len(c) <= limits.max_chunks_per_document]
    changed = [d for d, _ in pieces]
    n_chunks = sum(len(chunks) for _, chunks in pieces)
    # unchanged documents of an index built before sentence vectors were stored get them now
    changed_ids = {d.doc_id for d in changed}
    lacking = [
        d
        for d in documents
        if d.doc_id not in changed_ids and d.doc_id in store.documents and d.doc_id not in store.sentences
    ]
    spans = [_sentence_spans(chunks) for _, chunks in pieces]
    lacking_spans = [_sentence_spans(store.document_chunks(d.doc_id)) for d in lacking]
    total = n_chunks + sum(len(s) for s in spans) + sum(len(s) for s in lacking_spans)
    bar = _bar(progress, "texts", total)  # chunks, then their sentences, embedded
    sentences = _embed_sentences(lacking, lacking_spans, embedder, settings.batch_size, bar.update)
    for doc, doc_spans, doc_vectors in zip(lacking, lacking_spans, sentences, strict=True):
        store.sentences.add(doc.doc_id, doc_spans, doc_vectors)
    # a batch of documents at a time: embedded, then written (a database commits each document;
    # a folder is saved now and then), so a run stopped halfway keeps what it finished and the
    # next run does only the rest
    checkpoint = _Checkpoint(store)
    for batch in _batches(list(zip(pieces, spans, strict=True)), WRITE_BATCH_CHUNKS):
        chunk_vectors = _embed(
            [indexed_text(d.title, c.text) for (d, cs), _ in batch for c in cs],
            embedder,
            settings.batch_size,
            bar.update,
        )
        batch_sentences = _embed_sentences(
            [d for (d, _), _ in batch], [s for _, s in batch], embedder, settings.batch_size, bar.update
        )
        row = 0
        for ((doc, chunks), doc_spans), doc_vectors in zip(batch, batch_sentences, strict=True):
            info = DocumentInfo(
                doc.doc_id,
                doc.source,
                doc.origin,
                doc.title,
                content_hash(doc.text),
                len(chunks),
                len(doc.text),
                dict(doc.metadata),
                doc.pages,
            )
            store.add(
                info, doc.text, chunks, chunk_vectors[row : row + len(chunks)], (doc_spans, doc_vectors)
            )
            row += len(chunks)
        checkpoint.written()
    bar.close()
    if changed or removed or lacking or rebuild or store.generation == 0:
        store.save()
    else:
        store.collect_garbage()  # what killed runs left, and versions nobody reads any more
    return BuildReport(
        index_dir=store.location,
        files_read=len(loaded.files),
        documents_added=tuple(d.doc_id for d in changed),
        documents_unchanged=len(documents) - len(changed) - len(too_long),
        documents_removed=tuple(removed),
        skipped=tuple(skipped),
        chunks_added=n_chunks,
        chunks_total=store.n_chunks,
        documents_total=len(store.documents),
        seconds=time.perf_counter() - started,
    )


def remove_documents(index_dir: str | os.PathLike[str], doc_ids: Sequence[str]) -> list[str]:
    """Remove documents from an index (atomically); returns the ids that were there."""
    if is_db_url(str(index_dir)):
        db = PgStore.open(*split_address(str(index_dir)))
        found = [d for d in doc_ids if d in db.documents]
        for doc_id in found:
            db.remove(doc_id)
        return found
    root = Path(index_dir).expanduser()
    with _locked(root):
        store = IndexStore.open(root)
        found = [d for d in doc_ids if d in store.documents]
        for doc_id in found:
            store.remove(doc_id)
        if found:
            store.save()
    return found


def compact_index(index_dir: str | os.PathLike[str]) -> IndexStore:
    """Write every part of a folder index anew, folding the changes saved on top of each base into
    it (index/store.py); returns the store as written. Nothing is embedded again."""
    root = Path(index_dir).expanduser()
    if is_db_url(str(index_dir)):
        raise InputError(
            f"'{redact(str(index_dir))}' is a PostgreSQL database: its tables change in place "
            "and need no compacting; `rag compact` takes an index folder (--index-dir) or a collection"
        )
    with _locked(root):
        store = IndexStore.open(root)
        store.save(compact=True)
    return store


def _owned(
    store: Store, documents: Sequence[Document], skipped: list[Skipped]
) -> tuple[list[Document], list[Skipped]]:
    """The documents that are new or replace a document read from the same file: an id another
    file owns (a .jsonl record id, say) is never taken over."""
    kept = []
    for doc in documents:
        info = store.documents.get(doc.doc_id)
        if info is not None and info.origin != doc.origin:
            skipped.append(
                Skipped(
                    doc.source,
                    f"document id '{doc.doc_id}' belongs to '{info.source}'; a file can only replace "
                    "its own documents: give the record another id",
                )
            )
        else:
            kept.append(doc)
    return kept, skipped


def _is_changed(store: Store, doc: Document) -> bool:
    info = store.documents.get(doc.doc_id)
    return (
        info is None
        or info.content_hash != content_hash(doc.text)
        or info.title != doc.title
        or info.metadata != doc.metadata
        or info.pages != doc.pages
    )


def _vanished(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    found: Sequence[Document],
    skipped: Sequence[Skipped],
) -> list[str]:
    """Indexed documents under `paths` that are gone now (a file that failed to read keeps its old version)."""
    roots = [str(Path(p).expanduser().resolve()) for p in paths]
    present = {d.doc_id for d in found}
    unreadable = {s.path for s in skipped}
    return [
        info.doc_id
        for info in store.documents.values()
        if info.doc_id not in present
        and info.origin not in unreadable
        and any(info.origin == r or info.origin.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
    ]


def _chunk(
    docs: list[Document], settings: IndexSettings, progress: bool
) -> list[tuple[Document, list[Chunk]]]:
    if not docs:
        return []
    chunker = Chunker(settings)
    bar = _bar(progress, "documents", len(docs))
    pieces = []
    for doc in docs:
        pieces.append((doc, chunker(doc)))
        bar.update(1)
    bar.close()
    return pieces


class _Checkpoint:
    """Saves a long run's progress every so often: at least CHECKPOINT_SECONDS apart and never more
    than a tenth of the time (a save rewrites a folder index whole), so a stopped run loses little."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.last = time.perf_counter()
        self.cost = 0.0

    def written(self) -> None:
        now = time.perf_counter()
        if now - self.last < max(CHECKPOINT_SECONDS, 10 * self.cost):
            return
        self.store.save()
        self.last = time.perf_counter()
        self.cost = self.last - now


CHECKPOINT_SECONDS = 60.0
Piece = tuple[tuple[Document, list[Chunk]], list[tuple[int, int]]]  # a document, its chunks, its sentences
WRITE_BATCH_CHUNKS = 64  # chunks embedded before their documents are written


def _batches(items: list[Piece], max_chunks: int) -> Iterator[list[Piece]]:
    """`items` in runs of about `max_chunks` chunks (a bigger document alone)."""
    batch: list[Piece] = []
    size = 0
    for item in items:
        n = len(item[0][1])
        if batch and size + n > max_chunks:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch


def _embed(
    texts: list[str], embedder: Embedder, batch_size: int, advance: Callable[[int], None]
) -> np.ndarray:
    """Embed `texts` in batches, advancing a progress bar after each."""
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    # about 20 progress steps for a small job (so a bar moves), four batches at a time for a large one
    step = max(max(batch_size, 1) // 8, 1, min(max(batch_size, 1) * 4, len(texts) // 20))
    for i in range(0, len(texts), step):
        batch = texts[i : i + step]
        vectors[i : i + len(batch)] = embedder.embed_documents(batch)
        advance(len(batch))
    return vectors


def _embed_sentences(
    docs: list[Document],
    spans: list[list[tuple[int, int]]],
    embedder: Embedder,
    batch_size: int,
    advance: Callable[[int], None],
) -> list[np.ndarray]:
    """The vectors of each document's sentences (its `spans`), embedded in batches across documents."""
    texts = [doc.text[a:b] for doc, doc_spans in zip(docs, spans, strict=True) for a, b in doc_spans]
    vectors = _embed(texts, embedder, batch_size, advance)
    bounds = np.cumsum([0] + [len(s) for s in spans])
    return [vectors[bounds[i] : bounds[i + 1]] for i in range(len(spans))]


def _sentence_spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    """Every sentence the chunks of one document overlap, once each, in document order."""
    return sorted({span for chunk in chunks for span in chunk.sentences})


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(enabled: bool, unit: str, total: int | None) -> _NoBar:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    desc = {"files": "Reading", "documents": "Chunking", "sentences": "Embedding sentences"}.get(
        unit, "Embedding"
    )
    return tqdm(total=total, unit=f" {unit}", desc=desc, file=sys.stderr, dynamic_ncols=True)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One writer at a time per index folder."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; atomic renames still protect readers
        yield
        return
    with (root / ".lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"index '{root}' is being written by another process; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
