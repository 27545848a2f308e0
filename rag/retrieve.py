"""Retrieval over an index: dense, lexical, or both fused (the default). The store ranks: the
folder store with FAISS and BM25 (bm25s), PostgreSQL with pgvector and full-text search.

Every retriever returns `Passage`s whose `score` is the chunk's cosine similarity to the question,
whatever ranked it, so the answerer and its refusal threshold see one scale. Rankings are of chunk
ids; only the `k` chunks kept are read from the store.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from index.embed import Embedder
from index.stores import Store
from index.types import Chunk
from rag.settings import check_retriever
from rag.types import Passage


class Retriever(Protocol):
    def retrieve(
        self,
        query: str,
        k: int,
        vector: np.ndarray | None = None,
        within: Collection[str] | None = None,
    ) -> list[Passage]:
        """The `k` best passages for `query`, best first (`within`: only those document ids)."""
        ...


def _passage(store: Store, chunk: Chunk, score: float) -> Passage:
    info = store.documents[chunk.doc_id]
    return Passage(
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


class _OverIndex:
    """A retriever over one index and the embedding model it was built with."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def _passages(self, ids: Sequence[int], vector: np.ndarray) -> list[Passage]:
        return [_passage(self.store, c, s) for c, s in self.store.fetch(ids, vector)]


class DenseRetriever(_OverIndex):
    """Rank chunks by cosine similarity between the query and chunk embeddings."""

    def retrieve(
        self,
        query: str,
        k: int,
        vector: np.ndarray | None = None,
        within: Collection[str] | None = None,
    ) -> list[Passage]:
        qvec = self.embedder.embed_query(query) if vector is None else vector
        return self._passages([i for i, _ in self.store.dense(qvec, k, within)], qvec)


class BM25Retriever(_OverIndex):
    """Rank chunks by BM25 alone (for comparison); scores are still cosine similarities."""

    def retrieve(
        self,
        query: str,
        k: int,
        vector: np.ndarray | None = None,
        within: Collection[str] | None = None,
    ) -> list[Passage]:
        lexical = self.store.lexical(query, k, within)
        return self._passages(lexical, self.embedder.embed_query(query) if vector is None else vector)


class HybridRetriever(_OverIndex):
    """Dense and BM25 rankings fused by reciprocal rank fusion (weights tuned on dev splits).

    fused(chunk) = w_dense / (rrf_k + rank_dense) + w_bm25 / (rrf_k + rank_bm25), over the top
    `depth` chunks of each ranking. BM25 ranks on another thread while the vectors are searched
    (each uses one core; the question's embedding, which uses them all, comes first).
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        weight_bm25: float = 1.0,
        rrf_k: int = 2,
        depth: int = 100,
    ) -> None:
        super().__init__(store, embedder)
        self.weight_bm25 = weight_bm25
        self.rrf_k = rrf_k
        self.depth = depth

    def retrieve(
        self,
        query: str,
        k: int,
        vector: np.ndarray | None = None,
        within: Collection[str] | None = None,
    ) -> list[Passage]:
        depth = max(self.depth, k)
        qvec = self.embedder.embed_query(query) if vector is None else vector
        lexical = _threads().submit(self.store.lexical, query, depth, within)
        dense = [i for i, _ in self.store.dense(qvec, depth, within)]
        fused = fuse([dense, lexical.result()], [1.0, self.weight_bm25], self.rrf_k)
        return self._passages(fused[:k], qvec)


@functools.cache
def _threads() -> ThreadPoolExecutor:
    """The threads lexical rankings run on, beside the question's embedding and vector search."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="rag-lexical")


def fuse(rankings: list[list[int]], weights: list[float], rrf_k: int) -> list[int]:
    """Weighted reciprocal rank fusion: ids by sum(w / (rrf_k + rank)), ties by first appearance."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, i in enumerate(ranking, 1):
            scores[i] = scores.get(i, 0.0) + weight / (rrf_k + rank)
    return sorted(scores, key=lambda i: -scores[i])


def make_retriever(
    kind: str, store: Store, embedder: Embedder, weight_bm25: float = 1.0, rrf_k: int = 2
) -> Retriever:
    """The retriever named `kind`: hybrid (default), dense or bm25."""
    check_retriever(kind)
    if kind == "hybrid":
        return HybridRetriever(store, embedder, weight_bm25, rrf_k)
    if kind == "dense":
        return DenseRetriever(store, embedder)
    return BM25Retriever(store, embedder)
