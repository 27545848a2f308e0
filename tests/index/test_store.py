"""The FAISS store: exact search, round trips, atomic writes, clear errors on bad folders."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
)
from index.settings import IndexSettings
from index.store import IndexStore
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.unit

SETTINGS = IndexSettings(chunk_size=48, chunk_overlap=8)


def _corpus(root: Path, n: int = 12) -> Path:
    for i in range(n):
        write(
            root / f"doc{i}.txt",
            " ".join(f"Document {i} part {j} is about topic{i % 4} w{i}x{j}." for j in range(30)),
        )
    return root


def _build(tmp_path: Path, emb: FakeEmbedder) -> Path:
    build_index([_corpus(tmp_path / "docs")], tmp_path / "idx", emb, SETTINGS)
    return tmp_path / "idx"


def test_search_equals_numpy_brute_force(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    store = IndexStore.open(_build(tmp_path, fake_embedder))
    ids, vectors = store.vectors()
    assert len(ids) == len(store.chunks) > 12
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.normal(size=store.dimension).astype(np.float32)
        q /= np.linalg.norm(q)
        scores = vectors @ q
        expected = ids[np.argsort(-scores)[:7]]
        got = [c.faiss_id for c, _ in store.search(q, 7)]
        assert got == expected.tolist()
        assert [s for _, s in store.search(q, 7)] == pytest.approx(
            np.sort(scores)[::-1][:7].tolist(), abs=1e-5
        )


def test_search_within_documents_equals_brute_force_on_their_chunks(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store = IndexStore.open(_build(tmp_path, fake_embedder))
    ids, vectors = store.vectors()
    within = {d for d in store.documents if d.endswith(("doc3.txt", "doc7.txt"))}
    assert len(within) == 2
    mask = np.array([store.chunks[int(i)].doc_id in within for i in ids])
    q = vectors[0] + vectors[-1]
    q /= np.linalg.norm(q)
    scores = vectors @ q
    got = store.search(q, 1000, within)
    assert sorted(c.faiss_id for c, _ in got) == sorted(ids[mask].tolist())
    assert [s for _, s in got] == pytest.approx(sorted(scores[mask].tolist(), reverse=True), abs=1e-5)
    assert {c.doc_id for c, _ in got} == within
    assert store.search(q, 5, {"no-such-doc"}) == []


def test_save_load_round_trip(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    idx = _build(tmp_path, fake_embedder)
    store = IndexStore.open(idx)
    again = IndexStore.open(idx)
    assert again.chunks == store.chunks and again.documents == store.documents
    doc_id = next(iter(store.documents))
    assert again.text(doc_id) == Path(doc_id).read_text()
    manifest = json.loads((idx / "manifest.json").read_text())
    assert manifest["model"] == {"name": "fake-embedder", "dimension": 64}
    assert manifest["chunking"] == {"chunk_size": 48, "chunk_overlap": 8}
    assert manifest["format_version"] == 2
    assert sorted(p.name for p in idx.iterdir() if not p.name.startswith(".")) == [
        "bm25.1",
        "chunks.1.docs.json",
        "chunks.1.jsonl",
        "chunks.1.rows.npy",
        "documents.1.jsonl",
        "documents.1.rows.json",
        "manifest.json",
        "readers.1.lock",
        "sentences.1",
        "texts",
        "vectors.1.faiss",
    ]


def test_sentence_vectors_are_stored_at_index_time(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    idx = _build(tmp_path, fake_embedder)
    store = IndexStore.open(idx)
    keys = [(c.doc_id, s, e) for c in store.chunks.values() for s, e in c.sentences]
    found = store.sentences.lookup(keys)
    assert keys and all(v is not None for v in found) and len(store.sentences) == len(set(keys))
    texts = [store.text(d)[s:e] for d, s, e in keys]
    assert np.allclose(np.stack(found), fake_embedder.embed_documents(texts), atol=1e-6)  # type: ignore[arg-type]
    assert store.sentences.lookup([(keys[0][0], 0, 1), ("no-such-doc", 0, 5)]) == [None, None]

    doc_id = keys[0][0]
    store.remove(doc_id)
    store.save()
    again = IndexStore.open(idx)
    assert all(v is None for v in again.sentences.lookup([k for k in keys if k[0] == doc_id]))
    kept = [k for k in keys if k[0] != doc_id]
    assert np.allclose(np.stack(again.sentences.lookup(kept)), np.stack([found[keys.index(k)] for k in kept]))  # type: ignore[arg-type]


def test_an_index_without_stored_sentences_still_loads(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """Indexes built before sentence vectors were stored: their sentences are embedded when asked for."""
    idx = _build(tmp_path, fake_embedder)
    manifest = json.loads((idx / "manifest.json").read_text())
    del manifest["files"]["sentences"]
    (idx / "manifest.json").write_text(json.dumps(manifest))
    store = IndexStore.open(idx)
    chunk = next(iter(store.chunks.values()))
    assert len(store.sentences) == 0 and store.sentences.lookup([(chunk.doc_id, *chunk.sentences[0])]) == [
        None
    ]


def _as_format_1(idx: Path) -> None:
    """Put an index back into format 1's shape: documents listed in the manifest, no row files."""
    manifest = json.loads((idx / "manifest.json").read_text())
    manifest["documents"] = [asdict(d) for _, d in sorted(IndexStore.open(idx).documents.items())]
    for key in ("chunk_rows", "documents", "document_rows"):
        (idx / manifest["files"].pop(key)).unlink()
    manifest["format_version"] = 1
    (idx / "manifest.json").write_text(json.dumps(manifest))


