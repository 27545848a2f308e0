"""Choose the hybrid retriever's fusion on dev splits only: SciFact dev nDCG@10, SQuAD 2.0 dev recall@5.

    python -m scripts.tune_fusion [--out reports/fusion_dev.json]

Dense and BM25 rankings (top 100 chunks) are computed once per question; every fusion setting
re-ranks them with `rag.retrieve.fuse`. The indexes come from the eval cache (built on first use).
"""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from evals import metrics
from evals.adapters import load_task
from evals.rankers import unique_documents
from index.store import IndexStore
from rag import Assistant, Settings
from rag.retrieve import fuse
from scripts.common import require_datasets, script_parser, write_report

DEPTH = 100
WEIGHTS = [0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, float("inf")]
RRF_K = [2, 5, 10, 20, 60, 100]


def main() -> None:
    args = script_parser(__doc__, "fusion_dev.json").parse_args()
    data = require_datasets()
    results: dict[str, dict[str, float]] = {}
    for name, metric in (("scifact", "ndcg@10"), ("squad", "recall@5")):
        task = load_task(name, "dev", data, Path(args.cache_dir) / "data")
        items = [i for i in task.items if i.relevant]
        bot = Assistant.cached(task.corpus, args.cache_dir, Settings(), progress=True)
        store = IndexStore.open(bot.info().path)  # the raw chunk rankings, before any fusion

        def documents(chunk_ids: list[int], store: IndexStore = store) -> list[str]:
            return unique_documents((store.chunks[i].doc_id for i in chunk_ids), DEPTH)

        runs = []
        for item in tqdm(items, desc=f"{name} dev rankings", unit="q"):
            qvec = bot.embedder.embed_query(item.question)
            dense = [c.faiss_id for c, _ in store.search(qvec, DEPTH)]
            lexical = [i for i, _ in store.bm25.search(item.question, DEPTH)]
            runs.append((item, dense, lexical))
        qrels = {it.id: dict(it.relevant) for it, _, _ in runs}
        for w in WEIGHTS:
            for k in RRF_K:
                if w == float("inf"):
                    ranked = {it.id: documents(lex) for it, _, lex in runs}
                else:
                    ranked = {it.id: documents(fuse([d, lex], [1.0, w], k)) for it, d, lex in runs}
                per_query = metrics.ir_metrics(ranked, qrels)
                key = "bm25 only" if w == float("inf") else f"w_bm25={w} rrf_k={k}"
                results.setdefault(key, {})[f"{name} {metric}"] = metrics.mean_metrics(per_query)[metric]
                if w == float("inf"):
                    break
    for scores in results.values():
        scores["mean"] = sum(scores.values()) / len(scores)
    best = max(results, key=lambda key: results[key]["mean"])
    report = {
        "command": "python -m scripts.tune_fusion",
        "when": time.strftime("%Y-%m-%d"),
        "splits": "SciFact dev (90 queries, full 5,183-abstract corpus), SQuAD 2.0 dev HasAns (1,747 questions)",
        "best": best,
        "results": results,
    }
    write_report(args.out, report)
    for key, scores in sorted(results.items(), key=lambda kv: -kv[1]["mean"]):
        print(f"{key:28s} " + "  ".join(f"{m} {v:.4f}" for m, v in scores.items()))
    print(f"best: {best} -> {args.out}")


if __name__ == "__main__":
    main()
