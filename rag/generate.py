"""Answers written by the user's LLM from the retrieved passages, checked before they are shown.

The LLM sees the passages numbered 1..N and must cite them; `Verifier` then drops bad markers,
renumbers the rest and flags sentences their citations do not support. When the LLM cannot be
reached, times out or fails, the extractive answer is given instead, with a one-line notice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from rag.answer import ExtractiveAnswerer
from rag.llm import ChatLLM, LLMError
from rag.prompt import answer_messages, is_not_found, rewrite_messages
from rag.types import REFUSAL_TEXT, Answer, FollowUp, Passage
from rag.verify import Verifier


class GenerativeAnswerer:
    """Ask the LLM, check its answer; fall back to `extractive` when the LLM fails."""

    def __init__(self, llm: ChatLLM, verifier: Verifier, extractive: ExtractiveAnswerer) -> None:
        self.llm = llm
        self.verifier = verifier
        self.extractive = extractive

    def standalone(self, question: str, followup: FollowUp | None) -> tuple[str, str]:
        """The follow-up rewritten by the LLM as a standalone question, and why the LLM failed ('' if
        it did not; the question is then joined to the previous one, as in extractive mode)."""
        if followup is None:
            return question, ""
        try:
            rewritten = self.llm.chat(rewrite_messages(followup.turns, question)).strip()
            return (rewritten.splitlines()[0].strip() if rewritten else question), ""
        except LLMError as exc:
            return followup.joined(question), str(exc)

    def stream(
        self,
        question: str,
        passages: list[Passage],
        qvec: np.ndarray,
        resolved: str,
        live: bool = False,
    ) -> Iterator[str | Answer]:
        """With `live`, the LLM's text as it arrives; always last, the checked `Answer`."""
        if not passages:
            yield _refusal(question, resolved, passages)
            return
        messages = answer_messages(resolved, passages)
        pieces: list[str] = []
        try:
            if live:
                for piece in self.llm.stream(messages):
                    pieces.append(piece)
                    yield piece
            else:
                pieces.append(self.llm.chat(messages))
        except LLMError as exc:
            fallback = self.extractive.answer(question, passages, qvec, resolved_question=resolved)
            yield replace(fallback, notice=f"{exc}; showing the extractive answer instead.")
            return
        yield self.check(question, "".join(pieces), passages, resolved)

    def check(self, question: str, raw: str, passages: list[Passage], resolved: str) -> Answer:
        if is_not_found(raw):
            return _refusal(question, resolved, passages)
        checked = self.verifier.check(raw, passages)
        if not checked.sentences:
            return _refusal(question, resolved, passages, "The LLM's reply held no sentences.")
        supported = sum(s.supported for s in checked.sentences)
        notices = []
        if checked.dropped_markers:
            notices.append(
                f"Dropped citation markers that name no passage: {' '.join(checked.dropped_markers)}."
            )
        if supported < len(checked.sentences):
            notices.append(f"{len(checked.sentences) - supported} sentence(s) not supported by the passages.")
        return Answer(
            question,
            checked.text,
            False,
            checked.citations,
            tuple(passages),
            resolved,
            supported / len(checked.sentences),
            mode="llm",
            sentences=checked.sentences,
            notice=" ".join(notices),
        )


def _refusal(question: str, resolved: str, passages: list[Passage], notice: str = "") -> Answer:
    return Answer(question, REFUSAL_TEXT, True, (), tuple(passages), resolved, 0.0, mode="llm", notice=notice)
