"""Compare a trained reader with the hand-set rules on dev data, and choose its refusal threshold.

    python -m scripts.calibrate_reader [--reader DIR] [--limit 300] [--out reports/reader_dev.json]

Dev splits only: the bundled dev set, a seeded sample of SQuAD 2.0 dev HasAns and NoAns questions
(over the 1,204 paragraphs), RGB dev (noise: answerable from the question's passages; rejection:
negative passages only) and MultiHop-RAG dev. Every question is answered once by the rules (their
calibrated refusal rule on) and once by the reader with refusals off; the reader's threshold is
then chosen as the one with the best mean refusal F1 over the sets among those that refuse at most
`--max-refused` of the answerable questions of every set.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from evals import metrics
from evals.adapters import load_task
from evals.evalset import EvalItem
from evals.run import EvalRow, answer_metrics, run_eval
from rag import Assistant, Settings
from rag.assistant import default_cache_dir
from scripts.common import require_datasets, script_parser, write_report


def _sample(items: tuple[EvalItem, ...], limit: int, seed: int = 0) -> list[EvalItem]:
    """Up to `limit` answerable and `limit` unanswerable items, seeded."""
    rng = random.Random(seed)
    out: list[EvalItem] = []
    for answerable in (True, False):
        group = [i for i in items if i.answerable is answerable]
        out += rng.sample(group, min(limit, len(group)))
    return out


def _at(rows: list[EvalRow], threshold: float) -> dict[str, Any]:
    """The reader's answer metrics had it refused below `threshold`."""
    refused = [r.scored.refused or r.scored.confidence < threshold for r in rows]
    answerable = [r.scored.answerable for r in rows]
    gold = [
        r.scored.contains_answer for r, x in zip(rows, refused, strict=True) if r.scored.answerable and not x
    ]
    return {
        **metrics.refusal_prf(refused, answerable),
        "answered_answerable": float(np.mean([not x for x, a in zip(refused, answerable, strict=True) if a]))
        if any(answerable)
        else None,
        "answer_contains_gold": float(np.mean([bool(g) for g in gold]))
        if gold and gold[0] is not None
        else None,
    }


def main() -> None:
    parser = script_parser(__doc__, "reader_dev.json")
    parser.add_argument("--reader", default=str(default_cache_dir() / "reader"), help="the reader's folder")
    parser.add_argument("--limit", type=int, default=300, help="questions per answerable/unanswerable group")
    parser.add_argument("--max-refused", type=float, default=0.10, help="cap on answerable questions refused")
    args = parser.parse_args()
    data = require_datasets()
    cache = Path(args.cache_dir)
    tasks = {
        name: load_task(name, "dev", data if name != "bundled" else None, cache / "data")
        for name in ("bundled", "squad", "rgb", "multihop")
    }
    rules = Settings()
    results: dict[str, Any] = {}
    reader_rows: dict[str, list[EvalRow]] = {}
    for name, task in tasks.items():
        items = list(task.items) if name in ("bundled", "multihop") else _sample(task.items, args.limit)
        bot = Assistant.cached(task.corpus, cache, rules, progress=True)
        by_rules = run_eval(bot, items, progress=True)
        by_reader = run_eval(
            bot.with_settings(reader=args.reader, reader_threshold=0.0), items, progress=True
        )
        reader_rows[name] = by_reader.rows
        results[name] = {
            "questions": len(items),
            "rules": answer_metrics([r.scored for r in by_rules.rows]),
            "reader_no_refusals": answer_metrics([r.scored for r in by_reader.rows]),
        }
        print(name, {k: v for k, v in results[name]["rules"].items() if "latency" not in k}, flush=True)
    sweep: list[dict[str, Any]] = []
    for t in np.arange(0.05, 0.96, 0.05):
        per_set = {name: _at(rows, float(t)) for name, rows in reader_rows.items()}
        f1s = [m["refusal_f1"] for m in per_set.values() if m["refusal_f1"] is not None]
        worst = max((m["refused_answerable"] or 0.0) for m in per_set.values())
        sweep.append(
            {
                "threshold": round(float(t), 2),
                "mean_refusal_f1": float(np.mean(f1s)),
                "max_answerable_refused": worst,
                "sets": per_set,
            }
        )
    allowed = [s for s in sweep if s["max_answerable_refused"] <= args.max_refused] or sweep[:1]
    best = max(allowed, key=lambda s: (round(s["mean_refusal_f1"], 6), -s["threshold"]))
    report = {
        "command": "python -m scripts.calibrate_reader"
        + (f" --limit {args.limit}" if args.limit != 300 else ""),
        "reader": args.reader,
        "reader_settings": {"reader_threshold": best["threshold"]},
        "rules_settings": {
            "refusal_threshold": rules.refusal_threshold,
            "unmatched_penalty": rules.unmatched_penalty,
        },
        "sets": results,
        "chosen": best,
        "sweep": sweep,
    }
    write_report(args.out, report)
    print(f"threshold {best['threshold']}: mean refusal F1 {best['mean_refusal_f1']:.4f}")
    for name, m in best["sets"].items():
        print(f"  {name}: reader {m}  rules refusal F1 {results[name]['rules']['refusal_f1']}")


if __name__ == "__main__":
    main()
