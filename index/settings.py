"""Indexing settings: which model embeds, and how documents are cut into chunks."""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import InputError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class IndexSettings:
    """Settings recorded in the manifest; an index can only be updated with the same values.

    Chunk sizes count llama-index's default tokenizer tokens. 128 with 19 overlap was chosen by
    `scripts/bench_chunking.py` on the dev splits (see README, "Chunk size").
    """

    model: str = DEFAULT_MODEL
    chunk_size: int = 128
    chunk_overlap: int = 19
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.chunk_size < 32:
            raise InputError(
                f"chunk_size must be at least 32 tokens. Currently, chunk_size is {self.chunk_size}"
            )
        if not 0 <= self.chunk_overlap < self.chunk_size // 2:
            raise InputError(
                f"chunk_overlap must be between 0 and half of chunk_size ({self.chunk_size // 2}). "
                f"Currently, chunk_overlap is {self.chunk_overlap}"
            )
        if self.batch_size < 1:
            raise InputError(f"batch_size must be greater than 0. Currently, batch_size is {self.batch_size}")

    def chunking(self) -> dict[str, int]:
        """The part of the settings that decides chunk boundaries."""
        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}
