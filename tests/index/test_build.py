"""Incremental indexing: only new or changed documents are embedded; deleted ones disappear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.build import build_index
from index.errors import InputError
from index.limits import Limits
from index.settings import IndexSettings
from index.store import IndexStore
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.unit

SETTINGS = IndexSettings(chunk_size=48, chunk_overlap=8)


def test_reindex_touches_only_what_changed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs / "keep.txt", "Hangzhou hosted the first pilot zone in 2015. " * 5)
    write(docs / "change.txt", "Temu runs a fully managed model. " * 5)
    write(docs / "delete.txt", "This file will be deleted soon. " * 5)
    emb = FakeEmbedder()
    first = build_index([docs], tmp_path / "idx", emb, SETTINGS)
    assert len(first.documents_added) == 3
    keep_chunks = {
        c.chunk_id for c in IndexStore.open(tmp_path / "idx").chunks.values() if "keep" in c.doc_id
    }

    write(docs / "change.txt", "Temu changed its model to semi-managed. " * 5)
    (docs / "delete.txt").unlink()
    write(docs / "added.txt", "A new file about JD Logistics. " * 5)
    emb.embedded.clear()
    second = build_index([docs], tmp_path / "idx", emb, SETTINGS)

    assert sorted(Path(d).name for d in second.documents_added) == ["added.txt", "change.txt"]
    assert [Path(d).name for d in second.documents_removed] == ["delete.txt"]
    assert second.documents_unchanged == 1
    assert not any("Hangzhou" in t for t in emb.embedded)  # unchanged file not re-embedded
    store = IndexStore.open(tmp_path / "idx")
    assert sorted(Path(d).name for d in store.documents) == ["added.txt", "change.txt", "keep.txt"]
    assert {c.chunk_id for c in store.chunks.values() if "keep" in c.doc_id} == keep_chunks
    assert not any("fully managed" in c.text for c in store.chunks.values())
    assert len(list((tmp_path / "idx" / "texts").iterdir())) == 3

    emb.embedded.clear()
    third = build_index([docs], tmp_path / "idx", emb, SETTINGS)
    assert third.documents_added == () and emb.embedded == [] and third.documents_unchanged == 3


def test_other_roots_are_kept(tmp_path: Path) -> None:
    write(tmp_path / "a" / "one.txt", "First folder text. " * 5)
    write(tmp_path / "b" / "two.txt", "Second folder text. " * 5)
    emb = FakeEmbedder()
    build_index([tmp_path / "a"], tmp_path / "idx", emb, SETTINGS)
    report = build_index([tmp_path / "b"], tmp_path / "idx", emb, SETTINGS)
    assert report.documents_total == 2 and report.documents_removed == ()


def test_unreadable_file_keeps_its_previous_version(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "Readable now. " * 5)
    emb = FakeEmbedder()
    build_index([tmp_path / "d"], tmp_path / "idx", emb, SETTINGS)
    write(tmp_path / "d" / "a.txt", b"\x00\x01 now binary")
    report = build_index([tmp_path / "d"], tmp_path / "idx", emb, SETTINGS)
    assert report.documents_removed == () and report.documents_total == 1
    assert "binary" in report.skipped[0].reason


def test_bad_path_changes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "Some text. " * 5)
    emb = FakeEmbedder()
    build_index([tmp_path / "d"], tmp_path / "idx", emb, SETTINGS)
    manifest = (tmp_path / "idx" / "manifest.json").read_text()
    with pytest.raises(InputError, match="'.*missing' does not exist"):
        build_index([tmp_path / "d", tmp_path / "missing"], tmp_path / "idx", emb, SETTINGS)
    assert (tmp_path / "idx" / "manifest.json").read_text() == manifest


def test_nothing_indexable_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", b"")
    with pytest.raises(InputError, match="no documents could be indexed.*empty file"):
        build_index([tmp_path / "d"], tmp_path / "idx", FakeEmbedder(), SETTINGS)


def test_summary_lists_skipped_files(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "Good text. " * 5)
    write(tmp_path / "d" / "b.txt", b"")
    report = build_index([tmp_path / "d"], tmp_path / "idx", FakeEmbedder(), SETTINGS)
    summary = report.summary()
    assert "1 new or changed documents from 2 files" in summary
    assert "b.txt: empty file" in summary


def test_rebuild_writes_new_file_names(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "Some text. " * 5)
    emb = FakeEmbedder()
    build_index([tmp_path / "d"], tmp_path / "idx", emb, SETTINGS)
    build_index([tmp_path / "d"], tmp_path / "idx", emb, SETTINGS, rebuild=True)
    names = sorted(p.name for p in (tmp_path / "idx").iterdir() if p.suffix in (".faiss", ".jsonl"))
    assert names == [
        "chunks.2.jsonl",
        "documents.2.jsonl",
        "vectors.2.faiss",
    ]  # the old generation was never overwritten
    assert IndexStore.open(tmp_path / "idx").generation == 2


def test_remove_documents(tmp_path: Path) -> None:
    from index.build import remove_documents

    write(tmp_path / "d" / "a.txt", "Alpha text. " * 5)
    write(tmp_path / "d" / "b.txt", "Beta text. " * 5)
    build_index([tmp_path / "d"], tmp_path / "idx", FakeEmbedder(), SETTINGS)
    a = str((tmp_path / "d" / "a.txt").resolve())
    assert remove_documents(tmp_path / "idx", [a, "not-there"]) == [a]
    store = IndexStore.open(tmp_path / "idx")
    assert list(store.documents) == [str((tmp_path / "d" / "b.txt").resolve())]
    assert all(c.doc_id != a for c in store.chunks.values())


def test_jsonl_metadata_is_kept_and_a_change_to_it_reindexes_the_record(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    record = {
        "id": "n1",
        "title": "Charging gadgets",
        "text": "Travel adapters charge phones.",
        "source": "Wired",
    }
    write(docs / "news.jsonl", json.dumps(record) + "\n")
    write(docs / "annual-report-2024.txt", "Sales rose in the second half.")
    emb = FakeEmbedder()
    build_index([docs], tmp_path / "idx", emb, SETTINGS)
    store = IndexStore.open(tmp_path / "idx")
    assert store.documents["n1"].metadata == {"source": "Wired"}
    # what names a document: title and metadata; a whole file's name, not a collection's
    assert store.labels("n1").split("\n") == ["Charging gadgets", "", "Wired"]
    report = next(d for d in store.documents if d.endswith(".txt"))
    assert store.labels(report).split("\n") == ["", "annual-report-2024"]

    write(docs / "news.jsonl", json.dumps(record | {"source": "The Verge"}) + "\n")
    again = build_index([docs], tmp_path / "idx", emb, SETTINGS)
    assert again.documents_added == ("n1",)
    assert IndexStore.open(tmp_path / "idx").documents["n1"].metadata == {"source": "The Verge"}


def test_an_index_from_before_stored_sentences_gets_them_on_the_next_run(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.txt", "Hangzhou hosted the first pilot zone in 2015. It grew to 12 more cities in 2016.")
    emb = FakeEmbedder()
    build_index([docs], tmp_path / "idx", emb, SETTINGS)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    del manifest["files"]["sentences"]  # as written before sentence vectors were stored
    (tmp_path / "idx" / "manifest.json").write_text(json.dumps(manifest))
    assert len(IndexStore.open(tmp_path / "idx").sentences) == 0

    emb.embedded.clear()
    report = build_index([docs], tmp_path / "idx", emb, SETTINGS)
    assert report.documents_added == () and report.documents_unchanged == 1
    assert emb.embedded == [
        "Hangzhou hosted the first pilot zone in 2015.",
        "It grew to 12 more cities in 2016.",
    ]  # the sentences only: no chunk is embedded again
    assert len(IndexStore.open(tmp_path / "idx").sentences) == 2


def test_a_file_cannot_replace_a_document_another_file_owns(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.jsonl", json.dumps({"id": "pilot-zones", "text": "China has 165 pilot zones."}) + "\n")
    idx = tmp_path / "idx"
    build_index([docs / "a.jsonl"], idx, fake_embedder, SETTINGS)
    write(
        tmp_path / "up" / "b.jsonl", json.dumps({"id": "pilot-zones", "text": "3, says the hijacker."}) + "\n"
    )
    write(tmp_path / "up" / "c.txt", "Another document.")
    report = build_index([tmp_path / "up"], idx, fake_embedder, SETTINGS)
    assert [s.reason for s in report.skipped if "b.jsonl" in s.path] == [
        f"document id 'pilot-zones' belongs to '{(docs / 'a.jsonl').resolve()}#pilot-zones'; a file can only "
        "replace its own documents: give the record another id"
    ]
    store = IndexStore.open(idx)
    assert store.text("pilot-zones") == "China has 165 pilot zones."


def test_an_index_folder_inside_its_source_folder_never_indexes_itself(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.txt", "The only document.")
    for _ in range(3):
        report = build_index([docs], docs / "index", fake_embedder, SETTINGS)
    assert report.documents_total == 1 and report.skipped == ()


def test_a_document_past_the_chunk_limit_is_skipped_and_the_rest_indexed(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = tmp_path / "docs"
    write(docs / "long.txt", " ".join(f"Sentence number {i} is here." for i in range(400)))
    write(docs / "short.txt", "A short one.")
    report = build_index(
        [docs], tmp_path / "idx", fake_embedder, SETTINGS, limits=Limits(max_chunks_per_document=5)
    )
    assert report.documents_total == 1
    [skip] = report.skipped
    assert skip.path.endswith("long.txt") and "over the 5 limit (RAG_MAX_CHUNKS_PER_DOCUMENT)" in skip.reason


def test_the_summary_escapes_control_characters_in_names(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    write(tmp_path / "docs" / "ok.txt", "Fine.")
    write(tmp_path / "docs" / "bell\x07\x1b[31m.txt", b"")
    summary = build_index([tmp_path / "docs"], tmp_path / "idx", fake_embedder, SETTINGS).summary()
    assert "bell\\x07\\x1b[31m.txt: empty file" in summary and "\x07" not in summary


class _StopsAfter(FakeEmbedder):
    """Embeds until it has embedded `limit` texts, then is interrupted as by Ctrl-C."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        if len(self.embedded) >= self.limit:
            raise KeyboardInterrupt
        return super().embed_documents(texts)


def test_a_stopped_run_keeps_its_saved_documents_and_the_next_does_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.build

    monkeypatch.setattr(index.build, "CHECKPOINT_SECONDS", 0.0)  # save after every batch
    monkeypatch.setattr(index.build, "WRITE_BATCH_CHUNKS", 2)
    for i in range(8):
        write(tmp_path / "docs" / f"d{i}.txt", f"Depot {i} ships {i} parcels. It opened in {2000 + i}.\n")
    settings = IndexSettings(chunk_size=48, chunk_overlap=8)
    with pytest.raises(KeyboardInterrupt):
        build_index([tmp_path / "docs"], tmp_path / "idx", _StopsAfter(10), settings)
    kept = set(IndexStore.open(tmp_path / "idx").documents)
    assert 0 < len(kept) < 8
    finish = FakeEmbedder()
    report = build_index([tmp_path / "docs"], tmp_path / "idx", finish, settings)
    assert set(report.documents_added).isdisjoint(kept) and report.documents_unchanged == len(kept)
    assert len(IndexStore.open(tmp_path / "idx").documents) == 8
