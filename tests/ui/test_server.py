"""The chat server under change: `rag index` rewrites its index from another process while clients
ask; uploads cannot replace each other's documents; the API says what is wrong and shows no server path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, write

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    from rag import Assistant
    from ui.app import ChatApp, serve

    tmp = tmp_path_factory.mktemp("server")
    docs = tmp / "docs"
    for i in range(30):
        write(docs / f"depot-{i}.txt", f"Depot {i} in Yiwu ships {100 + i} parcels a day to Europe.\n")
    write(docs / "walrus.txt", "The Walrus Point hub employs 312 packers.\n")
    bot = Assistant.build([docs], tmp / "index")
    app = ChatApp(bot, tmp / "data", temp_dir=tmp / "gradio-temp")
    port = free_port()
    demo = serve(app, port=port, block=False)
    yield f"http://127.0.0.1:{port}", app, tmp
    demo.close()


def test_answers_keep_coming_while_rag_index_rewrites_the_index(served: tuple[str, Any, Path]) -> None:
    from gradio_client import Client

    url, _, tmp = served
    docs = tmp / "docs"
    client = Client(url, verbose=False)
    errors: list[str] = []
    answers: list[dict[str, Any]] = []
    stop = threading.Event()

    def ask_forever() -> None:
        while not stop.is_set():
            try:
                answers.append(
                    client.predict(
                        "How many packers does the Walrus Point hub employ?", [], 0, api_name="/ask"
                    )
                )
            except Exception as exc:  # any failure is what this test looks for
                errors.append(f"{type(exc).__name__}: {exc}")

    asker = threading.Thread(target=ask_forever)
    asker.start()
    try:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        for round_ in range(3):
            for i in range(round_ * 10, round_ * 10 + 10):
                write(
                    docs / f"depot-{i}.txt", f"Round {round_}: depot {i} now ships {900 + i} parcels a day.\n"
                )
            if round_ == 2:
                (docs / "walrus.txt").unlink()
                write(docs / "otter.txt", "The Otter Bay port cleared 9,100 parcels on its first day.\n")
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ui.cli",
                    "index",
                    str(docs),
                    "--index-dir",
                    str(tmp / "index"),
                    "--quiet",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
        time.sleep(0.5)
    finally:
        stop.set()
        asker.join(timeout=60)
    assert errors == []
    assert len(answers) >= 5
    assert any(not a["refused"] and "312" in a["citations"][0]["quote"] for a in answers)
    # the server switched to the newest version: the removed document is gone, the new one answers
    gone = client.predict("How many packers does the Walrus Point hub employ?", [], 0, api_name="/ask")
    assert not any("312" in c["quote"] for c in gone["citations"])
    new = client.predict(
        "How many parcels did the Otter Bay port clear on its first day?", [], 0, api_name="/ask"
    )
    assert "9,100" in new["citations"][0]["quote"]
    assert new["citations"][0]["source"] == "otter.txt" and new["citations"][0]["doc_id"] == "otter.txt"
    assert str(tmp) not in json.dumps(new)  # no server path in what the API returns
    versions = {p.name.split(".")[1] for p in (tmp / "index").iterdir() if p.name.startswith("vectors.")}
    assert len(versions) <= 2  # old versions are collected once nobody reads them


def test_the_api_names_bad_requests(served: tuple[str, Any, Path]) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(served[0], verbose=False)
    for question, k, message in [
        ("   ", 0, "the question is empty"),
        ("How many depots?", -5, "k must be greater than 0"),
        ("x" * 2001, 0, "over the 2,000 limit (RAG_MAX_QUESTION_CHARS)"),
    ]:
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(question, [], k, api_name="/ask")


def test_uploads_never_replace_another_document_and_their_temporary_copies_go(
    served: tuple[str, Any, Path],
) -> None:
    _, app, tmp = served
    temp = tmp / "gradio-temp"
    first = write(temp / "a1" / "notes.txt", "The first notes: the ferry leaves at 9.\n")
    second = write(temp / "b2" / "notes.txt", "The second notes: the ferry leaves at 11.\n")
    hijack = write(
        temp / "c3" / "records.jsonl",
        json.dumps(
            {
                "id": str((tmp / "docs" / "depot-29.txt").resolve()),
                "text": "Depot 29 closed, says the hijacker.",
            }
        )
        + "\n",
    )
    app.add_files([str(first)])
    report, _ = app.add_files([str(second), str(hijack)])
    names = sorted(p.name for p in (tmp / "data" / "uploads").iterdir())
    assert names == ["notes (2).txt", "notes.txt", "records.jsonl"]
    assert any("belongs to" in s.reason for s in report.skipped)
    texts = {d.file_name: app.bot.document_text(d.doc_id) for d in app.bot.documents()}
    assert "9" in texts["notes.txt"] and "11" in texts["notes (2).txt"]
    assert "hijacker" not in app.bot.document_text(str((tmp / "docs" / "depot-29.txt").resolve()))
    assert not [p for p in temp.rglob("*") if p.is_file()]  # the server's temporary copies are gone
