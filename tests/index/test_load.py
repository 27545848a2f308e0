"""Reading files and folders; every bad input is skipped (or refused) with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import InputError
from index.extract import SkipFile
from index.limits import Limits
from index.load import find_files, load_paths
from index.worker import ExtractWorker
from tests.badfiles import make_bad_corpus
from tests.conftest import write
from tests.docs import make_docx, make_pdf

pytestmark = pytest.mark.integration  # PDF, .docx and HTML are parsed in a worker process


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
        ("binary.txt", b"\x89PNG\x00\x00\x01binary", "binary data"),
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


def test_a_hostile_folder_is_read_in_one_run_every_bad_file_skipped_with_its_reason(tmp_path: Path) -> None:
    expect = make_bad_corpus(tmp_path / "docs", tmp_path / "outside")
    assert len(expect) >= 30
    result = load_paths([tmp_path / "docs"], limits=Limits(max_text_chars=5_000_000))
    root = tmp_path / "docs"
    indexed = {str(Path(d.origin).relative_to(root.resolve())) for d in result.documents}
    # a .jsonl file whose every line is bad is skipped whole; its lines' reasons come first
    skipped = {
        str(Path(s.path).relative_to(root)): s.reason for s in result.skipped if ".jsonl:" not in s.path
    }
    assert indexed == {name for name, outcome in expect.items() if outcome == "indexed"}
    expected_skips = {n for n, o in expect.items() if o == "skipped"} - {"escape-dir/secret.txt"}
    assert set(skipped) == expected_skips | {"escape-dir", "README", "unsupported.exe"} - {
        "README",
        "unsupported.exe",
    } | {"README", "unsupported.exe"}
    assert all(reason for reason in skipped.values())
    assert "outside the folders given; pass --follow-links" in skipped["escape.txt"]
    assert "broken link" in skipped["dangling.txt"] and "FIFO" in skipped["pipe.txt"]
    assert "RAG_MAX_UNPACKED_MB" in skipped["xml-bomb.docx"]
    assert "RAG_MAX_TEXT_CHARS" in skipped["huge.txt"]
    assert "unpaired surrogate" in skipped["surrogate.jsonl"]
    assert "NUL byte at offset 9000" in skipped["late-nul.txt"]
    assert (
        "amplification" in skipped["laughs.docx"] and "undefined entity" in skipped["undefined-entity.docx"]
    )
    texts = {Path(d.origin).name: d.text for d in result.documents}
    assert (
        texts["utf16-le.txt"] == "The mill closed in 1954."
        and texts["utf16-be.md"] == "The chapel seats forty."
    )
    assert texts["long-word.txt"] == "Base64 follows: … and the text goes on here."
    assert not any("outside the folder" in t for t in texts.values())


def test_links_outside_are_read_with_follow_links(tmp_path: Path) -> None:
    make_bad_corpus(tmp_path / "docs", tmp_path / "outside")
    result = load_paths([tmp_path / "docs"], follow_links=True, limits=Limits(max_text_chars=5_000_000))
    assert "root:x:0:0:outside the folder" in {d.text for d in result.documents}
    assert sum(Path(d.origin).name == "secret.txt" for d in result.documents) == 1  # two links, read once


def test_a_file_that_vanishes_between_listing_and_reading_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "First.")
    write(tmp_path / "b.txt", "Second.")
    result = load_paths([tmp_path], on_file=lambda p: (tmp_path / "b.txt").unlink(missing_ok=True))
    assert [Path(d.origin).name for d in result.documents] == ["a.txt"]
    assert "vanished" in result.skipped[0].reason


def test_the_excluded_folder_is_never_read(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "First.")
    write(tmp_path / "index" / "texts" / "abc.txt", "An index's own copy of a text.")
    result = load_paths([tmp_path], exclude=[tmp_path / "index"])
    assert [Path(d.origin).name for d in result.documents] == ["a.txt"] and result.skipped == ()


def test_a_parser_past_its_time_or_memory_is_stopped_and_the_next_file_read(tmp_path: Path) -> None:
    write(tmp_path / "big.html", "<html><body>" + "<p>word word</p>" * 300_000 + "</body></html>")
    make_pdf(tmp_path / "ok.pdf", "The island school opened in 1902.")
    with ExtractWorker(Limits(extract_memory_mb=150)) as worker:
        with pytest.raises(SkipFile, match="more than 150 MB of memory"):
            worker.extract(tmp_path / "big.html")
        assert worker.extract(tmp_path / "ok.pdf").text == "The island school opened in 1902."
    with (
        ExtractWorker(Limits(extract_timeout_s=0.001)) as worker,
        pytest.raises(SkipFile, match="longer than 0.001 s"),
    ):
        worker.extract(tmp_path / "big.html")


def test_limits_come_from_the_environment_and_bad_values_are_named() -> None:
    limits = Limits.from_env({"RAG_MAX_TEXT_CHARS": "1000", "RAG_EXTRACT_TIMEOUT_S": "2.5"})
    assert (limits.max_text_chars, limits.extract_timeout_s) == (1000, 2.5)
    with pytest.raises(InputError, match="RAG_MAX_FILE_MB must be a number, not 'lots'"):
        Limits.from_env({"RAG_MAX_FILE_MB": "lots"})
    with pytest.raises(InputError, match="max_word_chars must be greater than 0"):
        Limits(max_word_chars=0)


def test_a_pdf_records_where_each_page_starts(tmp_path: Path) -> None:
    from index.extract import extract
    from index.types import page_at

    pdf = make_pdf(tmp_path / "p.pdf", ["First page.", "", "Third page."])
    with ExtractWorker(Limits()) as worker:
        found = worker.extract(pdf)
    assert found == extract(str(pdf), Limits())  # the worker hands back what the parser found
    assert found.text == "First page.\n\nThird page." and found.pages == (0, 13, 13)
    assert [page_at(found.pages, i) for i in (0, 10, 13, len(found.text) - 1)] == [1, 1, 3, 3]
    assert page_at((), 5) is None
