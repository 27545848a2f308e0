"""Retrieval systems compared by `rag eval --compare`, each ranking whole documents for a question.

- `ours`: the assistant's own retriever (hybrid by default: dense FAISS and BM25 over 128-token
  chunks, fused; a document ranks by its best chunk).
- `dense`: our FAISS search alone, over the same chunks.
- `bm25`: BM25 alone (bm25s, Lucene scoring, English stemming and stop words) over whole documents
  (title + text), as in BEIR and MTEB's bm25s baseline.
- `llama-index`: llama-index's stock pipeline: `VectorStoreIndex` with its default `SentenceSplitter`
  (1024 tokens) and `HuggingFaceEmbedding` on the same embedding model, retriever top-k.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.assistant import Assistant


class Ranker(Protocol):
    name: str

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        """Document ids, best first, at most `k`."""
        ...


def _dedupe(doc_ids: list[str], k: int) -> list[str]:
    return list(dict.fromkeys(doc_ids))[:k]


class AssistantRanker:
    """The assistant's own retriever (hybrid by default; `dense` alone for comparison)."""

    def __init__(self, bot: Assistant, name: str | None = None) -> None:
        self.bot = bot
        rerank = " + reranker" if bot.settings.reranker else ""
        self.name = name or f"ours ({bot.settings.retriever}{rerank})"

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        depth = 3 * k
        while True:
            passages = self.bot.retrieve(question, depth, within)
            ranked = _dedupe([p.doc_id for p in passages], k)
            if len(ranked) >= k or len(passages) < depth:
                return ranked
            depth *= 2


class BM25Ranker:
    """BM25 over whole documents with bm25s."""

    name = "bm25 (bm25s)"

    def __init__(self, bot: Assistant) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        docs = list(bot.store.documents.values())
        self.doc_ids = [d.doc_id for d in docs]
        self._position = {d: i for i, d in enumerate(self.doc_ids)}
        texts = [
            f"{d.title}\n{bot.store.text(d.doc_id)}" if d.title else bot.store.text(d.doc_id) for d in docs
        ]
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)
        self.model = bm25s.BM25()
        self.model.index(tokens, show_progress=False)

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        mask = None
        n = len(self.doc_ids)
        if within is not None:
            mask = np.zeros(len(self.doc_ids), dtype=np.float32)
            mask[[self._position[d] for d in within if d in self._position]] = 1.0
            n = int(mask.sum())
        if n == 0:
            return []
        query = self._bm25s.tokenize([question], stopwords="en", stemmer=self._stemmer, show_progress=False)
        if not query.vocab:
            return []
        ids, scores = self.model.retrieve(query, k=min(k, n), show_progress=False, weight_mask=mask)
        return [self.doc_ids[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


class LlamaIndexRanker:
    """llama-index's stock VectorStoreIndex on the same documents and embedding model."""

    name = "llama-index (stock)"

    def __init__(self, bot: Assistant, cache_dir: Path | None = None, progress: bool = True) -> None:
        from llama_index.core import Document, StorageContext, VectorStoreIndex, load_index_from_storage
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.embed = HuggingFaceEmbedding(model_name=_model_path(bot.store.model), device="cpu")
        if cache_dir is not None and (cache_dir / "docstore.json").exists():
            storage = StorageContext.from_defaults(persist_dir=str(cache_dir))
            self.index: Any = load_index_from_storage(storage, embed_model=self.embed)
            return
        docs = [
            Document(
                text=bot.store.text(d.doc_id),
                id_=d.doc_id,
                metadata={"doc_id": d.doc_id, "title": d.title},
                excluded_embed_metadata_keys=["doc_id"],
                excluded_llm_metadata_keys=["doc_id"],
            )
            for d in bot.store.documents.values()
        ]
        started = time.perf_counter()
        self.index = VectorStoreIndex.from_documents(
            docs, embed_model=self.embed, transformations=[SentenceSplitter()], show_progress=progress
        )
        self.build_seconds = time.perf_counter() - started
        if cache_dir is not None:  # written beside, then renamed: a killed run leaves no half cache
            tmp = cache_dir.with_name(cache_dir.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            self.index.storage_context.persist(persist_dir=str(tmp))
            shutil.rmtree(cache_dir, ignore_errors=True)
            tmp.rename(cache_dir)

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

        filters = None
        if within is not None:
            filters = MetadataFilters(
                filters=[MetadataFilter(key="doc_id", value=list(within), operator=FilterOperator.IN)]
            )
        retriever = self.index.as_retriever(similarity_top_k=2 * k, filters=filters)
        nodes = retriever.retrieve(question)
        return _dedupe([n.node.metadata["doc_id"] for n in nodes], k)


def _model_path(model: str) -> str:
    """The folder the embedding model loads from (the bundled package's, or the configured one)."""
    from index.embed import BUNDLED_NAMES, bundled_model_dir

    return str(bundled_model_dir()) if model in BUNDLED_NAMES else model
