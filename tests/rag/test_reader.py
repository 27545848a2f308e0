"""The reader as the answerer's scorer, with a tiny cross-encoder the tests build locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.errors import ModelLoadError
from index.settings import IndexSettings
from index.store import IndexStore
from rag import Assistant, Settings
from rag.reader import Reader, candidate_text
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.integration  # a tiny cross-encoder is built, saved and loaded

TEXT = (
    "Hangzhou opened the first pilot zone in 2015. The programme grew to 12 more cities in 2016. "
    "Temu introduced a fully managed model for its merchants."
)


def _bot(tmp_path: Path, reader: Path, threshold: float) -> Assistant:
    write(tmp_path / "docs" / "a.txt", TEXT)
    settings = IndexSettings(model="fake-embedder")
    emb = FakeEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, settings)
    return Assistant(
        IndexStore.open(tmp_path / "idx"),
        emb,
        Settings(index=settings, reader=str(reader), reader_threshold=threshold),
    )


def test_the_reader_picks_the_sentence_and_its_probability_is_the_confidence(
    tmp_path: Path, tiny_cross_encoder: Path
) -> None:
    question = "Which model did Temu introduce?"
    answer = _bot(tmp_path, tiny_cross_encoder, 0.0).ask(question)
    sentences = [TEXT[s:e] for s, e in answer.passages[0].sentences]
    probabilities = Reader.load(str(tiny_cross_encoder)).scores(
        question, [candidate_text(sentences, i) for i in range(len(sentences))]
    )
    best = int(np.argmax(probabilities))
    assert answer.citations[0].quote == sentences[best]
    assert answer.confidence == pytest.approx(float(probabilities[best]))
    assert 0.0 < answer.confidence < 1.0
    assert (
        Reader.load(str(tiny_cross_encoder)).model is Reader.load(str(tiny_cross_encoder)).model
    )  # loaded once


def test_the_reader_refuses_below_its_threshold(tmp_path: Path, tiny_cross_encoder: Path) -> None:
    answer = _bot(tmp_path, tiny_cross_encoder, 1.0).ask("Which model did Temu introduce?")
    assert answer.refused and answer.citations == () and answer.confidence < 1.0


def test_a_missing_reader_fails_with_one_clear_line() -> None:
    with pytest.raises(ModelLoadError, match="reader path '/nonexistent/reader' does not exist"):
        Reader.load("/nonexistent/reader")
