"""One frozen settings object for the assistant, passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.errors import InputError
from index.settings import IndexSettings


@dataclass(frozen=True)
class Settings:
    """Indexing plus answering settings.

    The answer weights and `refusal_threshold` were tuned on dev splits only, with
    `evals/calibrate.py` (see README, "Calibration").
    """

    index: IndexSettings = field(default_factory=IndexSettings)
    # hybrid (dense + BM25 by weighted reciprocal rank fusion), dense or bm25; the fusion was chosen
    # on dev splits with evals/tune_fusion.py (evals/reports/fusion_dev.json)
    retriever: str = "hybrid"
    weight_bm25: float = 1.0
    rrf_k: int = 2
    top_k: int = 6
    max_sentences: int = 3
    refusal_threshold: float = 0.33
    # How much each signal counts when choosing the sentences to quote.
    weight_semantic: float = 1.0
    weight_lexical: float = 0.5
    weight_answer_type: float = 0.12
    weight_passage: float = 0.3
    # A further sentence is quoted only when it scores within this margin of the best one.
    extra_sentence_margin: float = 0.06

    def __post_init__(self) -> None:
        if self.retriever not in ("hybrid", "dense", "bm25"):
            raise InputError(f"unknown retriever '{self.retriever}'; choose one of hybrid, dense, bm25")
        if self.top_k < 1:
            raise InputError(f"top_k must be greater than 0. Currently, top_k is {self.top_k}")
        if not 1 <= self.max_sentences <= 3:
            raise InputError(
                f"max_sentences must be between 1 and 3. Currently, max_sentences is {self.max_sentences}"
            )
