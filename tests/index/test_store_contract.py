"""The contract every store keeps (`index.stores.Store`), run on both: the index folder and
PostgreSQL with pgvector (a real server, started by the `pg_url` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index, remove_documents
from index.chunk import indexed_text
from index.settings import IndexSettings
from index.stores import Store, open_store
from tests.conftest import FakeEmbedder, fresh_schema, write

pytestmark = pytest.mark.integration
SETTINGS = IndexSettings(chunk_size=48, chunk_overlap=8)
Where = Callable[[], str]


@pytest.fixture(params=["folder", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    """A factory of empty index addresses on one kind of store."""
    if request.param == "folder":
        counter = iter(range(100))
        return lambda: str(tmp_path / f"idx{next(counter)}")
    url = request.getfixturevalue("pg_url")
    return lambda: fresh_schema(url)


def _corpus(root: Path) -> Path:
    for i in range(6):
        write(
            root / f"doc{i}.txt",
            f"Report {i}\\n\\n" + " ".join(f"Depot {i} ships parcels of kind k{i}x{j}." for j in range(20)),
        )
    write(
        root / "walrus.md",
        "# Walrus Point\\n\\nThe Walrus Point hub employs 312 packers. It opened in 2019.\\n",
    )
    return root


def _built(where: Where, tmp_path: Path, emb: FakeEmbedder) -> tuple[Store, str, Path]:
    address = where()
    build_index([_corpus(tmp_path / "docs")], address, emb, SETTINGS)
    return open_store(address), address, tmp_path / "docs"


def test_documents_texts_and_labels_round_trip(
    where: Where, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store, _, docs = _built(where, tmp_path, fake_embedder)
    assert sorted(d.file_name for d in store.documents.values()) == [
        *(f"doc{i}.txt" for i in range(6)),
        "walrus.md",
    ]
    walrus = next(d for d in store.documents.values() if d.file_name == "walrus.md")
    assert store.text(walrus.doc_id) == (docs / "walrus.md").read_text()
    assert "Walrus Point" in store.labels(walrus.doc_id)
    assert store.n_chunks == sum(d.n_chunks for d in store.documents.values()) > 7
    chunks = store.document_chunks(walrus.doc_id)
    assert chunks and all(store.text(walrus.doc_id)[c.start : c.end] == c.text for c in chunks)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_dense_ranks_by_cosine_and_within_limits_it(
    where: Where, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store, _, _ = _built(where, tmp_path, fake_embedder)
    q = fake_embedder.embed_query("How many packers does the Walrus Point hub employ?")
    hits = store.dense(q, 5)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    best, score = store.fetch([hits[0][0]], q)[0]
    assert "312 packers" in best.text
    embedded = fake_embedder.embed_documents([indexed_text(store.documents[best.doc_id].title, best.text)])[0]
    assert np.isclose(hits[0][1], float(embedded @ q), atol=1e-4)  # the score is the cosine
    assert np.isclose(score, hits[0][1], atol=1e-5)
    doc3 = next(d.doc_id for d in store.documents.values() if d.file_name == "doc3.txt")
    assert {c.doc_id for c, _ in store.fetch([i for i, _ in store.dense(q, 5, within=[doc3])], q)} == {doc3}
    assert store.dense(q, 5, within=[]) == []


def test_lexical_finds_rare_words(where: Where, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    store, _, _ = _built(where, tmp_path, fake_embedder)
    hits = store.lexical("walrus packers", 3)
    q = fake_embedder.embed_query("walrus packers")
    assert hits and "Walrus" in store.fetch(hits, q)[0][0].text
    doc1 = next(d.doc_id for d in store.documents.values() if d.file_name == "doc1.txt")
    assert store.lexical("walrus packers", 3, within=[doc1]) == []
    assert store.lexical("?!", 3) == []


def test_fetch_reads_chunks_in_the_order_asked_with_their_cosine(
    where: Where, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store, _, _ = _built(where, tmp_path, fake_embedder)
    q = fake_embedder.embed_query("walrus packers")
    ranked = store.dense(q, 50)
    ids = [i for i, _ in ranked][::-1][:5]
    got = store.fetch([*ids, 10**12], q)  # an id not in the index is left out
    assert [c.faiss_id for c, _ in got] == ids
    cosine = dict(ranked)
    assert all(np.isclose(s, cosine[c.faiss_id], atol=1e-5) for c, s in got)
    assert store.fetch([], q) == []


def test_sentence_vectors_are_stored_with_each_document(
    where: Where, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store, _, _ = _built(where, tmp_path, fake_embedder)
    walrus = next(d for d in store.documents.values() if d.file_name == "walrus.md")
    text = store.text(walrus.doc_id)
    start, end = next(
        span
        for c in store.document_chunks(walrus.doc_id)
        for span in c.sentences
        if "312" in text[slice(*span)]
    )
    found, missing = store.sentences.lookup([(walrus.doc_id, start, end), (walrus.doc_id, 0, 1)])
    assert found is not None and missing is None
    assert np.allclose(found, fake_embedder.embed_query(text[start:end]), atol=1e-5)


def test_updates_replace_changed_documents_and_remove_vanished_ones(
    where: Where, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store, address, docs = _built(where, tmp_path, fake_embedder)
    before = store.stamp()
    again = build_index([docs], address, fake_embedder, SETTINGS)
    assert again.documents_added == () and open_store(address).stamp() == before  # nothing changed
    write(docs / "walrus.md", "# Walrus Point\\n\\nThe Walrus Point hub now employs 400 packers.\\n")
    (docs / "doc5.txt").unlink()
    report = build_index([docs], address, fake_embedder, SETTINGS)
    assert [Path(d).name for d in report.documents_added] == ["walrus.md"]
    assert [Path(d).name for d in report.documents_removed] == ["doc5.txt"]
    now = open_store(address)
    assert now.stamp() != before and len(now.documents) == 6
    q = fake_embedder.embed_query("Walrus Point packers")
    assert "400 packers" in now.fetch([now.dense(q, 1)[0][0]], q)[0][0].text
    ranked = [i for i, _ in now.dense(q, 50)]
    assert all("312" not in c.text for c, _ in now.fetch(ranked, q))  # the old version is gone whole
    doc0 = next(d.doc_id for d in now.documents.values() if d.file_name == "doc0.txt")
    assert remove_documents(address, [doc0, "not-there"]) == [doc0]
    assert doc0 not in open_store(address).documents and open_store(address).document_chunks(doc0) == []


def test_a_store_refuses_another_model_naming_both(
    where: Where, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    from index.errors import IndexMismatchError

    store, address, docs = _built(where, tmp_path, fake_embedder)
    with pytest.raises(IndexMismatchError, match="fake-embedder"):
        store.check_compatible("other-model", SETTINGS.chunking())
    with pytest.raises(IndexMismatchError, match="fake-embedder"):
        build_index([docs], address, FakeEmbedder("other-model"), SETTINGS)
