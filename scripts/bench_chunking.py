"""Choose the chunk size by measurement on dev splits only.

    python -m scripts.bench_chunking [--sizes 96 160 256] [--out reports/chunking_dev.json]

For each chunk size (overlap 15%) it indexes the SQuAD 2.0 paragraphs and a SciFact sub-corpus
(every document judged for a dev query plus --distractors random others: embedding all 5,183
abstracts takes about 11 minutes per setting on 2 cores) and reports SciFact dev nDCG@10 and
SQuAD 2.0 dev passage recall@5 on answerable questions, both with dense retrieval alone (a
document ranks by its best chunk).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from evals import metrics
from evals.adapters import load_task
from evals.datasets import read_jsonl
from evals.evalset import EvalItem
from evals.rankers import AssistantRanker
from rag import Assistant, IndexSettings, Settings
from scripts.common import require_datasets, script_parser, write_report


def _mean(bot: Assistant, items: Sequence[EvalItem], metric: str) -> float:
    ranker = AssistantRanker(bot, retriever="dense")
    ranked = {item.id: ranker.rank(item.question, 100) for item in items}
    per_query = metrics.ir_metrics(ranked, {item.id: dict(item.relevant) for item in items})
    return round(metrics.mean_metrics(per_query)[metric], 4)


def main() -> None:
    parser = script_parser(__doc__, "chunking_dev.json")
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 160, 256])
    parser.add_argument("--squad-limit", type=int, default=500)
    parser.add_argument("--distractors", type=int, default=300)
    args = parser.parse_args()
    data = require_datasets()
    work = Path(args.cache_dir) / "data"
    scifact = load_task("scifact", "dev", data, work)
    squad = load_task("squad", "dev", data, work)
    squad_items = [q for q in squad.items if q.answerable][: args.squad_limit]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        judged = {d for q in scifact.items for d in q.relevant}
        docs = list(read_jsonl(data / "beir_scifact" / "corpus.jsonl"))
        others = [d for d in docs if str(d["_id"]) not in judged]
        keep = judged | {str(d["_id"]) for d in random.Random(0).sample(others, args.distractors)}
        sf_corpus = Path(tmp) / "scifact_dev_subset.jsonl"
        with sf_corpus.open("w") as f:
            for d in docs:
                if str(d["_id"]) in keep:
                    f.write(json.dumps(d) + "\n")
        for size in args.sizes:
            index = IndexSettings(chunk_size=size, chunk_overlap=max(size * 15 // 100, 0))
            t0 = time.perf_counter()
            sf = Assistant.build([sf_corpus], Path(tmp) / f"sf{size}", Settings(index=index), progress=True)
            sq = Assistant.build(list(squad.corpus), Path(tmp) / f"sq{size}", Settings(index=index))
            row = {
                "chunk_size": size,
                "chunk_overlap": index.chunk_overlap,
                "scifact_chunks": sf.info().chunks,
                "squad_chunks": sq.info().chunks,
                "scifact_dev_ndcg@10": _mean(sf, scifact.items, "ndcg@10"),
                "squad_dev_recall@5": _mean(sq, squad_items, "recall@5"),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
    report = {
        "scifact_docs": len(keep),
        "scifact_dev_queries": len(scifact.items),
        "squad_dev_questions": len(squad_items),
        "results": results,
    }
    write_report(args.out, report)


if __name__ == "__main__":
    main()
