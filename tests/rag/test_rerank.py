"""The optional CrossEncoder reranker, with a tiny cross-encoder the test builds and saves locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.errors import ModelLoadError
from index.settings import IndexSettings
from index.store import IndexStore
from rag.assistant import Assistant
from rag.rerank import CrossEncoderReranker, RerankingRetriever
from rag.retrieve import DenseRetriever
from rag.settings import Settings
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.integration  # a tiny cross-encoder is built, saved and loaded


def _store(tmp_path: Path, emb: FakeEmbedder) -> IndexStore:
    for i, text in enumerate(
        [
            "The Otter Bay bonded port cleared 9,100 parcels on its first day.",
            "The Walrus Point hub employs 312 packers who train every week.",
            "Freight trains from Yiwu reach Madrid in about 21 days.",
            "Parcels at Otter Bay are weighed twice before they leave the port.",
        ]
    ):
        write(tmp_path / "docs" / f"d{i}.txt", text)
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, IndexSettings(model=emb.name))
    return IndexStore.open(tmp_path / "idx")


def test_reranker_orders_passages_by_the_cross_encoders_scores(
    tmp_path: Path, fake_embedder: FakeEmbedder, tiny_cross_encoder: Path
) -> None:
    store = _store(tmp_path, fake_embedder)
    reranker = CrossEncoderReranker.load(str(tiny_cross_encoder))
    assert (
        CrossEncoderReranker.load(str(tiny_cross_encoder)).model is reranker.model
    )  # loaded once per process
    base = DenseRetriever(store, fake_embedder)
    query = "How many parcels did the Otter Bay port clear?"
    candidates = base.retrieve(query, 4)
    expected = reranker.model.model.predict([(query, p.text) for p in candidates])
    want = [candidates[i].chunk_id for i in np.argsort(-np.asarray(expected), kind="stable")]

    reranked = RerankingRetriever(base, reranker, depth=4).retrieve(query, 2)
    assert [p.chunk_id for p in reranked] == want[:2]
    # scores stay the retriever's cosine similarities, whatever the order
    cosine = {p.chunk_id: p.score for p in candidates}
    assert all(p.score == cosine[p.chunk_id] for p in reranked)


def test_assistant_orders_passages_by_the_configured_reranker(
    tmp_path: Path, fake_embedder: FakeEmbedder, tiny_cross_encoder: Path
) -> None:
    store = _store(tmp_path, fake_embedder)
    settings = Settings(index=IndexSettings(model=fake_embedder.name), reranker=str(tiny_cross_encoder))
    bot = Assistant(store, fake_embedder, settings)
    query = "Otter Bay parcels"
    plain = bot.with_settings(reranker=None).retrieve(query, k=4)  # rerank_depth 20 > 4 chunks: all of them
    scores = CrossEncoderReranker.load(str(tiny_cross_encoder)).scores(query, plain)
    want = [plain[i].chunk_id for i in np.argsort(-scores, kind="stable")]
    assert [p.chunk_id for p in bot.retrieve(query, k=3)] == want[:3]
    assert want[:3] != [p.chunk_id for p in plain[:3]]  # the reranker, not retrieval, set this order


def test_a_missing_reranker_fails_with_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="reranker path '/nonexistent/ce' does not exist"):
        CrossEncoderReranker.load("/nonexistent/ce")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"could not load reranker .*give a local model folder"):
        CrossEncoderReranker.load(str(empty))
