"""Calibrate the reader's confidence, choose its refusal threshold, and compare it with the rules,
on dev data.

    python -m scripts.calibrate_reader [--reader DIR] [--limit 300] [--out reports/reader_dev.json]

Dev splits only: the bundled dev set, a seeded sample of SQuAD 2.0 dev HasAns and NoAns questions
among those the reader never trained on (`held_for_calibration`; over the 1,204 paragraphs), RGB dev (noise: answerable from the question's passages; rejection:
negative passages only), the 90 SciFact dev claims (statements, not questions: every one has a gold
abstract to quote) and MultiHop-RAG dev. Every question is answered once by the rules (their
calibrated refusal rule on) and once by the reader with refusals off. Then:

1. Calibration: a logistic fit of "the answer is right" on the reader's best raw score and the
   share of the question's names and years that no retrieved document mentions, over the
   questions of the sets where one quoted sentence can be right (all but MultiHop); written to the
   reader folder's `reader.json`, so that the confidence users see is the probability that the
   answer is right.
2. The threshold (to put in `Settings`): the one with the best mean refusal F1 over the sets that
   have unanswerable questions, among those that refuse at most `--max-refused` of the answerable
   questions (the claims) of each set but MultiHop.

MultiHop has no say in either: its answerable questions ask about two to four articles at once
("Do the Verge and TechCrunch agree that ...?"), no single sentence holds their answer, and a
gold-answer match ("Yes") says little about the sentence quoted.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from evals import metrics
from evals.adapters import load_task
from evals.evalset import EvalItem
from evals.run import EvalRow, answer_metrics, is_right, run_eval
from rag import Assistant, Settings
from rag.answer import key_terms
from rag.reader import BUNDLED_READER_DIR, Reader
from scripts.common import require_datasets, script_parser, write_report
from scripts.reader_data import held_for_calibration

SINGLE_SENTENCE = ("bundled", "squad", "rgb", "scifact")  # sets one quoted sentence can answer


def sample_items(items: tuple[EvalItem, ...], limit: int, seed: int = 0) -> list[EvalItem]:
    """Up to `limit` answerable and `limit` unanswerable items, seeded."""
    rng = random.Random(seed)
    out: list[EvalItem] = []
    for answerable in (True, False):
        group = [i for i in items if i.answerable is answerable]
        out += rng.sample(group, min(limit, len(group)))
    return out


def _raw_logit(row: EvalRow, reader: Reader) -> float:
    """The reader's raw best score behind the confidence a row shows (undoing the calibration)."""
    c = min(max(row.scored.confidence, 1e-9), 1 - 1e-9)
    z = float(np.log(c / (1 - c))) - reader.shift - reader.unmatched * _share(row)
    return z / reader.scale


def _share(row: EvalRow) -> float:
    """The part of the question's names and years that no retrieved document mentions."""
    keys = key_terms(row.question)
    return len(row.scored.unmatched_terms) / len(keys) if keys else 0.0


def fit(features: np.ndarray, right: np.ndarray) -> tuple[float, float, float]:
    """`scale`, `shift` and `unmatched` such that sigmoid(scale * logit + shift + unmatched * share)
    fits P(right), from rows of (logit, share) (logistic regression)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4).fit(features, right.astype(int))
    return float(model.coef_[0][0]), float(model.intercept_[0]), float(model.coef_[0][1])


def _at(rows: list[EvalRow], threshold: float, confidence: dict[str, float]) -> dict[str, Any]:
    """The reader's answer metrics had it refused below `threshold` (of `confidence`, by row id)."""
    refused = [r.scored.refused or confidence[r.id] < threshold for r in rows]
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
    parser.add_argument(
        "--reader", default=str(BUNDLED_READER_DIR), help="the reader's folder (its reader.json is updated)"
    )
    parser.add_argument("--limit", type=int, default=300, help="questions per answerable/unanswerable group")
    parser.add_argument("--max-refused", type=float, default=0.10, help="cap on answerable questions refused")
    args = parser.parse_args()
    data = require_datasets()
    cache = Path(args.cache_dir)
    tasks = {
        name: load_task(name, "dev", data if name != "bundled" else None, cache / "data")
        for name in ("bundled", "squad", "rgb", "scifact", "multihop")
    }
    rules = Settings(reader=None)
    results: dict[str, Any] = {}
    reader_rows: dict[str, list[EvalRow]] = {}
    for name, task in tasks.items():
        if name == "squad":  # never the questions `scripts/train_reader.py` trains on
            task = replace(task, items=tuple(i for i in task.items if held_for_calibration(i.id)))
        items = (
            list(task.items)
            if name in ("bundled", "scifact", "multihop")
            else sample_items(task.items, args.limit)
        )
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
    reader = Reader.load(args.reader)
    features = {r.id: (_raw_logit(r, reader), _share(r)) for rows in reader_rows.values() for r in rows}
    judged = [
        (features[r.id], is_right(r.scored))
        for name, rows in reader_rows.items()
        if name in SINGLE_SENTENCE
        for r in rows
    ]
    known = [(x, bool(y)) for x, y in judged if y is not None]
    scale, shift, unmatched = fit(np.array([x for x, _ in known]), np.array([y for _, y in known]))
    calibrated = Reader(reader.model, scale, shift, unmatched)
    confidence = {
        i: float(calibrated.calibrated(np.array([x]), share)[0]) for i, (x, share) in features.items()
    }
    config_file = Path(args.reader) / "reader.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["calibration"] = {
        "scale": round(scale, 6),
        "shift": round(shift, 6),
        "unmatched": round(unmatched, 6),
        "questions": len(known),
    }
    config_file.write_text(json.dumps(config) + "\n", encoding="utf-8")
    sweep: list[dict[str, Any]] = []
    for t in np.arange(0.01, 0.96, 0.01):
        per_set = {name: _at(rows, float(t), confidence) for name, rows in reader_rows.items()}
        f1s = [m["refusal_f1"] for m in per_set.values() if m["refusal_f1"] is not None]
        worst = max((m["refused_answerable"] or 0.0) for n, m in per_set.items() if n in SINGLE_SENTENCE)
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
        "calibration": config["calibration"],
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
