"""The bundled knowledge base answers right after set-up; its index is built on first use."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Assistant
from rag.assistant import bundled_corpus_dir

pytestmark = pytest.mark.integration


def test_bundled_corpus_answers_with_citations(tmp_path: Path) -> None:
    bot = Assistant.bundled(cache_dir=tmp_path)
    answer = bot.ask("How many comprehensive pilot zones for cross-border e-commerce does China have?")
    assert not answer.refused and "165" in answer.citations[0].quote
    for c in answer.citations:
        assert Path(c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
        assert Path(c.source).parent == bundled_corpus_dir()
    follow = bot.chat()
    follow.ask("When was the first comprehensive pilot zone set up?")
    assert "12" in follow.ask("And how many cities did it expand to the next year?").citations[0].quote
    again = Assistant.bundled(cache_dir=tmp_path)  # second use loads, does not rebuild
    assert again.report is None and again.store.generation == bot.store.generation
