"""Follow-up detection and resolution, without any LLM."""

from __future__ import annotations

import pytest

from rag.chat import ChatSession, FollowUp, is_followup, resolve
from rag.types import Answer, Citation

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


def test_chat_session_keeps_history_and_passes_followups() -> None:
    seen: list[FollowUp | None] = []

    class Bot:
        def ask(self, question: str, k: int | None = None, followup: FollowUp | None = None) -> Answer:
            seen.append(followup)
            resolved = f"{followup.previous_question} {question}" if followup else question
            return _answer(question, resolved)

    chat = ChatSession(Bot())
    chat.ask("When was the first pilot zone set up?")
    chat.ask("And what about the next year?")
    assert seen[0] is None and seen[1] is not None
    assert len(chat.history) == 2
    chat.reset()
    assert chat.history == []