def test_an_index_of_format_1_still_loads_and_is_written_as_format_2_at_the_next_save(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """Indexes written before the document and chunk row files existed are read whole, as they were."""
    idx = _build(tmp_path, fake_embedder)
    built = IndexStore.open(idx)
    _as_format_1(idx)
    old = IndexStore.open(idx)
    assert old.chunks == built.chunks and old.documents == built.documents
    doc = sorted(old.documents)[3]
    assert [c.faiss_id for c in old.document_chunks(doc)] == [c.faiss_id for c in built.document_chunks(doc)]
    old.remove(sorted(old.documents)[0])
    old.save()
    again = IndexStore.open(idx)
    manifest = json.loads((idx / "manifest.json").read_text())
    assert manifest["format_version"] == 2 and "documents" not in manifest
    assert {"chunk_rows", "documents", "document_rows"} <= set(manifest["files"])
    assert again.documents == old.documents and len(again.documents) == len(built.documents) - 1
    assert again.chunks == old.chunks and len(again.chunks) < len(built.chunks)
    assert again.document_chunks(doc) == built.document_chunks(doc)


def test_missing_index_says_run_rag_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="run `rag index"):
        IndexStore.open(tmp_path / "nothing")


def test_corrupt_manifest_and_vectors(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    idx = _build(tmp_path, fake_embedder)
    (idx / "vectors.1.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="damaged.*--rebuild"):
        IndexStore.open(idx)
    (idx / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable manifest.json"):
        IndexStore.open(idx)


def test_unknown_format_version(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    idx = _build(tmp_path, fake_embedder)
    manifest = json.loads((idx / "manifest.json").read_text())
    manifest["format_version"] = 99
    (idx / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format version 99.*reads versions 1, 2"):
        IndexStore.open(idx)


def test_model_mismatch_names_both_models(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    idx = _build(tmp_path, fake_embedder)
    other = FakeEmbedder(name="other-model")
    with pytest.raises(IndexMismatchError, match="'fake-embedder', not 'other-model'.*--rebuild"):
        build_index([tmp_path / "docs"], idx, other, SETTINGS)


@pytest.mark.parametrize(
    "where",
    [
        "index.vectors.np.savez",
        "index.chunk_table.write_text",
        "index.bm25.BM25Index.save",
        "index.store.write_text",
    ],
)
def test_crash_while_saving_leaves_previous_index_loadable(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Ctrl-C at each step of a save (the vector changes, chunk records, BM25, the manifest)."""
    idx = _build(tmp_path, fake_embedder)
    before = IndexStore.open(idx)
    write(tmp_path / "docs" / "new.txt", "A brand new document about zebras. " * 20)

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as if Ctrl-C arrived mid-write

    monkeypatch.setattr(where, crash)
    with pytest.raises(KeyboardInterrupt):
        build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)
    monkeypatch.undo()
    after = IndexStore.open(idx)
    assert after.documents == before.documents and after.chunks == before.chunks
    assert not [p for p in idx.iterdir() if p.name.endswith(".tmp")]
    build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)  # the same command again succeeds
    assert len(IndexStore.open(idx).documents) == len(before.documents) + 1


def test_a_small_change_links_every_base_and_writes_only_the_changes(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    idx = tmp_path / "idx"
    build_index([_corpus(tmp_path / "docs", n=30)], idx, fake_embedder, SETTINGS)
    reader = IndexStore.open(idx)  # holds generation 1, so its files stay to compare with
    (tmp_path / "docs" / "doc3.txt").unlink()
    write(tmp_path / "docs" / "new.txt", "A new note about zebra parcels in Ningbo. " * 4)
    build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)
    files = json.loads((idx / "manifest.json").read_text())["files"]
    assert {"vector_changes", "chunk_changes", "document_changes"} <= set(files)
    assert (idx / "bm25.2" / "changes.json").exists() and (idx / "sentences.2" / "changes").is_dir()
    for first, second in (("vectors.1.faiss", files["vectors"]), ("chunks.1.jsonl", files["chunks"])):
        assert (idx / first).stat().st_ino == (idx / second).stat().st_ino  # linked, not copied
    changed = IndexStore.open(idx)
    build_index([tmp_path / "docs"], tmp_path / "fresh", fake_embedder, SETTINGS)
    fresh = IndexStore.open(tmp_path / "fresh")
    assert changed.documents == fresh.documents and changed.chunks == fresh.chunks
    query = fake_embedder.embed_query("zebra parcels")
    assert [c.faiss_id for c, _ in changed.search(query, 8)] == [
        c.faiss_id for c, _ in fresh.search(query, 8)
    ]
    assert changed.chunks[changed.bm25.search("zebra Ningbo", 1)[0][0]].doc_id.endswith("new.txt")
    assert not any(c.doc_id.endswith("doc3.txt") for c, _ in changed.search(query, 100))
    del reader


def test_compacting_writes_every_base_anew_and_answers_the_same(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    from index.build import compact_index

    idx = tmp_path / "idx"
    build_index([_corpus(tmp_path / "docs", n=30)], idx, fake_embedder, SETTINGS)
    (tmp_path / "docs" / "doc3.txt").unlink()
    write(tmp_path / "docs" / "new.txt", "A new note about zebra parcels in Ningbo. " * 4)
    build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)
    changed = IndexStore.open(idx)
    query = fake_embedder.embed_query("zebra parcels")
    compacted = compact_index(idx)
    files = json.loads((idx / "manifest.json").read_text())["files"]
    assert not {"vector_changes", "chunk_changes", "document_changes"} & set(files)
    assert not (idx / files["bm25"] / "changes.json").exists()
    assert not (idx / files["sentences"] / "changes").exists()
    again = IndexStore.open(idx)
    assert again.documents == changed.documents and again.chunks == changed.chunks
    assert again.generation == compacted.generation == changed.generation + 1
    assert [c.faiss_id for c, _ in again.search(query, 8)] == [
        c.faiss_id for c, _ in changed.search(query, 8)
    ]
    assert sorted(again.bm25.live_ids()) == sorted(again.chunks)


def test_compacting_a_database_says_it_needs_none_without_its_password() -> None:
    from index.build import compact_index

    with pytest.raises(InputError, match=r"change in place and need no compacting") as caught:
        compact_index("postgresql://me:secret@localhost/db")
    assert "secret" not in str(caught.value)


def test_bm25_is_stored_and_follows_every_change(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    docs = _corpus(tmp_path / "docs", n=4)
    write(docs / "extra.txt", "The zebra logistics park ships 40,000 parcels a day from Ningbo.")
    idx = tmp_path / "idx"
    build_index([docs], idx, fake_embedder, SETTINGS)
    store = IndexStore.open(idx)
    assert store._bm25 is not None  # loaded from bm25.1/, not rebuilt
    hits = store.bm25.search("zebra parcels Ningbo", 3)
    assert store.chunks[hits[0][0]].doc_id.endswith("extra.txt")
    # Within limits the ids searched.
    doc0 = next(d for d in store.documents if d.endswith("doc0.txt"))
    assert {
        store.chunks[i].doc_id for i, _ in store.bm25.search("Document part", 50, store.chunk_ids([doc0]))
    } == {doc0}
    # Removing a document updates the stored BM25 in the new generation; old files nobody reads are collected.
    del store
    (docs / "extra.txt").unlink()
    build_index([docs], idx, fake_embedder, SETTINGS)
    assert sorted(p.name for p in idx.iterdir() if p.name.startswith("bm25")) == ["bm25.2"]
    again = IndexStore.open(idx)
    assert all(
        not again.chunks[i].doc_id.endswith("extra.txt") for i, _ in again.bm25.search("zebra Ningbo", 5)
    )
    assert sorted(again.bm25.live_ids()) == sorted(again.chunks)  # one removal: on top of the base


def test_a_generation_an_open_store_reads_is_kept_until_it_is_closed(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = _corpus(tmp_path / "docs", n=3)
    idx = tmp_path / "idx"
    build_index([docs], idx, fake_embedder, SETTINGS)
    reader = IndexStore.open(idx)  # a server answering from generation 1
    removed = next(d for d in reader.documents if d.endswith("doc0.txt"))
    (docs / "doc0.txt").unlink()
    build_index([docs], idx, fake_embedder, SETTINGS)  # generation 2, written beside it
    assert (idx / "vectors.1.faiss").exists() and (idx / "bm25.1").exists()
    assert reader.text(removed).startswith("Document 0")  # its removed document still reads
    del reader  # the server moved on
    write(docs / "doc9.txt", "Document 9 arrives later.")
    build_index([docs], idx, fake_embedder, SETTINGS)  # generation 3 collects generation 1
    names = {p.name for p in idx.iterdir()}
    assert "vectors.1.faiss" not in names and "bm25.1" not in names and "vectors.3.faiss" in names
    assert len(list((idx / "texts").iterdir())) == 3


def test_a_full_disk_names_the_cause_cleans_its_files_and_the_next_run_succeeds(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = _build(tmp_path, fake_embedder)
    before = IndexStore.open(idx)
    write(tmp_path / "docs" / "new.txt", "A brand new document about zebras. " * 20)
    import errno

    from index.bm25 import BM25Index

    def disk_full(self: object, folder: Path) -> None:
        (folder / "part").write_bytes(b"half written")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(BM25Index, "save", disk_full)
    with pytest.raises(
        IndexWriteError,
        match=r"could not save index .*: the disk is full; the previous version is unchanged\. Free space",
    ):
        build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)
    monkeypatch.undo()
    leftovers = [p.name for p in idx.iterdir() if ".2" in p.name or p.name.endswith(".tmp")]
    assert leftovers == []  # generation 2's vectors and chunks went with the failure
    assert len(list((idx / "texts").iterdir())) == len(before.documents)
    after = IndexStore.open(idx)
    assert after.documents == before.documents and after.chunks == before.chunks
    build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)  # space again: it just works
    assert len(IndexStore.open(idx).documents) == len(before.documents) + 1


def test_a_crafted_manifest_cannot_name_files_outside_the_index(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    idx = _build(tmp_path, fake_embedder)
    store = IndexStore.open(idx)
    doc_id = sorted(store.documents)[0]
    store.documents[doc_id] = replace(store.documents[doc_id], content_hash="../../secret")
    store.save()  # a record naming a path: read as asked for, and refused then
    crafted = IndexStore.open(idx)
    with pytest.raises(IndexCorruptError, match=r"invalid content_hash \('../../secret'\).*--rebuild"):
        crafted.text(doc_id)
    _as_format_1(idx)  # format 1 listed the records in the manifest: refused at open
    manifest = json.loads((idx / "manifest.json").read_text())
    with pytest.raises(IndexCorruptError, match=r"invalid names \(content_hash='../../secret'\).*--rebuild"):
        IndexStore.open(idx)
    manifest["documents"][0]["content_hash"] = "0" * 64
    manifest["files"]["chunks"] = "/etc/passwd"
    (idx / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="chunks='/etc/passwd'"):
        IndexStore.open(idx)


def test_an_index_whose_text_has_no_words_still_saves_loads_and_searches(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    write(tmp_path / "docs" / "dots.txt", "… . , ;")  # what a file of one 10 MB "word" becomes
    idx = tmp_path / "idx"
    build_index([tmp_path / "docs"], idx, fake_embedder, SETTINGS)
    store = IndexStore.open(idx)
    assert len(store.chunks) == 1 and store.bm25.search("anything at all", 5) == []
