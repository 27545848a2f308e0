"""Chat sessions: history, and follow-up questions resolved against earlier turns (no LLM needed)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from rag.answer import terms
from rag.types import Answer, Citation, FollowUp, final_answer

if TYPE_CHECKING:
    from rag.assistant import Assistant

_CONNECTIVE = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what else|or)\b", re.IGNORECASE)
_ANAPHOR = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|these|those|he|she|his|her|him|"
    r"the same|the next|the following|the previous|that year|that time)\b",
    re.IGNORECASE,
)
_MAX_CONTEXT_WORDS = 60
# Words that ask for a kind of thing without naming what about: "In which year?", "Until when?"
_GENERIC = "year date time month day city country place amount number percent percentage one long else exactly reason"
_ELLIPTICAL_WORDS = 5


@cache
def _generic_terms() -> frozenset[str]:
    return frozenset(terms(_GENERIC))


def is_elliptical(question: str) -> bool:
    """A short question that names nothing of its own ("Until when?", "In which year?", "Why?"):
    what it is about was said in the turn before."""
    return len(question.split()) <= _ELLIPTICAL_WORDS and not (terms(question) - _generic_terms())


def is_followup(question: str) -> bool:
    """A question that leans on an earlier turn: it opens with a connective, refers back, or is elliptical."""
    return bool(_CONNECTIVE.search(question) or _ANAPHOR.search(question) or is_elliptical(question))


def resolve(question: str, history: list[Answer]) -> FollowUp | None:
    """The context a follow-up needs from the previous turn, or None for a standalone question."""
    if not history or not is_followup(question):
        return None
    last = history[-1]
    # Chain through the previous turn's own resolution, keeping only the most recent words.
    words = last.resolved_question.split()[-_MAX_CONTEXT_WORDS:]
    cited = tuple((c.doc_id, c.start, c.end) for c in last.citations)
    if last.refused and len(history) > 1:
        cited = tuple((c.doc_id, c.start, c.end) for c in history[-2].citations)
    turns: list[tuple[str, str]] = []
    for earlier in history[-3:]:
        turns += [("user", earlier.question), ("assistant", earlier.text)]
    return FollowUp(" ".join(words), cited, tuple(turns))


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation as a client keeps it (e.g. OpenAI-style `messages`):
    the question, the answer's text, and what the answer quoted when the client sent it back."""

    question: str
    answer: str = ""
    cited: tuple[Citation, ...] = ()
    refused: bool = False


def history_from_turns(turns: Sequence[Turn]) -> list[Answer]:
    """The history `ChatSession` needs, rebuilt from a client's turns without asking anything again:
    each question is resolved against the turns before it, as it was when it was asked."""
    history: list[Answer] = []
    for turn in turns:
        followup = resolve(turn.question, history)
        resolved = followup.joined(turn.question) if followup else turn.question
        history.append(Answer(turn.question, turn.answer, turn.refused, turn.cited, (), resolved, 0.0))
    return history


class ChatSession:
    """A conversation: each question may be a follow-up of the earlier ones, which `history` keeps.

    >>> chat = bot.chat()
    >>> chat.ask("When was the first pilot zone set up?").text
    >>> chat.ask("And how many cities did it expand to the next year?").text
    """

    def __init__(self, assistant: Assistant, history: list[Answer] | None = None) -> None:
        """`history` (the answers so far, oldest first) is kept by reference and grows with each
        answer, up to the assistant's `settings.max_history` turns."""
        self._assistant = assistant
        self.history: list[Answer] = [] if history is None else history

    def ask(self, question: str, k: int | None = None, within: Collection[str] | None = None) -> Answer:
        """Answer `question` in this conversation (see `Assistant.ask` for `k` and `within`)."""
        return final_answer(self._stream(question, k, within, live=False))

    def stream(
        self, question: str, k: int | None = None, within: Collection[str] | None = None
    ) -> Iterator[str | Answer]:
        """Like `ask`, streaming as `Assistant.stream` does; the final Answer joins the history."""
        return self._stream(question, k, within, live=True)

    def _stream(
        self, question: str, k: int | None, within: Collection[str] | None, live: bool
    ) -> Iterator[str | Answer]:
        followup = resolve(question, self.history)
        for item in self._assistant.stream(question, k=k, within=within, followup=followup, live=live):
            if isinstance(item, Answer):
                self.history.append(item)
                del self.history[: -self._assistant.settings.max_history]  # the oldest turns go
            yield item
