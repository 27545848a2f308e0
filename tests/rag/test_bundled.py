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
    assert again.report is None and again.info() == bot.info()


@pytest.mark.unit
def test_two_checkouts_do_not_share_the_bundled_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import rag.assistant as assistant
    from index.settings import IndexSettings

    dirs = []
    for name in ("a", "b"):
        copy = tmp_path / name / "corpus"
        shutil.copytree(bundled_corpus_dir(), copy)
        monkeypatch.setattr(assistant, "bundled_corpus_dir", lambda copy=copy: copy)
        dirs.append(
            assistant.cached_index_dir([assistant.bundled_corpus_dir()], IndexSettings(), tmp_path / "cache")
        )
    assert dirs[0] != dirs[1] and dirs[0].parent == dirs[1].parent
