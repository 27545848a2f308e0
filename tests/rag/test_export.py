"""A conversation exported as Markdown and JSON."""

from __future__ import annotations

import json

import pytest

from rag.export import conversation_json, conversation_markdown
from rag.types import Answer, Citation

pytestmark = pytest.mark.unit

CITED = Answer(
    question="When did the port open?",
    text="It opened in\nMay 2026. [1]",
    refused=False,
    citations=(
        Citation(1, "/srv/docs/port.md", "/srv/docs/port.md", "Port", "It opened in\nMay 2026.", 21, 43, 0.8),
    ),
    passages=(),
    resolved_question="When did the port open?",
    confidence=0.91,
)
REFUSED = Answer("Who won?", "I could not find that in the documents.", True, (), (), "Who won?", 0.1)


def test_json_keeps_every_citation_with_paths_as_shown() -> None:
    data = json.loads(conversation_json([CITED, REFUSED], shown=lambda p: p.rsplit("/", 1)[-1]))
    assert data["format"] == "rag-assistant conversation" and data["version"] == 1
    first, second = data["turns"]
    assert first["citations"] == [
        {
            "n": 1,
            "doc_id": "port.md",
            "source": "port.md",
            "title": "Port",
            "quote": "It opened in\nMay 2026.",
            "start": 21,
            "end": 43,
            "page": None,
        }
    ]
    assert second["refused"] and second["citations"] == []


def test_markdown_lists_each_question_answer_and_quote() -> None:
    text = conversation_markdown([CITED, REFUSED], shown=lambda p: p.rsplit("/", 1)[-1])
    assert "**Question:** When did the port open?" in text
    assert "**Answer:** It opened in May 2026. [1]" in text
    assert '- [1] Port (port.md), chars 21-43: "It opened in May 2026."' in text
    assert "**Answer:** _Not found._ I could not find that in the documents." in text
