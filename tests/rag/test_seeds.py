"""Integration: the real MiniLM model and FAISS over the two seed articles in ../shared/seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import REFUSAL_TEXT, Answer, Assistant

pytestmark = [pytest.mark.integration]

# (question, a string the answer must contain). Several are paraphrases sharing few words with the text.
ANSWERABLE = [
    ("How many comprehensive pilot zones for cross-border e-commerce does China have?", "165"),
    ("Where was the first comprehensive pilot zone established?", "Hangzhou"),
    ("In which year was the first batch of pilot zones set up?", "2015"),
    ("How much did China's cross-border e-commerce grow over the past five years?", "nearly 10 times"),
    ("What AI product did Alibaba launch for foreign trade?", "Business Assistant"),
    ("Which model did Temu introduce?", "fully managed"),
    (
        "What was the total value of China's cross-border e-commerce imports and exports in 2024?",
        "$369 billion",
    ),
    ("How fast did retail e-commerce grow in the Asia-Pacific region in 2024?", "8.4%"),
    ("What is the e-commerce penetration rate in Australia?", "16%"),
    ("Who is the Governor of the National Bank of Cambodia?", "Chea Serey"),
    (
        "What was the theme of the Boao Forum for Asia Annual Conference 2025?",
        "Creating Asia's Future Together",
    ),
    ("What model did Shenzhen introduce in 2017?", "Bonded + Physical New Retail"),
    ("Who is the CEO of PayPal China?", "Qiu Han"),
    ("Which university does Liu Chunsheng work at?", "Central University of Finance and Economics"),
    # paraphrases
    ("How much money moved through China's online cross-border trade last year?", "$369 billion"),
    ("Which city hosted the earliest experimental zone for online trade across borders?", "Hangzhou"),
    ("What share of Australian retail happens online?", "16%"),
]
UNANSWERABLE = [
    "What is the population of Brazil?",
    "Who won the 2022 FIFA World Cup?",
    "What is the recipe for chocolate cake?",
]


@pytest.fixture(scope="module")
def bot(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.build([shared_dir / "seeds"], tmp_path_factory.mktemp("seeds") / "index")


def _assert_quotes_at_offsets(bot: Assistant, answer: Answer) -> None:
    numbers = [c.n for c in answer.citations]
    first_uses = list(dict.fromkeys(numbers))
    assert first_uses == list(range(1, len(first_uses) + 1))  # 1..N in order of first use, no gaps
    for c in answer.citations:
        text = bot.document_text(c.doc_id)
        assert text[c.start : c.end] == c.quote
        # For a .txt file the extracted text is the file itself, so offsets hold in the file too.
        assert Path(c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text


@pytest.mark.parametrize(("question", "expected"), ANSWERABLE)
def test_answers_with_exact_citations(bot: Assistant, question: str, expected: str) -> None:
    answer = bot.ask(question)
    assert not answer.refused, answer
    assert 1 <= len(answer.citations) <= 3
    assert expected in answer.citations[0].quote, answer.text  # the most relevant sentence first
    _assert_quotes_at_offsets(bot, answer)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_refuses_what_the_articles_do_not_say(bot: Assistant, question: str) -> None:
    answer = bot.ask(question)
    assert answer.refused and answer.text == REFUSAL_TEXT and answer.citations == ()


def test_follow_up_is_resolved_from_history(bot: Assistant) -> None:
    chat = bot.chat()
    first = chat.ask("When was the first comprehensive pilot zone set up?")
    assert "2015" in first.citations[0].quote
    follow = chat.ask("And how many cities did it expand to the next year?")
    assert "12 cities" in follow.citations[0].quote
    assert "first comprehensive pilot zone" in follow.resolved_question
    _assert_quotes_at_offsets(bot, follow)
    assert len(chat.history) == 2


def test_retrieve_returns_distinct_passages_at_their_offsets(bot: Assistant) -> None:
    passages = bot.retrieve("What was the theme of the Boao Forum?", k=4)
    assert len(passages) == 4 and len({p.chunk_id for p in passages}) == 4
    assert "Creating Asia's Future Together" in passages[0].text  # the best passage first
    for p in passages:  # hybrid ranks by fused rank; each score is still the passage's cosine similarity
        assert bot.document_text(p.doc_id)[p.start : p.end] == p.text
        assert -1.0 <= p.score <= 1.0
    dense = bot.retrieve("What was the theme of the Boao Forum?", k=4, retriever="dense")
    assert [p.score for p in dense] == sorted((p.score for p in dense), reverse=True)  # dense: by cosine


def test_to_dict_is_json_ready(bot: Assistant) -> None:
    import json

    d = bot.ask("Who is the CEO of PayPal China?").to_dict()
    assert json.loads(json.dumps(d))["citations"][0]["n"] == 1
    assert set(d["citations"][0]) == {
        "n",
        "doc_id",
        "source",
        "title",
        "quote",
        "start",
        "end",
        "score",
        "page",
    }
