"""Dense retrieval over the FAISS index."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from index.embed import Embedder
from index.store import IndexStore
from rag.types import Passage


class DenseRetriever:
    """Rank chunks by cosine similarity between the query and chunk embeddings."""

    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def retrieve(
        self,
        query: str,
        k: int,
        vector: np.ndarray | None = None,
        within: Collection[str] | None = None,
    ) -> list[Passage]:
        """The `k` best passages for `query`, best first.

        `vector` skips re-embedding the query; `within` limits the search to those document ids.
        """
        qvec = self.embedder.embed_query(query) if vector is None else vector
        passages = []
        for chunk, score in self.store.search(qvec, k, within):
            info = self.store.documents[chunk.doc_id]
            passages.append(
                Passage(
                    doc_id=chunk.doc_id,
                    source=info.source,
                    title=info.title,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=score,
                    chunk_id=chunk.chunk_id,
                    sentences=chunk.sentences,
                )
            )
        return passages
