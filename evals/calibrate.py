"""Calibrate the refusal threshold on dev data only.

    python -m evals.calibrate [--limit 300] [--out evals/reports/calibration_dev.json]

Answerable: SQuAD 2.0 dev questions that have an answer, asked of the 1,204 SQuAD paragraphs.
Outside the corpus: the same questions asked of the bundled e-commerce corpus, where the answer
cannot be. The threshold maximising refusal F1 over these two groups is reported, together with
how often SQuAD's adversarial unanswerable dev questions (written to look answerable from the same
paragraph) are refused at that threshold.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from evals.datasets import read_ids, read_jsonl, require_datasets, write_squad_corpus
from rag.assistant import Assistant
from rag.settings import Settings


def _f1(refused: np.ndarray, should_refuse: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(refused & should_refuse))
    p = tp / max(float(np.sum(refused)), 1.0)
    r = tp / max(float(np.sum(should_refuse)), 1.0)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--out", default="evals/reports/calibration_dev.json")
    args = parser.parse_args()
    data = require_datasets()
    squad = data / "squad_v2_dev"
    dev = set(read_ids(squad / "dev_ids.txt"))
    questions = [q for q in read_jsonl(squad / "questions.jsonl") if q["id"] in dev]
    has = [q for q in questions if not q["is_impossible"]][: args.limit]
    noans = [q for q in questions if q["is_impossible"]][: args.limit]
    never = Settings(refusal_threshold=-1.0)  # record every confidence; decide afterwards
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_squad_corpus(data, Path(tmp) / "squad.jsonl")
        squad_bot = Assistant.build([corpus], Path(tmp) / "idx", never, progress=True)
        bundled_bot = Assistant.build(
            [Path(__file__).resolve().parents[1] / "rag" / "corpus"], Path(tmp) / "b", never
        )
        has_conf, has_hit = [], []
        for q in has:
            a = squad_bot.ask(str(q["question"]))
            has_conf.append(a.confidence)
            has_hit.append(any(str(g).lower() in a.text.lower() for g in q["answers"]))  # type: ignore[attr-defined]
        out_conf = [bundled_bot.ask(str(q["question"])).confidence for q in has]
        noans_conf = [squad_bot.ask(str(q["question"])).confidence for q in noans]
    conf = np.array(has_conf + out_conf)
    should = np.array([False] * len(has_conf) + [True] * len(out_conf))
    rows: list[dict[str, float]] = []
    for step in np.arange(0.10, 0.80, 0.01):
        prec, rec, f1 = _f1(conf < step, should)
        rows.append({"threshold": round(float(step), 2), "precision": prec, "recall": rec, "f1": f1})
    best = max(rows, key=lambda row: (row["f1"], -abs(row["threshold"] - 0.4)))
    t = best["threshold"]
    report: dict[str, object] = {
        "squad_dev_answerable": len(has),
        "squad_dev_unanswerable": len(noans),
        "best": best,
        "answerable_refused_at_best": float(np.mean(np.array(has_conf) < t)),
        "answerable_answer_contains_gold_at_best": float(
            np.mean([h and c >= t for h, c in zip(has_hit, has_conf, strict=True)])
        ),
        "outside_corpus_refused_at_best": float(np.mean(np.array(out_conf) < t)),
        "squad_noans_refused_at_best": float(np.mean(np.array(noans_conf) < t)),
        "confidence_quantiles": {
            name: np.quantile(np.array(v), [0.05, 0.25, 0.5, 0.75, 0.95]).round(3).tolist()
            for name, v in [
                ("answerable", has_conf),
                ("outside_corpus", out_conf),
                ("squad_noans", noans_conf),
            ]
        },
        "sweep": rows,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "sweep"}, indent=2))


if __name__ == "__main__":
    main()
