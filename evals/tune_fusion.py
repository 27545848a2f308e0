"""Choose the hybrid retriever's fusion on dev splits only: SciFact dev nDCG@10, SQuAD 2.0 dev recall@5.

    python -m evals.tune_fusion      # needs the cached eval indexes (run `rag eval scifact` / `squad` once)

Dense and BM25 rankings (top 100 chunks) are computed once per question; every fusion setting
re-ranks them. Writes evals/reports/fusion_dev.json and prints the table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm import tqdm

from evals import metrics
from evals.adapters import load_task
from evals.datasets import require_datasets
from evals.run import open_corpus
from rag.assistant import default_cache_dir
from rag.retrieve import fuse
from rag.settings import Settings

DEPTH = 100
WEIGHTS = [0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, float("inf")]
RRF_K = [2, 5, 10, 20, 60, 100]


def _doc_ranking(store, chunk_ids: list[int], k: int = 100) -> list[str]:  # type: ignore[no-untyped-def]
    return list(dict.fromkeys(store.chunks[i].doc_id for i in chunk_ids))[:k]


def main() -> None:
    data = require_datasets()
    cache = default_cache_dir() / "eval"
    results: dict[str, dict[str, float]] = {}
    for name, metric in (("scifact", "ndcg@10"), ("squad", "recall@5")):
        task = load_task(name, "dev", data, cache / "data")
        items = [i for i in task.items if i.relevant]
        bot = open_corpus(task.corpus, cache, Settings(), progress=True)
        store = bot.store
        runs = []
        for item in tqdm(items, desc=f"{name} dev rankings", unit="q"):
            qvec = bot.embedder.embed_query(item.question)
            dense = [c.faiss_id for c, _ in store.search(qvec, DEPTH)]
            lexical = [i for i, _ in store.bm25.search(item.question, DEPTH)]
            runs.append((item, dense, lexical))
        for w in WEIGHTS:
            for k in RRF_K:
                if w == float("inf"):
                    ranked = {it.id: _doc_ranking(store, lex) for it, _, lex in runs}
                else:
                    ranked = {it.id: _doc_ranking(store, fuse([d, lex], [1.0, w], k)) for it, d, lex in runs}
                per_query = metrics.ir_metrics(ranked, {it.id: dict(it.relevant) for it, _, _ in runs})
                key = "bm25 only" if w == float("inf") else f"w_bm25={w} rrf_k={k}"
                results.setdefault(key, {})[f"{name} {metric}"] = metrics.mean_metrics(per_query)[metric]
                if w == float("inf"):
                    break
    for scores in results.values():
        scores["mean"] = sum(scores.values()) / len(scores)
    best = max(results, key=lambda key: results[key]["mean"])
    out = Path(__file__).parent / "reports" / "fusion_dev.json"
    report = {
        "command": "python -m evals.tune_fusion",
        "when": time.strftime("%Y-%m-%d"),
        "splits": "SciFact dev (90 queries, full 5,183-abstract corpus), SQuAD 2.0 dev HasAns (1,747 questions)",
        "best": best,
        "results": results,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    for key, scores in sorted(results.items(), key=lambda kv: -kv[1]["mean"]):
        print(f"{key:28s} " + "  ".join(f"{m} {v:.4f}" for m, v in scores.items()))
    print(f"best: {best} -> {out}")


if __name__ == "__main__":
    main()
