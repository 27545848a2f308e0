"""The reader: the probability that a candidate sentence answers a question, or that none does.

A cross-encoder the project trains itself (`scripts/train_reader.py`, from the bundled MiniLM
weights) and ships as int8 ONNX (`scripts/export_reader.py`), run by ONNX Runtime: no torch at
answer time. It reads a question with one candidate: the sentence first, then the sentences around
it, so the model sees what "it" or "the following" refer to. Training and answering build this text
with the same function (`candidate_text`), so they can never disagree on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embed import verify_weights
from index.errors import ModelLoadError
from index.onnx import OnnxEncoder
from rag.cite import one_line

# BERT-style tokenizers read a literal "[SEP]" as their separator token.
SEPARATOR = " [SEP] "
BUNDLED_READER = "bundled"
BUNDLED_READER_DIR = Path(__file__).parent / "models" / "reader"
# sha256 of the shipped rag/models/reader/model.onnx (printed by `python -m scripts.export_reader`)
READER_SHA256 = "0b9e4bd8e285fad24bfbaa7aa31a7e034391ab742688429c25c80bd8c665073a"


def candidate_text(sentences: Sequence[str], i: int, neighbours: int = 1) -> str:
    """Sentence `i` of `sentences` (a document's, in order), then up to `neighbours` sentences
    before and after it, each on one line."""
    before = sentences[max(i - neighbours, 0) : i]
    after = sentences[i + 1 : i + 1 + neighbours]
    context = " ".join(one_line(s) for s in [*before, *after])
    return one_line(sentences[i]) + (SEPARATOR + context if context else "")


class Reader:
    """A trained reader: for each candidate (see `candidate_text`), the probability that it answers."""

    def __init__(
        self,
        model: OnnxEncoder,
        scale: float = 1.0,
        shift: float = 0.0,
        unmatched: float = 0.0,
        shortlist: float = 0.0,
        prior: float = 0.0,
    ) -> None:
        """The answerer knows two things of a candidate: the model's logit, and its shortlist score
        (what it knew before reading: retrieval, meaning and term overlap). Both are set on dev sets
        by `scripts/calibrate_reader.py`:

        - the choice (`ranking`): logit + prior * shortlist score, `prior` the weight that
          chose the right sentence most often;
        - the probability that the answer is right (`calibrated`, a logistic fit):
          sigmoid(scale * logit + shortlist * shortlist score + shift + unmatched * share), where
          share is the part of the question's names and years that no retrieved document mentions
          (`rag.answer.unmatched`).
        """
        self.model = model
        self.scale = scale
        self.shift = shift
        self.unmatched = unmatched
        self.shortlist = shortlist
        self.prior = prior

    @classmethod
    def load(cls, name: str) -> Reader:
        """The shipped reader (`"bundled"`, its weights checked against `READER_SHA256`), or the
        folder `name` written by `scripts/export_reader.py`; loaded once per process."""
        folder = BUNDLED_READER_DIR if name == BUNDLED_READER else Path(name)
        if name == BUNDLED_READER:
            verify_weights(folder / "model.onnx", READER_SHA256, "reinstall rag-assistant")
        elif not folder.is_dir():
            raise ModelLoadError(
                f"reader '{name}' is neither '{BUNDLED_READER}' nor a folder; give '{BUNDLED_READER}' "
                "or a folder written by `python -m scripts.export_reader`"
            )
        config = folder / "reader.json"
        found = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
        calibration = found.get("calibration", {})
        return cls(
            OnnxEncoder.load(folder, "reader", int(found.get("max_length", 128)), pairs=True),
            float(calibration.get("scale", 1.0)),
            float(calibration.get("shift", 0.0)),
            float(calibration.get("unmatched", 0.0)),
            float(calibration.get("shortlist", 0.0)),
            float(calibration.get("prior", 0.0)),
        )

    def scores(self, question: str, candidates: Sequence[str], unmatched_share: float = 0.0) -> np.ndarray:
        """For each candidate, the (calibrated) probability that it answers `question`, from the
        model alone (shortlist scores of 0)."""
        logits = self.logits(question, candidates)
        return self.calibrated(logits, np.zeros_like(logits), unmatched_share)

    def calibrated(
        self, logits: np.ndarray, shortlist_scores: np.ndarray, unmatched_share: float = 0.0
    ) -> np.ndarray:
        """Probabilities from raw and shortlist scores (see `__init__`)."""
        z = (
            self.scale * np.asarray(logits, dtype=np.float64)
            + self.shortlist * np.asarray(shortlist_scores, dtype=np.float64)
            + self.shift
            + self.unmatched * unmatched_share
        )
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def ranking(self, logits: np.ndarray, shortlist_scores: np.ndarray) -> np.ndarray:
        """The order of choice: the model's logits with what was known of each candidate before."""
        return np.asarray(logits, dtype=np.float64) + self.prior * np.asarray(
            shortlist_scores, dtype=np.float64
        )

    def logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """The model's raw score of each candidate."""
        if not candidates:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.model.run([(question, c) for c in candidates])[:, 0], dtype=np.float64)
