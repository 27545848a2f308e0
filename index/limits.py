"""Bounds on the work and memory one file may cost while it is indexed.

A file past a bound is skipped with a reason that names the bound and its setting; the rest of the
run goes on. The entry points read the settings from the environment (README, "Limits and safety").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from index.errors import InputError


@dataclass(frozen=True)
class Limits:
    # a file larger than this is not read (the chat's upload limit too)
    max_file_mb: float = 50.0
    # extracted text per file; a longer text is skipped (split the file)
    max_text_chars: int = 10_000_000
    # declared uncompressed size of a .docx (all its parts together) or of a PDF's content
    max_unpacked_mb: float = 100.0
    # a document cut into more chunks than this is skipped
    max_chunks_per_document: int = 40_000
    # a run of non-space characters longer than this (base64, hashes) is replaced by "…"
    max_word_chars: int = 200
    # a PDF, .docx or HTML file is parsed in a worker process that is stopped after this many seconds
    # and may use at most extract_memory_mb of memory
    extract_timeout_s: float = 120.0
    extract_memory_mb: int = 1024

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not value > 0:
                raise InputError(f"{f.name} must be greater than 0. Currently, {f.name} is {value}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        """The limits with RAG_MAX_FILE_MB, RAG_MAX_TEXT_CHARS, RAG_MAX_UNPACKED_MB,
        RAG_MAX_CHUNKS_PER_DOCUMENT, RAG_MAX_WORD_CHARS, RAG_EXTRACT_TIMEOUT_S and
        RAG_EXTRACT_MEMORY_MB applied where set."""
        changes: dict[str, float | int] = {}
        for f in fields(cls):
            name = ENV_NAMES[f.name]
            raw = env.get(name)
            if raw is None or not raw.strip():
                continue
            kind = float if f.type in ("float", float) else int
            try:
                changes[f.name] = kind(raw)
            except ValueError:
                raise InputError(f"{name} must be a number, not '{raw}'") from None
        return cls(**changes)  # type: ignore[arg-type]


ENV_NAMES = {
    "max_file_mb": "RAG_MAX_FILE_MB",
    "max_text_chars": "RAG_MAX_TEXT_CHARS",
    "max_unpacked_mb": "RAG_MAX_UNPACKED_MB",
    "max_chunks_per_document": "RAG_MAX_CHUNKS_PER_DOCUMENT",
    "max_word_chars": "RAG_MAX_WORD_CHARS",
    "extract_timeout_s": "RAG_EXTRACT_TIMEOUT_S",
    "extract_memory_mb": "RAG_EXTRACT_MEMORY_MB",
}
