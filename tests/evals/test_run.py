"""`rag eval` end to end: answers, rankings, metrics and the report folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from evals.cli import main
from evals.evalset import EvalItem
from evals.rankers import BM25Ranker
from evals.report import write_report
from evals.run import report_dict, run_eval
from index.build import build_index
from index.settings import IndexSettings
from index.store import IndexStore
from rag.assistant import Assistant
from rag.settings import Settings
from tests.conftest import FakeEmbedder, write
from tests.llm_servers import Script, ScriptedServer

DOCS = {
    "ports.txt": "The Otter Bay bonded port cleared 9,100 parcels on its first day. It opened in May 2026.",
    "hubs.txt": "The Walrus Point fulfilment hub employs 312 packers. Its managers train them every week.",
    "trains.txt": "Freight trains from Yiwu reach Madrid in about 21 days. They carry small parcels and toys.",
}


def _corpus(root: Path) -> Path:
    for name, text in DOCS.items():
        write(root / name, text + "\n")
    return root


def _write_set(path: Path, who: str) -> None:
    """Three questions: one answerable, a follow-up asking how often `who` are trained, one not."""
    rows = [
        {
            "id": "a",
            "question": "How long do freight trains from Yiwu take to reach Madrid?",
            "answers": ["21 days"],
            "evidence": ["trains.txt"],
        },
        {
            "id": "b",
            "question": f"How often are {who} trained?",
            "answers": ["every week"],
            "evidence": ["train them every week"],
            "history": [{"role": "user", "content": "Who employs 312 packers?"}],
        },
        {"id": "c", "question": "Who won the 2022 FIFA World Cup?", "answers": []},
    ]
    write(path, "".join(json.dumps(r) + "\n" for r in rows))


def _rag_eval(tmp_path: Path, who: str, *extra: str) -> tuple[list[str], Path]:
    """`rag eval set.jsonl` (see `_write_set`) on the three documents, as a user runs it: the `rag`
    command in a process of its own. Returns the command and the report folder it writes."""
    corpus = _corpus(tmp_path / "docs")
    _write_set(tmp_path / "set.jsonl", who)
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "ui.cli", "eval", str(tmp_path / "set.jsonl"), "--corpus", str(corpus)]
    return [*cmd, *extra, "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet"], out


@pytest.mark.unit
def test_run_eval_scores_answers_rankings_and_writes_the_report(tmp_path: Path) -> None:
    settings = IndexSettings(model="fake-embedder", chunk_size=48, chunk_overlap=8)
    emb = FakeEmbedder()
    build_index([_corpus(tmp_path / "docs")], tmp_path / "idx", emb, settings)
    bot = Assistant(IndexStore.open(tmp_path / "idx"), emb, Settings(index=settings, refusal_threshold=0.45))
    ids = {d.file_name: d.doc_id for d in bot.documents()}
    hubs = ids["hubs.txt"]
    items = [
        EvalItem(
            "q1",
            "How many packers does the Walrus Point fulfilment hub employ?",
            ("312",),
            True,
            ("hubs.txt", "312 packers"),
            group="g",
        ),
        EvalItem(
            "q2",
            "How many parcels did the Otter Bay bonded port clear on its first day?",
            ("9,100",),
            True,
            ("9,100 parcels",),
            group="g",
        ),
        EvalItem("q3", "zebra quantum violin?", (), False, group="none"),
        EvalItem("q4", "How many packers does the hub employ?", ("312",), True, (hubs,), within=(hubs,)),
    ]
    run = run_eval(bot, items, [BM25Ranker(bot)], progress=False, rules=True)
    rows = {r.id: r for r in run.rows}
    # the rules' answers stand beside (here the bot has no reader: the same answers)
    reference = rows["q1"].reference
    assert run.reference == "rules" and reference is not None
    assert replace(reference, latency_ms=rows["q1"].scored.latency_ms) == rows["q1"].scored
    assert rows["q1"].scored.contains_answer and rows["q1"].scored.citation_correct
    assert rows["q1"].relevant == {hubs: 1}
    assert rows["q2"].relevant == {ids["ports.txt"]: 1}  # found by the evidence text
    q3 = rows["q3"].scored
    assert q3.refused and q3.em == 1.0 and q3.contains_answer is None and rows["q3"].retrieval == {}
    assert rows["q4"].rankings["ours (hybrid)"] == [hubs]
    assert rows["q4"].rankings["bm25 (bm25s)"] == [hubs]
    assert rows["q1"].retrieval["bm25 (bm25s)"]["hit@1"] == 1.0

    report = report_dict(
        run,
        {
            "set": "t",
            "split": "all",
            "command": "rag eval t",
            "settings": {"refusal_threshold": 0.45, "top_k": 6},
            "anchors": [
                {"system": "bm25 (bm25s)", "metric": "ndcg@10", "published": 0.5, "source": "a paper"}
            ],
        },
    )
    assert report["overall"]["questions"] == 4 and set(report["groups"]) == {"g", "none"}
    assert report["overall"]["refusal_recall"] == 1.0
    assert report["overall"]["retrieval"]["ours (hybrid)"]["queries"] == 3
    assert report["reference"] == "rules" and report["overall"]["rules"]["refusal_recall"] == 1.0
    # q1, q2 and q4 are answered right; how many with confidence >= 0.8 depends on the fake scores
    assert report["overall"]["confident_right"] in (None, 1.0)
    files = write_report(tmp_path / "out", run, report, 0.45)
    assert {f.name for f in files} == {
        "report.json",
        "report.md",
        "results.jsonl",
        "scores.png",
        "answered.png",
        "latency.png",
        "reliability.png",
    }
    assert all(f.stat().st_size > 0 for f in files)
    assert (tmp_path / "out" / "scores.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| bm25 (bm25s) |" in md and "## Worst questions" in md
    assert (
        "## reader next to rules (the same questions)" in md and "| refusal recall | 1.0000 | 1.0000 |" in md
    )
    ndcg = report["overall"]["retrieval"]["bm25 (bm25s)"]["ndcg@10"]
    assert f"| bm25 (bm25s) | ndcg@10 | {ndcg:.4f} | 0.5000 | {ndcg - 0.5:+.4f} | a paper |" in md
    lines = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", "q3", "q4"]
    assert lines[0] == json.loads(json.dumps(rows["q1"].to_dict())) and lines[0]["contains_answer"] is True


@pytest.mark.integration
@pytest.mark.slow
def test_rag_eval_command_on_a_jsonl_set(tmp_path: Path) -> None:
    cmd, out = _rag_eval(tmp_path, "the packers", "--compare")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "set (all): 3 questions" in done.stdout and "bm25 (bm25s): nDCG@10" in done.stdout
    assert "llama-index (stock): nDCG@10 1.0000" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["answer_contains_gold"] == 1.0
    assert report["overall"]["refusal_f1"] == 1.0
    assert report["command"].startswith("rag eval ")
    # A second run finds the cached indexes (ours and llama-index's) and writes neither again.
    cached = sorted((tmp_path / "cache").iterdir())
    assert [p.name.endswith("-llama-index") for p in cached] == [False, True]
    stamps = [p.stat().st_mtime_ns for p in (cached[0] / "manifest.json", cached[1] / "docstore.json")]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert sorted((tmp_path / "cache").iterdir()) == cached
    assert [
        p.stat().st_mtime_ns for p in (cached[0] / "manifest.json", cached[1] / "docstore.json")
    ] == stamps
    bad = subprocess.run([*cmd[:5], "--quiet"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "needs its documents: add --index-dir DIR or --corpus PATH" in bad.stderr


@pytest.mark.unit
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown eval set 'nope'; built-in sets: scifact, squad, rgb, multihop, bundled"),
        (
            ["set.jsonl", "--index-dir", "i", "--split", "dev"],
            "a .jsonl eval set has no 'dev' split; leave out --split",
        ),
        (
            ["squad", "--compare", "foo"],
            "unknown --compare system(s) ['foo']; choose from dense, bm25, llama-index, rules",
        ),
        (["bundled", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_rag_eval_bad_arguments_fail_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err


@pytest.mark.integration
@pytest.mark.slow
def test_rag_eval_in_llm_mode_reports_support_next_to_extractive(tmp_path: Path) -> None:
    cmd, out = _rag_eval(tmp_path, "they", "--mode", "llm")
    with ScriptedServer("openai") as server:
        server.script(
            # a
            Script(template="Freight trains from Yiwu reach Madrid in about 21 days [{n:Madrid}]."),
            # b: the history turn, the rewrite of the follow-up, then its answer
            Script(template="The Walrus Point fulfilment hub employs 312 packers [{n:312}]."),
            Script(["How often are the packers of the Walrus Point fulfilment hub trained?"]),
            Script(
                template="Its managers train the packers every week [{n:every week}]. "
                "Each packer earns a gold medal [{n:every week}]."
            ),
            # c
            Script(["NOT_FOUND"]),
        )
        env = {**os.environ, "RAG_LLM_BACKEND": "openai", "RAG_LLM_MODEL": "m", "RAG_LLM_URL": server.url}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 5
        assert "How often are they trained?" in server.requests[2]["messages"][-1]["content"]
        assert "packers of the Walrus Point" in server.requests[3]["messages"][-1]["content"]
    # three sentences answer the three questions (the history turn is not scored); one is unsupported
    assert "sentences_supported: 0.6667" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["answer_mode"] == "llm" and report["settings"]["llm"].startswith("openai model 'm' at")
    overall, extractive = report["overall"], report["overall"]["extractive"]
    assert overall["sentences"] == 3 and overall["sentences_supported"] == 2 / 3
    assert overall["llm_fallbacks"] == 0.0 and overall["refusal_f1"] == 1.0
    assert overall["citation_correct"] == 1.0 and overall["answer_contains_gold"] == 1.0
    assert extractive["answered_answerable"] == 1.0 and extractive["sentences_supported"] is None
    results = {json.loads(line)["id"]: json.loads(line) for line in (out / "results.jsonl").open()}
    assert [s["supported"] for s in results["b"]["sentences"]] == [True, False]
    assert results["b"]["reference"]["mode"] == "extractive" and results["c"]["refused"]
    md = (out / "report.md").read_text()
    assert "answer mode: llm (openai model 'm' at http://127.0.0.1:" in md
    assert "## llm mode next to extractive (the same questions)" in md
    assert "| sentences supported by their citations (llm) | 0.6667 | – |" in md

    # The LLM down: every question gets the extractive answer, and the report says so.
    env["RAG_LLM_URL"] = "http://127.0.0.1:9/v1"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "llm_fallbacks: 1.0000" in done.stdout
    assert (
        "the LLM failed on 3 of 3 questions, e.g.: the LLM (openai model 'm' at http://127.0.0.1:9/v1)"
        in done.stdout
    )
    # and without an LLM named, llm mode fails in one line
    del env["RAG_LLM_BACKEND"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2 and "answer mode 'llm' needs an LLM" in done.stderr
