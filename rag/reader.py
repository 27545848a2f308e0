"""What a learned reader reads: a question, and one candidate sentence shown with its neighbours.

The reader (a cross-encoder, trained by `scripts/train_reader.py`) scores whether the candidate
sentence answers the question. The sentence comes first, then the sentences around it, so the
model sees what "it" or "the following" refer to. Training and answering build this text with the
same function, so they can never disagree on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embed import CrossEncoderModel
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
    sentence answers a question."""

    def __init__(self, model: CrossEncoderModel) -> None:
        self.model = model

    @classmethod
    def load(cls, name: str) -> Reader:
        """The reader in folder `name` (or a hub id); the model is loaded once per process."""
        return cls(
            CrossEncoderModel.load(
                name, "reader", "a cross-encoder trained by `python -m scripts.train_reader`"
            )
        )

    def scores(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """For each candidate (see `candidate_text`), the probability that it answers `question`."""
        return self.model.scores([(question, c) for c in candidates])
