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

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Protocol

from index.atomic import atomic_folder
from index.bm25 import BM25Index
from index.chunk import indexed_text
from index.embed import model_location
from rag import Assistant


class Ranker(Protocol):
    name: str

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        """Document ids, best first, at most `k`."""
        ...


def unique_documents(doc_ids: Iterable[str], k: int) -> list[str]:
    """The first `k` distinct documents of a ranking of their chunks: a document ranks by its best chunk."""
    return list(dict.fromkeys(doc_ids))[:k]


class AssistantRanker:
    """The assistant's own retriever (hybrid by default; `retriever="dense"` alone for comparison)."""

    def __init__(self, bot: Assistant, retriever: str | None = None, name: str | None = None) -> None:
        self.bot = bot
        self.retriever = retriever or bot.settings.retriever
        rerank = " + reranker" if bot.settings.reranker else ""
        self.name = name or f"ours ({self.retriever}{rerank})"

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        depth = 3 * k
        while True:
            passages = self.bot.retrieve(question, depth, within, self.retriever)
            ranked = unique_documents((p.doc_id for p in passages), k)
            if len(ranked) >= k or len(passages) < depth:
                return ranked
            depth *= 2


class BM25Ranker:
    """BM25 over whole documents (title + text), with the same tokeniser as the product's BM25."""

    name = "bm25 (bm25s)"

    def __init__(self, bot: Assistant) -> None:
        docs = bot.documents()
        self.doc_ids = [d.doc_id for d in docs]
        self._position = {d: i for i, d in enumerate(self.doc_ids)}
        self.index = BM25Index.build(
            (i, indexed_text(d.title, bot.document_text(d.doc_id))) for i, d in enumerate(docs)
        )

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        allowed = None if within is None else [self._position[d] for d in within if d in self._position]
        return [self.doc_ids[i] for i, _ in self.index.search(question, k, allowed)]


class LlamaIndexRanker:
    """llama-index's stock VectorStoreIndex on the same documents and embedding model."""

    name = "llama-index (stock)"

    def __init__(self, bot: Assistant, cache_dir: Path | None = None, progress: bool = True) -> None:
        from llama_index.core import Document, StorageContext, VectorStoreIndex, load_index_from_storage
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.embed = HuggingFaceEmbedding(model_name=model_location(bot.info().model), device="cpu")
        if cache_dir is not None and (cache_dir / "docstore.json").exists():
            storage = StorageContext.from_defaults(persist_dir=str(cache_dir))
            self.index: Any = load_index_from_storage(storage, embed_model=self.embed)
            return
        docs = [
            Document(
                text=bot.document_text(d.doc_id),
                id_=d.doc_id,
                metadata={"doc_id": d.doc_id, "title": d.title},
                excluded_embed_metadata_keys=["doc_id"],
                excluded_llm_metadata_keys=["doc_id"],
            )
            for d in bot.documents()
        ]
        self.index = VectorStoreIndex.from_documents(
            docs, embed_model=self.embed, transformations=[SentenceSplitter()], show_progress=progress
        )
        if cache_dir is not None:
            with atomic_folder(cache_dir) as tmp:
                self.index.storage_context.persist(persist_dir=str(tmp))

    def rank(self, question: str, k: int, within: Collection[str] | None = None) -> list[str]:
        from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

        filters = None
        if within is not None:
            filters = MetadataFilters(
                filters=[MetadataFilter(key="doc_id", value=list(within), operator=FilterOperator.IN)]
            )
        retriever = self.index.as_retriever(similarity_top_k=2 * k, filters=filters)
        nodes = retriever.retrieve(question)
        return unique_documents((n.node.metadata["doc_id"] for n in nodes), k)
