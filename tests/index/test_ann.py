"""Exact search up to a size, IVF past it (index/ann.py), through the folder store.

The vectors are a seeded mixture of clusters (a narrow unit test of the search structure); the
real-model recall figures come from `scripts/bench_scale.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import ann
from index.chunk import chunk_id
from index.store import IndexStore
from index.types import Chunk, DocumentInfo

DIM = 32
PER_DOC = 10


@pytest.fixture(autouse=True)
def small_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """IVF from 1,000 vectors on (the product switches at 50,000)."""
    monkeypatch.setattr(ann, "EXACT_UP_TO", 1_000)


def _clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(60, DIM))
    x = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _add(store: IndexStore, doc: int, vectors: np.ndarray) -> list[int]:
    doc_id = f"doc-{doc}"
    text = " ".join(f"word{doc}x{i}." for i in range(len(vectors)))
    chunks, start = [], 0
    for piece in text.split(" "):
        cid, fid = chunk_id(doc_id, start, piece)
        chunks.append(
            Chunk(cid, fid, doc_id, start, start + len(piece), piece, ((start, start + len(piece)),))
        )
        start += len(piece) + 1
    info = DocumentInfo(
        doc_id, f"{doc_id}.txt", f"{doc_id}.txt", doc_id, f"{doc:064x}", len(chunks), len(text)
    )
    store.add(info, text, chunks, vectors)
    return [c.faiss_id for c in chunks]


def _store(path: Path, docs: int, seed: int = 0) -> tuple[IndexStore, dict[int, np.ndarray]]:
    store = IndexStore(path, "test-model", DIM, {"chunk_size": 64, "chunk_overlap": 0})
    vectors = _clustered(docs * PER_DOC, seed)
    by_id: dict[int, np.ndarray] = {}
    for d in range(docs):
        rows = vectors[d * PER_DOC : (d + 1) * PER_DOC]
        by_id.update(zip(_add(store, d, rows), rows, strict=True))
    store.save()
    return store, by_id


def _exact_top(by_id: dict[int, np.ndarray], query: np.ndarray, k: int) -> list[int]:
    ids = np.array(list(by_id))
    scores = np.stack(list(by_id.values())) @ query
    return ids[np.argsort(-scores, kind="stable")[:k]].tolist()


def test_a_store_past_the_exact_size_searches_ivf_and_agrees_with_exact_search(tmp_path: Path) -> None:
    _, by_id = _store(tmp_path / "idx", docs=400)  # 4,000 vectors
    store = IndexStore.open(tmp_path / "idx")
    assert store._vectors.approximate and store._vectors._base.nlist == ann.lists_for(4_000)
    queries = _clustered(50, seed=1)
    recall = np.mean(
        [
            len({c.faiss_id for c, _ in store.search(q, 10)} & set(_exact_top(by_id, q, 10))) / 10
            for q in queries
        ]
    )
    assert recall >= 0.97


def test_a_small_store_stays_exact(tmp_path: Path) -> None:
    _, by_id = _store(tmp_path / "idx", docs=50)  # 500 vectors
    store = IndexStore.open(tmp_path / "idx")
    assert not store._vectors.approximate
    q = _clustered(1, seed=2)[0]
    assert [c.faiss_id for c, _ in store.search(q, 10)] == _exact_top(by_id, q, 10)


def test_a_search_within_documents_is_exact_on_an_ivf_index(tmp_path: Path) -> None:
    _, by_id = _store(tmp_path / "idx", docs=400)
    store = IndexStore.open(tmp_path / "idx")
    within = {f"doc-{d}" for d in range(0, 400, 37)}
    allowed = {i: by_id[i] for i in store.chunk_ids(within)}
    for q in _clustered(5, seed=3):
        assert [c.faiss_id for c, _ in store.search(q, 8, within)] == _exact_top(allowed, q, 8)


def test_changes_to_a_reopened_ivf_index_are_kept(tmp_path: Path) -> None:
    """A reopened index maps its IVF lists read-only; adding and removing still work, and save."""
    _store(tmp_path / "idx", docs=400)
    store = IndexStore.open(tmp_path / "idx")
    gone = store.chunk_ids(["doc-7"])
    store.remove("doc-7")
    fresh = _clustered(PER_DOC, seed=4)
    added = _add(store, 999, fresh)
    store.save()
    again = IndexStore.open(tmp_path / "idx")
    assert again._vectors.approximate and again.n_chunks == 400 * PER_DOC
    ids, _ = again.vectors()
    assert not set(gone) & set(ids.tolist()) and set(added) <= set(ids.tolist())
    assert again.search(fresh[3], 1)[0][0].faiss_id == added[3]
    np.testing.assert_allclose(again.vector(added[3]), fresh[3], rtol=1e-6)


def test_an_ivf_index_that_shrinks_below_half_the_size_goes_back_to_exact(tmp_path: Path) -> None:
    store, by_id = _store(tmp_path / "idx", docs=120)  # 1,200 vectors: IVF
    assert store._vectors.approximate
    for d in range(80):
        store.remove(f"doc-{d}")
    store.save()
    reopened = IndexStore.open(tmp_path / "idx")
    assert not reopened._vectors.approximate and reopened.n_chunks == 400
    kept = {i: v for i, v in by_id.items() if i in reopened.chunks}
    q = _clustered(1, seed=5)[0]
    assert [c.faiss_id for c, _ in reopened.search(q, 10)] == _exact_top(kept, q, 10)


def test_lists_grow_with_the_index() -> None:
    assert ann.lists_for(100_000) == 1024 and ann.lists_for(1_000_000) == 4096
    assert ann.probes_for(1024) == 64 and ann.probes_for(4096) == 128


def test_an_ivf_index_of_fewer_vectors_than_lists_trains_one_list_per_vector() -> None:
    vectors = _clustered(20, 0)
    ivf = ann.approximate(np.arange(20, dtype=np.int64), vectors)
    assert ivf.nlist == 20 and ivf.ntotal == 20
    _, ids = ann.search(ivf, vectors[3:4], 1, None)
    assert ids[0][0] == 3
