"""Two `rag serve` processes on one PostgreSQL index: what one adds, the other answers from on its
next question; the answers and citations are those of the folder store."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, fresh_schema
from tests.ui.serving import rag_serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_servers_on_one_database_see_each_others_documents(pg_url: str, tmp_path: Path) -> None:
    address = fresh_schema(pg_url)
    corpus = str(resources.files("rag") / "corpus")
    built = subprocess.run(
        [sys.executable, "-m", "ui.cli", "index", corpus, "--db", address, "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    question = "How many packers does the Walrus Point hub employ?"
    with rag_serve(tmp_path / "a", "--db", address) as a, rag_serve(tmp_path / "b", "--db", address) as b:
        before = httpx.post(
            b + "/api/v1/collections/default/ask", json={"question": question}, timeout=60
        ).json()
        assert before["refused"]
        files = {
            "files": (
                "walrus.md",
                b"# Walrus Point\n\nThe Walrus Point hub employs 312 packers.\n",
                "text/markdown",
            )
        }
        added = httpx.post(a + "/api/v1/collections/default/documents", files=files, timeout=120)
        assert added.status_code == 200 and added.json()["documents"] == 6, added.text
        after = httpx.post(
            b + "/api/v1/collections/default/ask", json={"question": question}, timeout=60
        ).json()
        assert "312 packers" in after["text"] and after["citations"][0]["doc_id"].endswith("walrus.md")
        info = httpx.get(b + "/api/v1/collections/default", timeout=60).json()
        assert info["documents"] == 6
        first = httpx.post(
            a + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "When was the first pilot zone set up?"}]},
            timeout=60,
        ).json()
        assert "2015" in first["choices"][0]["message"]["content"]


def test_the_bundled_set_gets_the_same_answers_from_both_stores(pg_url: str, bundled_bot: object) -> None:
    from rag import Assistant
    from rag.assistant import bundled_corpus_dir

    on_pg = Assistant.build([bundled_corpus_dir()], fresh_schema(pg_url))
    on_folder = bundled_bot
    text = (resources.files("evals") / "sets" / "bundled.jsonl").read_text(encoding="utf-8")
    questions = [json.loads(line)["question"] for line in text.splitlines() if line.strip()]
    same = 0
    for q in questions:
        a, b = on_pg.ask(q), on_folder.ask(q)  # type: ignore[attr-defined]
        same += (a.text, a.refused, [(c.start, c.end) for c in a.citations]) == (
            b.text,
            b.refused,
            [(c.start, c.end) for c in b.citations],
        )
    # full-text ranking differs from BM25 in places (see reports/postgres.json): nearly all agree
    assert same >= 0.9 * len(questions), f"{same} of {len(questions)} answers agree"
