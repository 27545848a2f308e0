"""Copy an index folder into PostgreSQL as it is: documents, chunks, vectors and sentence vectors
are moved, nothing is embedded again (`rag migrate --index-dir DIR --db URL`)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from index.pgstore import PgStore, split_address
from index.store import IndexStore


def copy_to_db(
    index_dir: str | os.PathLike[str], address: str, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Copy every document of the folder index into the database (each in its own transaction;
    documents already there with the same content are skipped); returns (documents, chunks) copied."""
    source = IndexStore.open(index_dir)
    url, schema = split_address(address)
    target = PgStore.create(url, source.model, source.dimension, source.chunking, schema)
    documents = chunks = 0
    for doc_id, info in sorted(source.documents.items()):
        doc_chunks = source.document_chunks(doc_id)
        vectors = (
            np.stack([source.vector(c.faiss_id) for c in doc_chunks])
            if doc_chunks
            else np.zeros((0, source.dimension), np.float32)
        )
        target.add(info, source.text(doc_id), doc_chunks, vectors, source.sentences.of(doc_id))
        documents += 1
        chunks += len(doc_chunks)
        if progress:
            progress(1)
    return documents, chunks
