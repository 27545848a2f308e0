"""Chunks keep exact spans; sentence spans are exact; ids are content hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.chunk import Chunker, chunk_id
from index.sentences import sentence_spans
from index.settings import IndexSettings
from index.types import Document

pytestmark = pytest.mark.unit

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def _doc(text: str, doc_id: str = "d") -> Document:
    return Document(doc_id=doc_id, source=doc_id, origin=doc_id, title="", text=text)


def _long_text() -> str:
    paras = []
    for i in range(40):
        paras.append(
            f"Paragraph {i} talks about zone {i}. It was set up in {2000 + i}, e.g. in Hangzhou.\n"
            f"The  second line of paragraph {i} wraps here. Growth was {i}.5% last year!"
        )
    return "\n\n".join(paras)


def test_chunk_text_equals_document_span() -> None:
    text = _long_text()
    chunks = Chunker(IndexSettings(chunk_size=64, chunk_overlap=8))(_doc(text))
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.sentences and all(s < c.end and e > c.start for s, e in c.sentences)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_real_article_spans(shared_dir: Path) -> None:
    for path in sorted((shared_dir / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for c in Chunker(IndexSettings())(_doc(text)):
            assert text[c.start : c.end] == c.text


def test_ids_are_stable_content_hashes() -> None:
    text = _long_text()
    a = Chunker(IndexSettings(chunk_size=64, chunk_overlap=8))(_doc(text))
    b = Chunker(IndexSettings(chunk_size=64, chunk_overlap=8))(_doc(text))
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert len({c.faiss_id for c in a}) == len(a)
    assert all(0 < c.faiss_id < 2**63 for c in a)
    assert chunk_id("d", 0, "x") != chunk_id("e", 0, "x")
    assert chunk_id("d", 0, "x") != chunk_id("d", 0, "y")


def test_sentence_spans_are_exact_and_split_blocks() -> None:
    text = "# Title\n\nFirst sentence here. Second one, e.g. this.\n- item one\n- item two\n\nLast."
    spans = sentence_spans(text)
    quotes = [text[s:e] for s, e in spans]
    assert quotes == [
        "# Title",
        "First sentence here.",
        "Second one, e.g. this.",
        "- item one",
        "- item two",
        "Last.",
    ]
