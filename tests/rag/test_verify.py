"""Checking generated answers: markers kept, dropped and renumbered; support per sentence."""

from __future__ import annotations

import pytest

from index.sentences import sentence_spans
from rag.types import Passage
from rag.verify import Verifier, parse_markers, split_sentences
from tests.conftest import FakeEmbedder

pytestmark = pytest.mark.unit

DOCS = {
    "zones.txt": "Hangzhou opened the first pilot zone in 2015. Twelve more cities joined in 2016.",
    "trade.txt": "Cross-border trade reached 369 billion dollars in 2024. It grew 10.8% on the year.",
    "temu.txt": "Temu runs a fully managed model for its merchants.",
}


def _passages() -> list[Passage]:
    out = []
    for doc_id, text in DOCS.items():
        out.append(Passage(doc_id, doc_id, "", text, 0, len(text), 0.5, doc_id, tuple(sentence_spans(text))))
    return out


def _verifier(threshold: float = 0.5) -> Verifier:
    return Verifier(FakeEmbedder(), DOCS.__getitem__, threshold)


def test_split_sentences_keeps_markers_with_their_sentence() -> None:
    text = "Hangzhou was first. [1] Twelve cities joined [1][2]. Trade grew [3"
    assert split_sentences(text) == ["Hangzhou was first [1].", "Twelve cities joined [1][2].", "Trade grew"]


@pytest.mark.parametrize(
    ("sentence", "clean", "cited", "dropped"),
    [
        ("A claim [1].", "A claim.", [1], []),
        ("A claim [2, 1][2].", "A claim.", [2, 1], []),
        ("A claim [0].", "A claim.", [], ["[0]"]),
        ("A claim [99] and more [3].", "A claim and more.", [3], ["[99]"]),
        ("A claim [a][] [1-2].", "A claim.", [], ["[a]", "[]", "[1-2]"]),
        ("A claim [1, 7].", "A claim.", [1], ["[1, 7]"]),
    ],
)
def test_parse_markers(sentence: str, clean: str, cited: list[int], dropped: list[str]) -> None:
    assert parse_markers(sentence, 3) == (clean, cited, dropped)


def test_good_citations_are_renumbered_in_order_of_first_use() -> None:
    raw = "Cross-border trade reached 369 billion dollars in 2024 [2]. Hangzhou opened the first pilot zone in 2015 [1]."
    checked = _verifier().check(raw, _passages())
    assert checked.text == (
        "Cross-border trade reached 369 billion dollars in 2024. [1] "
        "Hangzhou opened the first pilot zone in 2015. [2]"
    )
    assert [s.sources for s in checked.sentences] == [(1,), (2,)]
    assert all(s.supported for s in checked.sentences)
    first, second = checked.citations
    assert (first.n, first.doc_id) == (1, "trade.txt") and (second.n, second.doc_id) == (2, "zones.txt")
    for c in checked.citations:  # each citation quotes its passage's closest sentence, at exact offsets
        assert DOCS[c.doc_id][c.start : c.end] == c.quote
    assert first.quote.startswith("Cross-border trade reached")


def test_a_citation_to_the_wrong_passage_is_dropped_and_the_sentence_flagged() -> None:
    checked = _verifier().check("Temu runs a fully managed model for its merchants [1].", _passages())
    (sentence,) = checked.sentences
    assert not sentence.supported and sentence.sources == () and checked.citations == ()
    assert checked.text == "Temu runs a fully managed model for its merchants."


def test_an_uncited_sentence_gets_the_best_passage_or_is_flagged() -> None:
    raw = "Temu runs a fully managed model for its merchants. The moon is made of green cheese."
    checked = _verifier().check(raw, _passages())
    temu, moon = checked.sentences
    assert temu.supported and temu.attached and temu.sources == (1,)
    assert checked.citations[0].doc_id == "temu.txt"
    assert not moon.supported and not moon.attached and moon.sources == ()


def test_out_of_range_and_malformed_markers_are_reported() -> None:
    raw = "Twelve more cities joined in 2016 [0][99]. It grew 10.8% on the year [x]."
    checked = _verifier().check(raw, _passages())
    assert checked.dropped_markers == ("[0]", "[99]", "[x]")
    # with every marker dropped, each sentence is checked as uncited: it gets the passage that supports it
    assert [(s.supported, s.attached, s.sources) for s in checked.sentences] == [
        (True, True, (1,)),
        (True, True, (2,)),
    ]
    assert [c.doc_id for c in checked.citations] == ["zones.txt", "trade.txt"]
    assert checked.text == "Twelve more cities joined in 2016. [1] It grew 10.8% on the year. [2]"


def test_nothing_but_markers_is_an_empty_answer() -> None:
    checked = _verifier().check(" [1] [2]. ", _passages())
    assert checked.text == "" and checked.sentences == () and checked.citations == ()
