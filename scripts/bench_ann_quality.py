"""Answers with approximate vector search against exact: do they stay as good?

    python -m scripts.bench_ann_quality [--sets scifact,bundled] [--out reports/bench_ann_quality.json]

Each set's test split is answered twice by `rag eval`, from two copies of its eval index, both
compacted (`rag compact`: every part written anew, so BM25's statistics are the same in both):
one with exact vector search (what an index under 50k chunks has), one whose vectors are in an IVF
index made by the rule an index gets past 50k chunks (`index.ann.fit`: about 4 x sqrt(n) lists,
2 x sqrt(lists) of them read per question). Reported per set: both runs' ranking (nDCG@10,
recall@10) and answer figures, and their differences. The issue's bar: within 0.005.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from evals import cli
from evals.adapters import load_task
from index import ann
from index.store import IndexStore
from rag import Assistant
from scripts.common import require_datasets, script_parser, write_report

ANSWER_FIGURES = ("answered_answerable", "answer_contains_gold", "citation_correct", "refusal_f1")


def compacted_copy(source: Path, dest: Path, ivf: bool) -> dict[str, Any]:
    """A compacted copy of the index at `source` in `dest`, its vectors in an IVF index if `ivf`
    (else exact); the vector index's shape."""
    shutil.copytree(source, dest)
    store = IndexStore.open(dest)
    exact_up_to, ann.EXACT_UP_TO = ann.EXACT_UP_TO, (0 if ivf else ann.EXACT_UP_TO)
    try:
        store.save(compact=True)
    finally:
        ann.EXACT_UP_TO = exact_up_to
    base = IndexStore.open(dest)._vectors._base
    if ann.is_approximate(base) != ivf:
        raise RuntimeError(f"the copy at {dest} did not get the vector index asked for")
    shape = {"chunks": int(base.ntotal)}
    return shape | ({"nlist": int(base.nlist), "nprobe": int(base.nprobe)} if ivf else {})


def figures(report: dict[str, Any]) -> dict[str, Any]:
    overall = report["overall"]
    ranking = overall["retrieval"].get("ours (hybrid)", {})
    out = {k: ranking[k] for k in ("ndcg@10", "recall@10") if k in ranking}
    return out | {k: overall[k] for k in ANSWER_FIGURES if overall.get(k) is not None}


def main() -> None:
    parser = script_parser(__doc__, "bench_ann_quality.json")
    parser.add_argument("--sets", default="scifact,bundled", help="built-in eval sets, comma-separated")
    args = parser.parse_args()
    data, cache = require_datasets(), Path(args.cache_dir)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rag-ann-quality-") as tmp:
        for name in args.sets.split(","):
            task = load_task(name, "test", data, cache / "data")  # where `rag eval` puts it
            built = Path(Assistant.cached(task.corpus, cache, progress=True).info().path)
            runs, shapes = {}, {}
            for kind in ("exact", "ivf"):
                index_dir = Path(tmp) / f"{name}-{kind}-index"
                shapes[kind] = compacted_copy(built, index_dir, kind == "ivf")
                out = Path(tmp) / f"{name}-{kind}"
                argv = [name, "--split", "test", "--index-dir", str(index_dir), "--out", str(out), "--quiet"]
                if cli.main([*argv, "--cache-dir", str(cache)]) != 0:
                    raise RuntimeError(f"rag eval {' '.join(argv)} failed")
                runs[kind] = figures(json.loads((out / "report.json").read_text()))
            results[name] = {
                "vector_index": shapes,
                **runs,
                "ivf_minus_exact": {
                    k: round(runs["ivf"][k] - runs["exact"][k], 4) for k in runs["exact"] if k in runs["ivf"]
                },
            }
    write_report(args.out, {"sets": results})
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
