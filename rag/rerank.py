"""Optional reranking: a sentence-transformers CrossEncoder re-orders the retrieved passages.

Off by default: no reranker weights ship with the project, and these machines cannot download any.
Name a cross-encoder (a local folder, or a hub id where the network allows) in
`Settings.reranker` or `rag ask --reranker`; the retriever then fetches `rerank_depth` passages and
the cross-encoder picks the best `k` of them. Passage scores stay cosine similarities, so the
answerer and its refusal rule see the same scale with or without a reranker.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from index.embed import load_cross_encoder, load_once
from rag.retrieve import Retriever
from rag.types import Passage


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder, loaded once per process for each name."""

    def __init__(self, name: str, model: Any, batch_size: int = 32) -> None:
        self.name = name
        self.model = model
        self.batch_size = batch_size

    @classmethod
    def load(cls, name: str) -> CrossEncoderReranker:
        """Load the cross-encoder `name` (a local folder or a hub id), or reuse it if loaded already."""
        expected = "a sentence-transformers CrossEncoder, or leave the reranker off"
        return load_once("reranker", name, lambda: cls(name, load_cross_encoder(name, "reranker", expected)))

    def scores(self, query: str, passages: list[Passage]) -> np.ndarray:
        """The cross-encoder's relevance score of each passage for `query`."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        pairs = [(query, p.text) for p in passages]
        out = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32).reshape(len(passages), -1)[:, -1]

    def rerank(self, query: str, passages: list[Passage], k: int) -> list[Passage]:
        """The `k` passages the cross-encoder scores highest, best first (ties keep retrieval order)."""
        order = np.argsort(-self.scores(query, passages), kind="stable")
        return [passages[i] for i in order[:k]]


class RerankingRetriever:
    """Fetch `depth` passages with `base`, then keep the `k` the reranker scores highest."""

    def __init__(self, base: Retriever, reranker: CrossEncoderReranker, depth: int = 20) -> None:
        self.base = base
        self.reranker = reranker
        self.depth = depth

    def retrieve(
        self,
        query: str,
        k: int,
        vector: np.ndarray | None = None,
        within: Collection[str] | None = None,
    ) -> list[Passage]:
        candidates = self.base.retrieve(query, max(self.depth, k), vector, within)
        return self.reranker.rerank(query, candidates, k)
