"""Reading files and folders; every bad input is skipped (or refused) with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import InputError
from index.load import find_files, load_paths
from tests.conftest import write
from tests.docs import make_docx, make_pdf

pytestmark = pytest.mark.unit


def test_reads_every_supported_type(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Plain text about Hangzhou.")
    write(tmp_path / "b.md", "# Zones\n\nThere are 165 zones.")
    write(
        tmp_path / "sub" / "c.html",
        "<html><head><title>Page</title><script>x()</script></head>"
        "<body><p>Temu uses a fully managed model.</p></body></html>",
    )
    make_pdf(tmp_path / "d.pdf", "Exports grew 10.8% in 2024.")
    make_docx(tmp_path / "e.docx", ["JD Logistics builds supply chains.", "Second paragraph."])
    write(
        tmp_path / "f.jsonl",
        json.dumps({"_id": "x1", "title": "T", "text": "Record text.", "year": 2024}) + "\n",
    )
    result = load_paths([tmp_path])
    by_name = {Path(d.origin).name: d for d in result.documents}
    assert set(by_name) == {"a.txt", "b.md", "c.html", "d.pdf", "e.docx", "f.jsonl"}
    assert by_name["a.txt"].text == "Plain text about Hangzhou."
    assert by_name["b.md"].title == "Zones"
    assert by_name["c.html"].title == "Page" and "x()" not in by_name["c.html"].text
    assert "10.8%" in by_name["d.pdf"].text
    assert "JD Logistics" in by_name["e.docx"].text
    rec = by_name["f.jsonl"]
    assert (rec.doc_id, rec.title, rec.metadata["year"]) == ("x1", "T", "2024")
    assert result.skipped == ()


def test_missing_path_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        find_files([tmp_path / "nope"])


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no supported documents"):
        find_files([tmp_path / "empty"])


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "no text"),
        ("binary.txt", b"\x89PNG\x00\x00\x01binary", "binary file"),
        ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "not valid UTF-8"),
        ("truncated.docx", b"PK\x03\x04 truncated zip", "not a valid .docx"),
        ("image.png", b"\x89PNG", "unsupported file type .png"),
    ],
)
def test_bad_files_are_skipped_with_reason_and_the_rest_indexed(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    write(tmp_path / "good.txt", "A good document.")
    write(tmp_path / name, content)
    result = load_paths([tmp_path])
    assert [Path(d.origin).name for d in result.documents] == ["good.txt"]
    assert len(result.skipped) == 1
    assert Path(result.skipped[0].path).name == name
    assert reason in result.skipped[0].reason


def test_truncated_and_encrypted_pdfs_are_skipped(tmp_path: Path) -> None:
    full = make_pdf(tmp_path / "full.pdf", "Complete PDF text.")
    write(tmp_path / "truncated.pdf", full.read_bytes()[: len(full.read_bytes()) // 2])
    make_pdf(tmp_path / "locked.pdf", "Secret text.", password="pw")
    result = load_paths([tmp_path])
    assert [Path(d.origin).name for d in result.documents] == ["full.pdf"]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert "encrypted PDF" in reasons["locked.pdf"]
    assert "PDF" in reasons["truncated.pdf"]


def test_jsonl_bad_lines_are_skipped_one_by_one(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": 1, "text": "first"}),
        "{not json",
        json.dumps({"id": 2, "title": "no text"}),
        json.dumps({"id": 1, "text": "duplicate id"}),
        json.dumps({"text": "no id"}),
    ]
    write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    result = load_paths([tmp_path / "c.jsonl"])
    assert [d.doc_id for d in result.documents] == ["1", "c.jsonl:5"]
    assert [s.path.rsplit(":", 1)[1] for s in result.skipped] == ["2", "3", "4"]


def test_hidden_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Visible.")
    write(tmp_path / ".git" / "config.txt", "hidden")
    write(tmp_path / ".DS_Store", b"\x00\x01")
    result = load_paths([tmp_path])
    assert len(result.documents) == 1 and result.skipped == ()
