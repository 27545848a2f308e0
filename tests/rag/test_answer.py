"""The extractive answerer on a fake embedder: refusals, offsets, at most three sentences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.errors import InputError
from index.settings import IndexSettings
from index.store import IndexStore
from rag.assistant import Assistant
from rag.settings import Settings
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.unit

TEXT = (
    "Hangzhou opened the first pilot zone in 2015. The programme grew to 12 more cities in 2016. "
    "Temu introduced a fully managed model for its merchants. Exports rose by 10.8% in 2024 overall. "
    "Shenzhen tried a bonded retail model in 2017 with shops."
)


def _bot(tmp_path: Path, **changes: object) -> Assistant:
    write(tmp_path / "docs" / "a.txt", TEXT)
    settings = IndexSettings(model="fake-embedder", chunk_size=40, chunk_overlap=8)
    emb = FakeEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, settings)
    return Assistant(IndexStore.open(tmp_path / "idx"), emb, Settings(index=settings, **changes))  # type: ignore[arg-type]


def test_answer_quotes_sentences_at_exact_offsets(tmp_path: Path) -> None:
    bot = _bot(tmp_path, refusal_threshold=0.0)
    answer = bot.ask("Which model did Temu introduce for merchants?")
    assert not answer.refused
    assert "fully managed" in answer.citations[0].quote
    assert 1 <= len(answer.citations) <= 3
    for c in answer.citations:
        assert TEXT[c.start : c.end] == c.quote
        assert c.n == 1


def test_refuses_below_threshold(tmp_path: Path) -> None:
    bot = _bot(tmp_path, refusal_threshold=10.0)
    answer = bot.ask("Which model did Temu introduce?")
    assert answer.refused and answer.citations == () and answer.passages


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_refused_with_clear_error(tmp_path: Path, question: str) -> None:
    bot = _bot(tmp_path)
    with pytest.raises(InputError, match="question is empty"):
        bot.ask(question)
    with pytest.raises(InputError, match="question is empty"):
        bot.chat().ask(question)


def test_settings_are_validated() -> None:
    with pytest.raises(InputError, match="top_k must be greater than 0. Currently, top_k is 0"):
        Settings(top_k=0)
    with pytest.raises(InputError, match="chunk_overlap"):
        IndexSettings(chunk_size=64, chunk_overlap=40)


def test_sentence_vectors_are_reused_and_bounded() -> None:
    from rag.answer import SentenceVectors

    emb = FakeEmbedder()
    cache = SentenceVectors(max_entries=3)
    first = cache.embed(emb, ["a b", "c d", "a b"])
    assert emb.embedded == ["a b", "c d"]
    again = cache.embed(emb, ["c d", "a b"])
    assert emb.embedded == ["a b", "c d"]  # nothing re-embedded
    assert np.allclose(again, first[[1, 0]])
    cache.embed(emb, ["e f", "g h"])  # evicts the least recently used ("c d")
    cache.embed(emb, ["a b", "c d"])
    assert emb.embedded == ["a b", "c d", "e f", "g h", "c d"]


def test_key_terms_are_the_questions_years_and_proper_names() -> None:
    from rag.answer import key_terms

    keys = key_terms("How many pilot zones will China have in 2030?")
    assert set(keys) == {"China", "2030"}
    assert set(key_terms("What was Amazon's revenue in India?")) == {"Amazon's", "India"}
    assert set(key_terms("Who was Lothar de Maizière?")) == {"Lothar", "Maiziere"}
    # acronyms, symbols and other numbers are often written another way: not key terms
    assert key_terms("Do 10% of UK adults carry PrP or iPSC markers?") == {}
    assert key_terms("what did they say about customs?") == {}
    # so are months and weekdays ("October 1st" is "2023-10-01" in many documents)
    assert set(key_terms("What did Wired publish on Monday, October 1st 2023?")) == {"Wired", "2023"}


def test_unmatched_terms_fold_accents_and_stem() -> None:
    from rag.answer import key_terms, unmatched

    docs = ["Lothar de Maizière led the Huguenots in 1990.", "Trade with Europe grew."]
    assert unmatched(key_terms("Was the leader Maiziere a Huguenot in 1990?"), docs) == ()
    assert unmatched(key_terms("Did Maiziere trade with Europe in 2030 or in India?"), docs) == (
        "2030",
        "India",
    )


def test_a_name_no_passage_mentions_lowers_the_confidence(tmp_path: Path) -> None:
    question = "Which model did Temu introduce for merchants in 2030?"
    lenient = _bot(tmp_path, refusal_threshold=0.0, unmatched_penalty=0.0).ask(question)
    assert not lenient.refused and lenient.unmatched_terms == ("2030",)
    strict = lenient.confidence - 0.01
    penalised = _bot(tmp_path, refusal_threshold=strict, unmatched_penalty=0.2).ask(question)
    assert penalised.refused and penalised.citations == ()
    # one of its two key terms (Temu, 2030) is unmatched: half the penalty
    assert penalised.confidence == pytest.approx(lenient.confidence - 0.1)
    assert penalised.to_dict()["unmatched_terms"] == ["2030"]
    # the same threshold answers when every name and number of the question is in a passage
    matched = _bot(tmp_path, refusal_threshold=strict, unmatched_penalty=0.2).ask(
        "Which model did Temu introduce for merchants?"
    )
    assert not matched.refused and matched.unmatched_terms == ()


def test_a_name_in_a_documents_title_or_metadata_counts_as_mentioned(tmp_path: Path) -> None:
    record = {"id": "n1", "title": "Adapters for travel", "text": TEXT, "source": "The Verge"}
    write(tmp_path / "docs" / "news.jsonl", json.dumps(record) + "\n")
    settings = IndexSettings(model="fake-embedder", chunk_size=40, chunk_overlap=8)
    emb = FakeEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, settings)
    bot = Assistant(IndexStore.open(tmp_path / "idx"), emb, Settings(index=settings))
    answer = bot.ask("Does the Verge article on Adapters say which model Temu introduced in 2030?")
    assert answer.unmatched_terms == ("2030",)  # Verge: metadata; Adapters: title; Temu: text


def test_the_sentence_that_states_the_asked_for_number_is_preferred() -> None:
    from rag.answer import _states_answer

    question = "How many cities joined the programme in 2016?"
    assert _states_answer(question, "The programme grew to 12 more cities in 2016.") == 1.0
    assert _states_answer(question, "The programme changed in 2016 for the cities.") == 0.0
    who = "Who chairs the think tank?"
    assert _states_answer(who, "The think tank is chaired by Zhou Rui.") == 1.0
    assert _states_answer(who, "The think tank proposed three measures.") == 0.0
    assert _states_answer("Why do customs struggle?", "Parcels rose by 40% in Europe.") == 0.0


def test_a_question_embeds_no_sentence_when_the_index_stored_them(tmp_path: Path) -> None:
    from rag.answer import SENTENCE_VECTORS, ExtractiveAnswerer

    _bot(tmp_path)
    emb = FakeEmbedder()
    store = IndexStore.open(tmp_path / "idx")
    settings = Settings(index=IndexSettings(model="fake-embedder", chunk_size=40, chunk_overlap=8))
    question = "Which model did Temu introduce for merchants?"
    qvec = emb.embed_query(question)
    passages = Assistant(store, emb, settings).retrieve(question, k=6)
    SENTENCE_VECTORS.clear()

    stored = ExtractiveAnswerer(emb, store.text, store.labels, settings, store.sentences.lookup)
    answer = stored.answer(question, passages, qvec)
    assert emb.embedded == []  # nothing but the question: the sentences' vectors were stored

    before = ExtractiveAnswerer(emb, store.text, store.labels, settings)  # an index from before they were
    same = before.answer(question, passages, qvec)
    sentences = {store.text(p.doc_id)[s:e] for p in passages for s, e in p.sentences}
    assert emb.embedded and set(emb.embedded) <= sentences  # embedded at question time
    assert (same.text, same.confidence) == (answer.text, pytest.approx(answer.confidence))


def test_a_sentence_announcing_a_list_brings_the_sentences_that_give_it(tmp_path: Path) -> None:
    text = (
        "Zhou Rui proposed three measures in response. His first measure is tighter supervision. "
        "His second measure is to use big data. His third measure is inclusion for all. "
        "Qiu Han spoke about PayPal next."
    )
    write(tmp_path / "docs" / "zhou.txt", text)
    settings = IndexSettings(model="fake-embedder", chunk_size=40, chunk_overlap=8)
    emb = FakeEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, settings)
    bot = Assistant(IndexStore.open(tmp_path / "idx"), emb, Settings(index=settings, refusal_threshold=0.0))
    answer = bot.ask("What did Zhou Rui propose in response?")
    assert [c.quote for c in answer.citations] == [
        "Zhou Rui proposed three measures in response.",
        "His first measure is tighter supervision.",
        "His second measure is to use big data.",
        "His third measure is inclusion for all.",
    ]
    assert all(text[c.start : c.end] == c.quote for c in answer.citations)
    assert "Qiu Han" not in answer.text  # no padding after the list
