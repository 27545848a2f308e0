"""The llm answer mode against a real (tiny) model: SmolLM2-135M-Instruct on llama.cpp.

Whatever the small model writes, every [n] shown is a passage that was given to it, sentences the
passages do not support are flagged, and a server killed mid-answer falls back to the quotes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag import Answer
from tests import smollm
from tests.conftest import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(smollm.gguf_path() is None, reason=smollm.MISSING),
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def llm_env() -> Iterator[dict[str, str]]:
    port = free_port()
    proc = smollm.start(port)
    yield {
        "RAG_LLM_BACKEND": "openai",
        "RAG_LLM_URL": f"http://127.0.0.1:{port}/v1",
        "RAG_LLM_MODEL": "smollm2-135m-instruct",
        "RAG_LLM_TIMEOUT": "120",
    }
    proc.kill()
    proc.wait()


def _check(answer: dict[str, Any] | Answer) -> None:
    """Every [n] in the text names a cited passage; each sentence is either supported or flagged."""
    d = answer.to_dict() if isinstance(answer, Answer) else answer
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", d["text"])}
    assert numbers <= {c["n"] for c in d["citations"]}
    assert all(isinstance(s["supported"], bool) for s in d.get("sentences", []))


def test_rag_ask_in_llm_mode_with_a_real_model(llm_env: dict[str, str], bundled_bot: Any) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ui.cli",
            "ask",
            "When was the first pilot zone set up?",
            "--mode",
            "llm",
            "--json",
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **llm_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] in ("llm", "extractive")  # extractive only when the model's reply was unusable
    _check(answer)


def test_chat_streams_the_real_model_then_shows_the_checked_answer(
    llm_env: dict[str, str], bundled_bot: Any
) -> None:
    from rag.entry import mode_settings

    bot = bundled_bot.with_settings(**mode_settings("llm", llm_env))
    items = list(bot.chat().stream("What was China's cross-border e-commerce trade worth in 2024?"))
    assert any(isinstance(i, str) and i for i in items[:-1])  # words arrived as they were written
    final = items[-1]
    assert isinstance(final, Answer)
    _check(final)
    shown = [s for s in final.sentences if not s.supported]
    assert all(s.text in final.text for s in shown)


def test_killing_the_model_mid_stream_falls_back_to_the_quotes(bundled_bot: Any) -> None:
    from rag.entry import mode_settings

    port = free_port()
    proc = smollm.start(port)
    env = {
        "RAG_LLM_BACKEND": "openai",
        "RAG_LLM_URL": f"http://127.0.0.1:{port}/v1",
        "RAG_LLM_MODEL": "smollm2",
    }
    bot = bundled_bot.with_settings(**mode_settings("llm", env))
    final = None
    try:
        for item in bot.stream("How many comprehensive pilot zones does China have?"):
            if isinstance(item, str) and proc.poll() is None:
                proc.kill()  # the server dies after its first words
            if isinstance(item, Answer):
                final = item
    finally:
        proc.kill()
        proc.wait()
    assert final is not None and final.mode == "extractive"
    assert final.notice and "extractive answer instead" in final.notice
    assert final.citations and "165" in final.text


def test_rag_eval_bundled_in_llm_mode_reports_the_supported_share(
    llm_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "bundled",
            "--mode",
            "llm",
            "--limit",
            "6",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **llm_env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    overall = json.loads((out / "report.json").read_text())["overall"]
    assert overall["questions"] == 6
    assert 0.0 <= overall["sentences_supported"] <= 1.0
    assert "sentences_supported" in done.stdout  # the share the check supports, printed
