"""Cut documents into sentence-aware chunks that keep their exact character spans."""

from __future__ import annotations

import bisect
import hashlib
import re
from typing import Any

from index.sentences import sentence_spans
from index.settings import IndexSettings
from index.types import Chunk, Document


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def indexed_text(title: str, text: str) -> str:
    """What is embedded and BM25-indexed for a chunk (or a whole document): its title line, then the text."""
    return f"{title}\n{text}" if title else text


def chunk_id(doc_id: str, start: int, text: str) -> tuple[str, int]:
    """Content-hash id of a chunk, as hex and as the positive int64 FAISS needs."""
    digest = hashlib.sha256(f"{doc_id}\x00{start}\x00{text}".encode()).hexdigest()
    return digest[:32], int(digest[:15], 16)


class Chunker:
    """Split documents with llama-index's SentenceSplitter and map each chunk back to its span."""

    def __init__(self, settings: IndexSettings) -> None:
        from llama_index.core.node_parser import SentenceSplitter

        self.settings = settings
        self._splitter: Any = SentenceSplitter(
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )

    def __call__(self, doc: Document) -> list[Chunk]:
        text = doc.text
        sentences = sentence_spans(text)
        starts = [s for s, _ in sentences]
        chunks: list[Chunk] = []
        cursor = 0
        for piece in self._splitter.split_text(text):
            start, end = _locate(text, piece, cursor)
            if start < 0:
                continue
            cursor = start + 1
            lo = max(bisect.bisect_right(starts, start) - 1, 0)
            overlapping = tuple(
                (s, e) for s, e in sentences[lo : bisect.bisect_left(starts, end)] if e > start and s < end
            )
            cid, fid = chunk_id(doc.doc_id, start, text[start:end])
            chunks.append(Chunk(cid, fid, doc.doc_id, start, end, text[start:end], overlapping))
        return chunks


def _locate(text: str, piece: str, cursor: int) -> tuple[int, int]:
    """Find `piece` in `text` at or after `cursor`; tolerate whitespace the splitter changed."""
    start = text.find(piece, cursor)
    if start < 0:
        start = text.find(piece)
    if start >= 0:
        return start, start + len(piece)
    words = piece.split()
    if not words:
        return -1, -1
    pattern = r"\s+".join(re.escape(w) for w in words)
    match = re.compile(pattern).search(text, cursor) or re.compile(pattern).search(text)
    return (match.start(), match.end()) if match else (-1, -1)
