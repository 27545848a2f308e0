"""Retrievers: the fusion rule on known rankings, and dense / BM25 / hybrid on a small index."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.build import build_index
from index.errors import InputError
from index.settings import IndexSettings
from index.store import IndexStore
from rag.retrieve import BM25Retriever, DenseRetriever, HybridRetriever, fuse, make_retriever
from rag.settings import Settings
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.unit


def test_fuse_known_rankings() -> None:
    # rrf_k = 0 makes the arithmetic plain: score = w / rank.
    assert fuse([[1, 2, 3], [3, 2, 1]], [1.0, 1.0], 0) == [
        1,
        3,
        2,
    ]  # 1+1/3 = 1+1/3 > 1/2+1/2; ties by first seen
    assert fuse([[1, 2, 3], [3, 2, 1]], [1.0, 2.0], 0) == [3, 1, 2]  # 2 + 1/3 beats 1 + 2/3
    assert fuse([[1, 2], [9]], [1.0, 1.0], 60) == [
        1,
        9,
        2,
    ]  # a single-list hit at rank 1 ties with 1; first seen wins
    assert fuse([[], [5, 6]], [1.0, 0.5], 2) == [5, 6]
    assert fuse([[4, 5]], [0.0], 2) == [4, 5]


def _store(tmp_path: Path, emb: FakeEmbedder) -> IndexStore:
    write(
        tmp_path / "docs" / "ports.txt", "The Otter Bay bonded port cleared 9,100 parcels on its first day."
    )
    write(tmp_path / "docs" / "hubs.txt", "The Walrus Point hub employs 312 packers who train every week.")
    write(tmp_path / "docs" / "rail.txt", "Freight trains from Yiwu reach Madrid in about 21 days.")
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, IndexSettings(model=emb.name))
    return IndexStore.open(tmp_path / "idx")


def test_retrievers_rank_and_score_on_the_cosine_scale(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    store = _store(tmp_path, fake_embedder)
    q = "How many packers does the Walrus Point hub employ?"
    qvec = fake_embedder.embed_query(q)
    for retriever in (
        DenseRetriever(store, fake_embedder),
        BM25Retriever(store, fake_embedder),
        HybridRetriever(store, fake_embedder),
    ):
        passages = retriever.retrieve(q, 2)
        assert passages[0].doc_id.endswith("hubs.txt"), type(retriever).__name__
        best = store.search(qvec, 3)
        cosine = {c.chunk_id: s for c, s in best}
        assert all(p.score == pytest.approx(cosine[p.chunk_id], abs=1e-5) for p in passages)
    rail = next(d for d in store.documents if d.endswith("rail.txt"))
    only = HybridRetriever(store, fake_embedder).retrieve(q, 5, within=[rail])
    assert [p.doc_id for p in only] == [rail]


def test_choosing_a_retriever(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    store = _store(tmp_path, fake_embedder)
    assert isinstance(make_retriever("bm25", store, fake_embedder), BM25Retriever)
    with pytest.raises(InputError, match="unknown retriever 'sparse'; choose one of hybrid, dense, bm25"):
        make_retriever("sparse", store, fake_embedder)
    with pytest.raises(InputError, match="unknown retriever 'sparse'"):
        Settings(retriever="sparse")
