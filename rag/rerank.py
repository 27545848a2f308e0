"""Optional reranking: a sentence-transformers CrossEncoder re-orders the retrieved passages.

Off by default: no reranker weights ship with the project, and these machines cannot download any.
Name a cross-encoder (a local folder, or a hub id where the network allows) in
`Settings.reranker` or `rag ask --reranker`; the retriever then fetches `rerank_depth` passages and
the cross-encoder picks the best `k` of them. Passage scores stay cosine similarities, so the
answerer and its refusal rule see the same scale with or without a reranker.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from index.embed import CrossEncoderModel
from rag.retrieve import Retriever
from rag.types import Passage


class CrossEncoderReranker:
    """Re-orders passages by a sentence-transformers CrossEncoder's scores."""

    def __init__(self, model: CrossEncoderModel) -> None:
        self.model = model

    @classmethod
    def load(cls, name: str) -> CrossEncoderReranker:
        """The cross-encoder `name` (a local folder or a hub id); the model is loaded once per process."""
        return cls(
            CrossEncoderModel.load(
                name, "reranker", "a sentence-transformers CrossEncoder, or leave the reranker off"
            )
        )

    def scores(self, query: str, passages: list[Passage]) -> np.ndarray:
        """The cross-encoder's relevance score of each passage for `query`."""
        return self.model.scores([(query, p.text) for p in passages])

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
