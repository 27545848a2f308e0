"""The frozen types `rag` hands out: an Answer survives its JSON shape."""

from __future__ import annotations

import json

import pytest

from rag.types import Answer, Citation, Passage, SentenceCheck

pytestmark = pytest.mark.unit


def test_an_answer_round_trips_through_its_json() -> None:
    answer = Answer(
        question="When did the port open?",
        text="It opened in May 2026. [1]",
        refused=False,
        citations=(Citation(1, "d", "docs/port.pdf", "Port", "It opened in May 2026.", 21, 43, 0.8, page=2),),
        passages=(Passage("d", "docs/port.pdf", "Port", "It opened in May 2026.", 21, 43, 0.7, "d#0"),),
        resolved_question="When did the port open?",
        confidence=0.9123,
        unmatched_terms=("Otter",),
        mode="llm",
        sentences=(SentenceCheck("It opened in May 2026.", (1,), True, 0.8),),
        notice="a note",
    )
    assert Answer.from_dict(json.loads(json.dumps(answer.to_dict()))) == answer
    with pytest.raises((KeyError, TypeError)):
        Answer.from_dict({"question": "q"})
