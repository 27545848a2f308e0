"""The reader as the answerer's scorer, with a tiny cross-encoder the tests build locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.embed import verify_weights
from index.errors import ModelLoadError
from index.settings import IndexSettings
from index.store import IndexStore
from rag import Assistant, Settings
from rag.reader import BUNDLED_READER, BUNDLED_READER_DIR, READER_SHA256, Reader, candidate_text
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.integration  # a tiny cross-encoder is built, exported to ONNX and loaded

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
    tmp_path: Path, tiny_reader: Path
) -> None:
    question = "Which model did Temu introduce?"
    answer = _bot(tmp_path, tiny_reader, 0.0).ask(question)
    sentences = [TEXT[s:e] for s, e in answer.passages[0].sentences]
    probabilities = Reader.load(str(tiny_reader)).scores(
        question, [candidate_text(sentences, i) for i in range(len(sentences))]
    )
    best = int(np.argmax(probabilities))
    assert answer.citations[0].quote == sentences[best]
    assert answer.confidence == pytest.approx(float(probabilities[best]))
    assert 0.0 < answer.confidence < 1.0
    assert Reader.load(str(tiny_reader)).model is Reader.load(str(tiny_reader)).model  # loaded once


def test_the_reader_refuses_below_its_threshold(tmp_path: Path, tiny_reader: Path) -> None:
    answer = _bot(tmp_path, tiny_reader, 1.0).ask("Which model did Temu introduce?")
    assert answer.refused and answer.citations == () and answer.confidence < 1.0


def test_a_question_that_names_nothing_is_refused_without_a_turn_before_it(
    tmp_path: Path, tiny_reader: Path
) -> None:
    bot = _bot(tmp_path, tiny_reader, 0.0)  # a threshold that refuses nothing
    assert bot.ask("In which year?").refused
    chat = bot.chat()
    chat.ask("When did Hangzhou open the first pilot zone?")
    assert not chat.ask("In which year?").refused  # a follow-up: the turn before says what it is about


def test_a_question_longer_than_the_reader_reads_is_cut_not_an_error(tiny_reader: Path) -> None:
    scores = Reader.load(str(tiny_reader)).scores("why " * 300, ["A candidate.", "Another one."])
    assert scores.shape == (2,) and np.all((scores > 0) & (scores < 1))


def test_a_missing_reader_fails_with_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(
        ModelLoadError, match="reader '/nonexistent/reader' is neither 'bundled' nor a folder"
    ):
        Reader.load("/nonexistent/reader")
    with pytest.raises(ModelLoadError, match="lacks model.onnx, tokenizer.json; give a folder written by"):
        Reader.load(str(tmp_path))


def test_the_shipped_reader_is_pinned_and_an_altered_copy_is_refused(tmp_path: Path) -> None:
    reader = Reader.load(BUNDLED_READER)  # checks the sha256 of the shipped weights
    assert reader.model.folder == BUNDLED_READER_DIR
    assert (BUNDLED_READER_DIR / "model.onnx").stat().st_size <= 30 * 2**20  # the 30 MB cap
    copy = tmp_path / "model.onnx"
    data = bytearray((BUNDLED_READER_DIR / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=f"expected {READER_SHA256}.*reinstall rag-assistant"):
        verify_weights(copy, READER_SHA256, "reinstall rag-assistant")


def test_the_shipped_reader_answers_what_the_passages_hold_and_refuses_what_they_lack(
    bundled_bot: Assistant,
) -> None:
    bot = bundled_bot.with_settings(reader=BUNDLED_READER)
    answer = bot.ask("Which city hosted the first batch of pilot zones?")
    assert not answer.refused and "Hangzhou" in answer.citations[0].quote
    # the names are in the corpus; the facts are not
    for question in ("Who is the current CEO of Alibaba?", "How many employees does JD Logistics have?"):
        refused = bot.ask(question)
        assert refused.refused and refused.citations == (), (question, refused.text)


def test_the_calibration_maps_scores_and_unmatched_names_to_a_probability(tiny_reader: Path) -> None:
    model = Reader.load(str(tiny_reader)).model
    reader = Reader(model, scale=2.0, shift=-1.0, unmatched=-3.0, shortlist=4.0)
    zero = np.zeros(1)
    assert reader.calibrated(np.array([0.5]), zero)[0] == pytest.approx(0.5)
    assert reader.calibrated(np.array([0.5]), zero, unmatched_share=1.0)[0] == pytest.approx(
        1 / (1 + np.exp(3.0))
    )
    assert reader.calibrated(np.array([0.5]), np.array([0.25]))[0] == pytest.approx(1 / (1 + np.exp(-1.0)))
    raw = reader.logits("Which model?", ["A model.", "Another."])
    assert np.allclose(
        reader.scores("Which model?", ["A model.", "Another."]), reader.calibrated(raw, np.zeros(2))
    )


def test_the_choice_weighs_the_shortlist_score_by_the_prior(tiny_reader: Path) -> None:
    model = Reader.load(str(tiny_reader)).model
    logits, shortlist = np.array([2.0, 1.0]), np.array([0.1, 0.3])
    assert np.argmax(Reader(model, prior=0.0).ranking(logits, shortlist)) == 0  # the model alone
    assert np.argmax(Reader(model, prior=10.0).ranking(logits, shortlist)) == 1  # 1 + 3 > 2 + 1
