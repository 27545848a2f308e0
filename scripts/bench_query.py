"""What each retriever (and the reader) costs on the query path: `Assistant.ask` (retrieve +
answer), warm, on SciFact.

    python -m scripts.bench_query [--queries 100] [--out reports/bench_query.json]

The SciFact index (5,183 abstracts, 16,835 chunks) is opened from the eval cache (built on first
use, about 10 minutes on 2 cores). The model is warmed up first. Each system then answers the same
seeded sample of test queries, in two alternating rounds, with the process-wide sentence-vector
cache emptied before every round so that no system answers from another's cache. Last, a cold
start: a new Python process opens the same index and answers one question (`--cold` times), and
says which heavy libraries it imported.
"""

from __future__ import annotations

import json
import platform
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.adapters import load_task
from rag import Assistant, Settings
from rag.answer import SENTENCE_VECTORS
from scripts.common import require_datasets, script_parser, write_report

SYSTEMS = ("dense", "hybrid", "bm25", "hybrid + reader", "hybrid + reader of 16")
READER_SENTENCES = {"hybrid + reader": Settings.reader_candidates, "hybrid + reader of 16": 16}


def _timed(bot: Assistant, system: str, questions: list[str]) -> list[float]:
    SENTENCE_VECTORS.clear()
    retriever = system.split(" ")[0]
    if system in READER_SENTENCES:  # the bundled reader, reading this many sentences
        bot = bot.with_settings(reader="bundled", reader_candidates=READER_SENTENCES[system])
    out = []
    for q in questions:
        t0 = time.perf_counter()
        bot.ask(q, retriever=retriever)
        out.append((time.perf_counter() - t0) * 1000)
    return out


_COLD = """
import sys, time
started = time.perf_counter()
from rag import Assistant
bot = Assistant.load(sys.argv[1])
bot.ask(sys.argv[2])
heavy = [m for m in ("torch", "sentence_transformers", "transformers", "onnxruntime") if m in sys.modules]
print(round(time.perf_counter() - started, 3), ",".join(heavy))
"""


def _cold(index: str, question: str, times: int) -> dict[str, Any]:
    """Seconds from a new process's first import of `rag` to its first answer (the interpreter's
    own start-up excluded), and the heavy libraries it loaded."""
    seconds, heavy = [], ""
    for _ in range(times):
        done = subprocess.run(
            [sys.executable, "-c", _COLD, index, question], capture_output=True, text=True, check=True
        )
        parts = done.stdout.strip().split(" ")
        value, heavy = parts[0], parts[1] if len(parts) > 1 else ""
        seconds.append(float(value))
    return {"runs": times, "median_s": round(float(np.median(seconds)), 2), "imported": heavy.split(",")}


def main() -> None:
    parser = script_parser(__doc__, "bench_query.json")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cold", type=int, default=3, help="cold starts timed")
    args = parser.parse_args()
    cache = Path(args.cache_dir)
    task = load_task("scifact", "test", require_datasets(), cache / "data")
    questions = [q.question for q in task.items]
    questions = random.Random(0).sample(questions, min(args.queries, len(questions)))
    rules = Settings(reader=None)  # the hand-set rules; the reader only where a system names it
    bot = Assistant.cached(task.corpus, cache, rules, progress=True)
    for name in SYSTEMS:  # warm: models, BM25 index, code paths
        _timed(bot, name, questions[:5])
    times: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    for r in range(args.rounds):
        for name in SYSTEMS if r % 2 == 0 else tuple(reversed(SYSTEMS)):
            times[name] += _timed(bot, name, questions)
    summary: dict[str, Any] = {
        name: {
            "p50_ms": round(float(np.percentile(t, 50)), 1),
            "p95_ms": round(float(np.percentile(t, 95)), 1),
            "mean_ms": round(float(np.mean(t)), 1),
        }
        for name, t in times.items()
    }
    report = {
        "command": "python -m scripts.bench_query"
        + (f" --queries {args.queries}" if args.queries != 100 else "")
        + (f" --rounds {args.rounds}" if args.rounds != 2 else ""),
        "corpus": "BEIR SciFact, 5,183 abstracts",
        "chunks": bot.info().chunks,
        "queries": len(questions),
        "answers_per_system": len(questions) * args.rounds,
        "systems": summary,
        "hybrid_minus_dense_p50_ms": round(summary["hybrid"]["p50_ms"] - summary["dense"]["p50_ms"], 1),
        "answerer": "hand-set rules, but 'hybrid + reader': the bundled reader, reading "
        f"{Settings.reader_candidates} sentences ('of 16': 16, as before)",
        "cold_start": _cold(bot.info().path, questions[0], args.cold),
        "machine": f"{platform.machine()}, {platform.python_version()}, {platform.processor() or 'cpu'}",
    }
    write_report(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
