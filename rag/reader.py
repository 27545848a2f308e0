"""What a learned reader reads: a question, and one candidate sentence shown with its neighbours.

The reader (a cross-encoder, trained by `scripts/train_reader.py`) scores whether the candidate
sentence answers the question. The sentence comes first, then the sentences around it, so the
model sees what "it" or "the following" refer to. Training and answering build this text with the
same function, so they can never disagree on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from index.embed import load_cross_encoder, load_once
from rag.cite import one_line

# BERT-style tokenizers read a literal "[SEP]" as their separator token.
SEPARATOR = " [SEP] "


def candidate_text(sentences: Sequence[str], i: int, neighbours: int = 1) -> str:
    """Sentence `i` of `sentences` (a document's, in order), then up to `neighbours` sentences
    before and after it, each on one line."""
    before = sentences[max(i - neighbours, 0) : i]
    after = sentences[i + 1 : i + 1 + neighbours]
    context = " ".join(one_line(s) for s in [*before, *after])
    return one_line(sentences[i]) + (SEPARATOR + context if context else "")


class Reader:
    """A trained cross-encoder (`scripts/train_reader.py`): the probability that a candidate
    sentence answers a question. Loaded once per process for each folder."""

    def __init__(self, name: str, model: Any, batch_size: int = 32) -> None:
        self.name = name
        self.model = model
        self.batch_size = batch_size

    @classmethod
    def load(cls, name: str) -> Reader:
        """Load the reader in folder `name` (or a hub id), or reuse it if loaded already."""
        expected = "a cross-encoder trained by `python -m scripts.train_reader`"
        return load_once("reader", name, lambda: cls(name, load_cross_encoder(name, "reader", expected)))

    def scores(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """For each candidate (see `candidate_text`), the probability that it answers `question`."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        pairs = [(question, c) for c in candidates]
        out = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32).reshape(len(candidates))
