"""Document records read from their file on demand (index/document_table.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from index.document_table import DocumentTable
from index.types import DocumentInfo


def _info(doc_id: str, title: str = "T") -> DocumentInfo:
    return DocumentInfo(doc_id, doc_id, doc_id, title, "a" * 64, 2, 10, {"author": "Zhou Rui"}, (0, 5))


def _saved(table: DocumentTable, folder: Path) -> DocumentTable:
    folder.mkdir()
    lines, rows, changes = folder / "docs.jsonl", folder / "rows.json", folder / "changes.json"
    wrote = table.save(lines, rows, changes)
    return DocumentTable.load(lines, rows, changes if wrote else None)


def test_records_read_back_as_written_sorted_by_id(tmp_path: Path) -> None:
    table = DocumentTable([_info("b.md"), _info("a.md"), _info("c é.md")])
    read = _saved(table, tmp_path / "one")
    assert list(read) == ["a.md", "b.md", "c é.md"] and read == table
    assert read["c é.md"].pages == (0, 5) and "z.md" not in read and read.get("z.md") is None


def test_changes_after_reading_are_seen_at_once_and_written_next_time(tmp_path: Path) -> None:
    read = _saved(DocumentTable([_info("a.md"), _info("b.md"), _info("c.md")]), tmp_path / "one")
    read["b.md"] = _info("b.md", title="New title")  # replaced
    del read["a.md"]
    read["d.md"] = _info("d.md")
    assert len(read) == 3 and read["b.md"].title == "New title" and "a.md" not in read
    assert read.pop("d.md").doc_id == "d.md" and read.pop("a.md", None) is None
    again = _saved(read, tmp_path / "two")
    assert list(again) == ["b.md", "c.md"] and again["b.md"].title == "New title"


def test_few_changes_are_saved_on_the_files_linked_from_before(tmp_path: Path) -> None:
    one = _saved(DocumentTable([_info(f"d{i:02d}.md") for i in range(40)]), tmp_path / "one")
    one["d05.md"] = _info("d05.md", title="Changed")
    del one["d06.md"]
    two = _saved(one, tmp_path / "two")
    assert (tmp_path / "two" / "changes.json").exists()
    assert (tmp_path / "two" / "docs.jsonl").stat().st_ino == (tmp_path / "one" / "docs.jsonl").stat().st_ino
    assert two == one and len(two) == 39 and two["d05.md"].title == "Changed" and "d06.md" not in two


def test_content_hashes_are_those_of_the_documents_still_there(tmp_path: Path) -> None:
    infos = [
        replace(_info(f"d{i}.md"), content_hash=h)
        for i, h in enumerate(["a" * 64, "b" * 64, "b" * 64, "c" * 64])
    ]
    table = _saved(DocumentTable(infos), tmp_path / "one")
    del table["d0.md"]  # its text is no one's now
    del table["d1.md"]  # d2.md still has this text
    table["d4.md"] = replace(_info("d4.md"), content_hash="e" * 64)
    assert (
        table.content_hashes() == {"b" * 64, "c" * 64, "e" * 64} == {d.content_hash for d in table.values()}
    )
