"""Answers with approximate vector search against exact: do they stay as good?

    python -m scripts.bench_ann_quality [--sets scifact,bundled] [--out reports/bench_ann_quality.json]

Each set's test split is answered twice by `rag eval`: from its eval index as built (under 50k
chunks, so exact search) and from a copy of it whose vectors were moved into an IVF index by the
rule an index gets past 50k chunks (`index.ann.fit`: about 4 x sqrt(n) lists, 2 x sqrt(lists)
of them read per question). Reported per set: both runs' ranking (nDCG@10, recall@10) and answer
figures, and their differences. The issue's bar: within 0.005.
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


def forced_ivf(source: Path, dest: Path) -> dict[str, Any]:
    """A copy of the index at `source` in `dest` whose vectors are in an IVF index; its shape."""
    shutil.copytree(source, dest)
    store = IndexStore.open(dest)
    exact_up_to, ann.EXACT_UP_TO = ann.EXACT_UP_TO, 0
    try:
        store.save(compact=True)
    finally:
        ann.EXACT_UP_TO = exact_up_to
    base = IndexStore.open(dest)._vectors._base
    if not ann.is_approximate(base):
        raise RuntimeError(f"the copy at {dest} did not get an IVF index")
    return {"chunks": int(base.ntotal), "nlist": int(base.nlist), "nprobe": int(base.nprobe)}


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
            exact_dir = Path(Assistant.cached(task.corpus, cache, progress=True).info().path)
            ivf = forced_ivf(exact_dir, Path(tmp) / name)
            runs = {}
            for kind, index_dir in (("exact", exact_dir), ("ivf", Path(tmp) / name)):
                out = Path(tmp) / f"{name}-{kind}"
                argv = [name, "--split", "test", "--index-dir", str(index_dir), "--out", str(out), "--quiet"]
                if cli.main([*argv, "--cache-dir", str(cache)]) != 0:
                    raise RuntimeError(f"rag eval {' '.join(argv)} failed")
                runs[kind] = figures(json.loads((out / "report.json").read_text()))
            results[name] = {
                "ivf": ivf,
                **runs,
                "ivf_minus_exact": {
                    k: round(runs["ivf"][k] - runs["exact"][k], 4) for k in runs["exact"] if k in runs["ivf"]
                },
            }
    write_report(args.out, {"sets": results})
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
