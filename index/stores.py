"""What the answering layer needs of an index, whichever store keeps it: `Store`, and `open_store`.

Two stores implement it: the folder (`index.store.IndexStore`: FAISS, BM25 and JSONL files, the
default) and PostgreSQL with pgvector (`index.pgstore.PgStore`: HNSW, full-text search).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from index.errors import IndexMismatchError
from index.sentences_table import Span
from index.types import Chunk, DocumentInfo


class Sentences(Protocol):
    def __contains__(self, doc_id: object) -> bool: ...

    def add(self, doc_id: str, spans: Sequence[Span], vectors: np.ndarray) -> None: ...

    def lookup(self, keys: Iterable[tuple[str, int, int]]) -> list[np.ndarray | None]: ...


class Store(Protocol):
    """One index: its documents, their chunks with vectors and full text, their sentence vectors."""

    model: str
    dimension: int
    chunking: dict[str, int]
    generation: int

    @property
    def documents(self) -> Mapping[str, DocumentInfo]:
        """Every document's record by doc_id (read from the index as asked for)."""
        ...

    @property
    def sentences(self) -> Sentences: ...

    @property
    def location(self) -> str:
        """Where the index is, as people may see it (a folder, or a database without its password)."""
        ...

    @property
    def address(self) -> str:
        """What `open_store` opens this index again with (a database's includes its password)."""
        ...

    @property
    def n_chunks(self) -> int: ...

    def stamp(self) -> tuple[int, int, int]:
        """A value that changes whenever another process commits a change to the index."""
        ...

    def reopen(self) -> Store:
        """The index as it is now."""
        ...

    def check_compatible(self, model: str, chunking: dict[str, int]) -> None: ...

    # Rankings give chunk ids only; `fetch` reads the few that are kept (a fused ranking reads 6
    # chunks of the 200 it ranks).

    def dense(
        self, vector: np.ndarray, k: int, within: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """The ids of the `k` chunks nearest `vector` (cosine), best first, with their cosine similarity."""
        ...

    def lexical(self, query: str, k: int, within: Collection[str] | None = None) -> list[int]:
        """The ids of the `k` chunks the store's full-text ranking puts first, best first."""
        ...

    def fetch(self, ids: Sequence[int], vector: np.ndarray) -> list[tuple[Chunk, float]]:
        """The chunks with these ids, in this order, each with its cosine similarity to `vector`
        (ids no longer in the index are left out)."""
        ...

    def document_chunks(self, doc_id: str) -> list[Chunk]: ...

    def text(self, doc_id: str) -> str: ...

    def labels(self, doc_id: str) -> str: ...

    def add(
        self,
        info: DocumentInfo,
        text: str,
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentences: tuple[Sequence[Span], np.ndarray] | None = None,
    ) -> None: ...

    def remove(self, doc_id: str) -> None: ...

    def save(self) -> None: ...

    def collect_garbage(self) -> None: ...


def check_same_build(
    location: str, built: tuple[str, dict[str, int]], wanted: tuple[str, dict[str, int]], remedy: str
) -> None:
    """Raise IndexMismatchError unless an index `built` with (model, chunking) is what is `wanted`;
    the message names both and ends with `remedy`."""
    (model, chunking), (want_model, want_chunking) = built, wanted
    if want_model != model:
        raise IndexMismatchError(
            f"the index at {location} was built with embedding model '{model}', not '{want_model}'; "
            f"use model '{model}' or {remedy}"
        )
    if want_chunking != chunking:
        raise IndexMismatchError(
            f"the index at {location} was built with chunking {chunking}, not {want_chunking}; "
            f"use the same settings or {remedy}"
        )


def open_store(address: str | os.PathLike[str]) -> Store:
    """The index at `address`: a folder, or `postgresql://...[#schema]` (schema `rag` by default)."""
    from index.pgstore import PgStore, is_db_url, split_address

    if is_db_url(address):
        return PgStore.open(*split_address(str(address)))
    from index.store import IndexStore

    return IndexStore.open(address)
