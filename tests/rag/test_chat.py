"""Follow-up detection and resolution, without any LLM."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.build import build_index
from index.settings import IndexSettings
from index.store import IndexStore
from rag import Assistant, InputError, Settings
from rag.chat import FollowUp, Turn, history_from_turns, is_followup, resolve
from rag.types import Answer, Citation
from tests.conftest import FakeEmbedder, write

pytestmark = pytest.mark.unit


def _answer(question: str, resolved: str | None = None, refused: bool = False) -> Answer:
    cites = () if refused else (Citation(1, "d", "d", "", "In 2015 it began.", 5, 22, 0.9),)
    return Answer(question, "x", refused, cites, (), resolved or question, 0.9)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("And how many cities did it expand to the next year?", True),
        ("What about Shenzhen?", True),
        ("Who runs it?", True),
        ("How many pilot zones does China have?", False),
        ("Who is the CEO of PayPal China?", False),
        ("Until when?", True),  # elliptical: names nothing of its own
        ("In which year?", True),
        ("Why?", True),
        ("Who founded Alibaba?", False),  # short, but names what it is about
        ("What is e-commerce?", False),
    ],
)
def test_is_followup(question: str, expected: bool) -> None:
    assert is_followup(question) is expected


def test_resolve_uses_previous_question_and_citations() -> None:
    history = [_answer("When was the first pilot zone set up?")]
    f = resolve("And how many cities did it expand to?", history)
    assert f == FollowUp(
        "When was the first pilot zone set up?",
        (("d", 5, 22),),
        (("user", "When was the first pilot zone set up?"), ("assistant", "x")),  # for an LLM's rewrite
    )
    assert resolve("How many zones are there?", history) is None
    assert resolve("And then?", []) is None
    elliptical = resolve("In which year?", history)  # names nothing: it borrows the previous question
    assert elliptical is not None
    assert elliptical.joined("In which year?") == "When was the first pilot zone set up? In which year?"


def test_chat_session_resolves_followups_against_its_own_history(tmp_path: Path) -> None:
    write(
        tmp_path / "docs" / "zones.txt",
        "Hangzhou opened the first pilot zone in 2015. The programme grew to 12 more cities in 2016. "
        "Temu introduced a fully managed model for its merchants.",
    )
    settings = IndexSettings(model="fake-embedder", chunk_size=40, chunk_overlap=8)
    emb = FakeEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, settings)
    bot = Assistant(IndexStore.open(tmp_path / "idx"), emb, Settings(index=settings, refusal_threshold=0.0))

    chat = bot.chat()
    first = chat.ask("When did Hangzhou open the first pilot zone?")
    follow = chat.ask("And how many cities joined it the next year?")
    assert (
        follow.resolved_question
        == "When did Hangzhou open the first pilot zone? And how many cities joined it the next year?"
    )
    assert "2015" in first.citations[0].quote and "12 more cities" in follow.citations[0].quote
    assert chat.history == [first, follow]

    other = bot.chat()  # another conversation: the same words are not a follow-up of anything
    assert other.ask("And how many cities joined it the next year?").resolved_question.startswith("And")

    kept: list[Answer] = [first]  # a conversation going on elsewhere (the browser's session state)
    items = list(bot.chat(kept).stream("And how many cities joined it the next year?"))
    assert items[-1] is kept[-1] and len(kept) == 2 and "12 more cities" in kept[-1].citations[0].quote


def test_a_conversation_keeps_at_most_max_history_turns_and_long_questions_are_refused(
    tmp_path: Path,
) -> None:
    write(tmp_path / "docs" / "zones.txt", "Hangzhou opened the first pilot zone in 2015.")
    settings = IndexSettings(model="fake-embedder", chunk_size=40, chunk_overlap=8)
    emb = FakeEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "idx", emb, settings)
    bot = Assistant(IndexStore.open(tmp_path / "idx"), emb, Settings(index=settings, max_history=3))
    chat = bot.chat()
    for i in range(5):
        chat.ask(f"Question {i} about the first pilot zone?")
    assert [a.question for a in chat.history] == [
        f"Question {i} about the first pilot zone?" for i in (2, 3, 4)
    ]
    with pytest.raises(
        InputError, match=r"2,001 characters long, over the 2,000 limit \(RAG_MAX_QUESTION_CHARS\)"
    ):
        bot.ask("x" * 2001)


def test_turns_a_client_kept_become_a_history_resolved_as_it_was_asked() -> None:
    history = history_from_turns(
        [
            Turn("When was the first pilot zone set up?", "In 2015. [1]"),
            Turn("And the next year?", "12 more cities. [1]"),
            Turn("What is the GDP of Mars?", "I could not find this.", refused=True),
        ]
    )
    assert [a.resolved_question for a in history] == [
        "When was the first pilot zone set up?",
        "When was the first pilot zone set up? And the next year?",
        "What is the GDP of Mars?",
    ]
    assert history[1].text == "12 more cities. [1]" and history[2].refused
    followup = resolve("And in 2017?", history[:2])
    assert followup is not None and followup.previous_question.endswith("And the next year?")
