"""Chunk records read from their file on demand (index/chunk_table.py)."""

from __future__ import annotations

from pathlib import Path

from index.chunk_table import ChunkTable
from index.types import Chunk


def _chunks(doc_id: str, n: int, base: int) -> list[Chunk]:
    return [
        Chunk(
            f"{doc_id}-{i}",
            base + i,
            doc_id,
            10 * i,
            10 * i + 9,
            f"text {doc_id} {i} é",
            ((10 * i, 10 * i + 9),),
        )
        for i in range(n)
    ]


def _saved(table: ChunkTable, folder: Path, doc_ids: list[str]) -> ChunkTable:
    folder.mkdir()
    lines, rows, docs, changes = (
        folder / n for n in ("chunks.jsonl", "rows.npy", "docs.json", "changes.json")
    )
    wrote = table.save(lines, rows, docs, changes, doc_ids)
    return ChunkTable.load(lines, rows, docs, changes if wrote else None, doc_ids)


def test_a_written_table_reads_back_every_chunk_by_id_and_by_document(tmp_path: Path) -> None:
    table = ChunkTable()
    docs = {"b": _chunks("b", 3, 900), "a": _chunks("a", 2, 5), "c": _chunks("c", 4, 50)}
    for doc_id, chunks in docs.items():
        table.add(doc_id, chunks)
    read = _saved(table, tmp_path / "one", ["a", "b", "c", "empty"])
    assert len(read) == 9 and dict(read.items()) == {c.faiss_id: c for cs in docs.values() for c in cs}
    assert read.ids_of("b") == [900, 901, 902] and read.ids_of("empty") == [] and read.ids_of("nope") == []
    assert 901 in read and 7 not in read and "901" not in read


def test_changes_after_reading_are_seen_at_once_and_written_next_time(tmp_path: Path) -> None:
    table = ChunkTable()
    for doc_id, base in (("a", 5), ("b", 900), ("c", 50)):
        table.add(doc_id, _chunks(doc_id, 3, base))
    read = _saved(table, tmp_path / "one", ["a", "b", "c"])
    assert read.remove("b") == [900, 901, 902] and 900 not in read and read.ids_of("b") == []
    read.remove("c")
    read.add("c", _chunks("c", 2, 70))  # replaced
    read.add("d", _chunks("d", 1, 1))
    assert len(read) == 3 + 2 + 1 and read[71].text == "text c 1 é" and 50 not in read
    again = _saved(read, tmp_path / "two", ["a", "c", "d"])  # more than a tenth changed: anew
    assert not (tmp_path / "two" / "changes.json").exists()
    assert dict(again.items()) == dict(read.items())
    assert again.ids_of("a") == [5, 6, 7] and again.ids_of("c") == [70, 71] and again.ids_of("d") == [1]


def test_few_changes_are_saved_on_the_files_linked_from_before(tmp_path: Path) -> None:
    table = ChunkTable()
    doc_ids = [f"doc-{d:02d}" for d in range(30)]
    for d, doc_id in enumerate(doc_ids):
        table.add(doc_id, _chunks(doc_id, 2, 100 * d))
    one = _saved(table, tmp_path / "one", doc_ids)
    one.remove("doc-03")
    one.remove("doc-04")
    one.add("doc-04", _chunks("doc-04", 1, 7777))  # replaced
    two = _saved(one, tmp_path / "two", [d for d in doc_ids if d != "doc-03"])
    assert (tmp_path / "two" / "changes.json").exists()
    assert (tmp_path / "two" / "chunks.jsonl").stat().st_ino == (
        tmp_path / "one" / "chunks.jsonl"
    ).stat().st_ino
    assert dict(two.items()) == dict(one.items()) and len(two) == 57
    assert (
        two.ids_of("doc-03") == [] and two.ids_of("doc-04") == [7777] and two.ids_of("doc-05") == [500, 501]
    )
