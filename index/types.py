"""Data handed between the indexing steps and up to `rag/`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Document:
    """One document's extracted text and where it came from.

    `origin` is the file it was read from; `source` is what citations show (the path, or for a
    `.jsonl` collection the collection path plus the record id).
    """

    doc_id: str
    source: str
    origin: str
    title: str
    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()  # a PDF's: where page i + 1 starts in `text` (see `page_at`)


@dataclass(frozen=True)
class Extracted:
    """What a file's parser found: its title, its text, and for a PDF where each page starts."""

    title: str
    text: str
    pages: tuple[int, ...] = ()


def page_at(pages: tuple[int, ...], offset: int) -> int | None:
    """The page (from 1) that holds character `offset` of a text whose pages start at `pages`;
    None for a text without pages."""
    return bisect.bisect_right(pages, offset) or None if pages else None


@dataclass(frozen=True)
class Skipped:
    """A file (or a `.jsonl` line) that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A piece of a document; `text == document_text[start:end]`.

    `sentences` are the absolute `(start, end)` spans in the document of the sentences that overlap
    this chunk, so answers can quote whole sentences.
    """

    chunk_id: str
    faiss_id: int
    doc_id: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class DocumentInfo:
    """What the index keeps about a document besides its chunks."""

    doc_id: str
    source: str
    origin: str
    title: str
    content_hash: str
    n_chunks: int
    n_chars: int
    # a .jsonl record's other fields (e.g. author, outlet, date); absent from indexes built before
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()  # a PDF's page starts (`Document.pages`); absent from indexes built before

    @property
    def file_name(self) -> str:
        """The name of the file the document was read from."""
        return Path(self.origin).name


def file_name(source: str) -> str:
    """The file name in a document's `source`: `a.md` for `docs/a.md`, `b.jsonl` for `docs/b.jsonl#rec-7`."""
    head, sep, _ = source.rpartition("#")
    return Path(head if sep and head.lower().endswith(".jsonl") else source).name
