"""Calibrate `support_threshold` (llm mode's citation check) on dev data only.

    python -m scripts.calibrate_support [--limit 150] [--out reports/support_dev.json]

Data: the RGB English dev split. For each question a claim is written from the question and its
gold answer ("<question> <answer>."), and checked against the question's own passages: its
positive passages (they contain the answer: the claim is supported) and its negative ones (same
topic, no answer: it is not). The support score is exactly the one `rag.verify.Verifier` computes
(cosine to the passage's closest sentence, and term overlap). The threshold with the best balanced
accuracy (mean of the rates of supported and unsupported pairs judged right) is reported.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from evals.adapters import load_task
from rag import Assistant, Settings
from rag.verify import Verifier
from scripts.common import require_datasets, script_parser, write_report


def main() -> None:
    parser = script_parser(__doc__, "support_dev.json")
    parser.add_argument("--limit", type=int, default=150, help="RGB dev questions (seeded sample)")
    args = parser.parse_args()
    cache = Path(args.cache_dir)
    task = load_task("rgb", "dev", require_datasets(), cache / "data")
    items = [i for i in task.items if i.group == "noise" and i.answers and i.within]
    items = random.Random(0).sample(items, min(args.limit, len(items)))
    bot = Assistant.cached(task.corpus, cache, Settings(), progress=True)
    verifier = Verifier(bot.embedder, bot.document_text, threshold=0.0)
    scores: dict[str, list[float]] = {"supported": [], "unsupported": []}
    for item in items:
        answer = item.answers[0]
        answer_text = answer if isinstance(answer, str) else answer[0]
        claim = f"{item.question.rstrip('?')} {answer_text}."
        vector = bot.embedder.embed_query(claim)
        positives = [d for d in item.within or () if d in item.relevant][:2]
        negatives = [d for d in item.within or () if d not in item.relevant][:2]
        for label, docs in (("supported", positives), ("unsupported", negatives)):
            for doc in docs:
                passage = bot.retrieve(claim, k=1, within=[doc])[0]
                support, _ = verifier.evidence(passage).support(claim, vector, verifier.weight)
                scores[label].append(support)
    pos, neg = np.array(scores["supported"]), np.array(scores["unsupported"])
    sweep: list[dict[str, Any]] = []
    for t in np.arange(0.20, 0.91, 0.01):
        tpr, tnr = float(np.mean(pos >= t)), float(np.mean(neg < t))
        sweep.append(
            {
                "threshold": round(float(t), 2),
                "supported_kept": tpr,
                "unsupported_flagged": tnr,
                "balanced_accuracy": (tpr + tnr) / 2,
            }
        )
    best = max(sweep, key=lambda r: (round(r["balanced_accuracy"], 6), -r["threshold"]))
    report = {
        "command": "python -m scripts.calibrate_support"
        + (f" --limit {args.limit}" if args.limit != 150 else ""),
        "questions": len(items),
        "pairs": {"supported": len(pos), "unsupported": len(neg)},
        "best": best,
        "current_default": next(
            r for r in sweep if abs(r["threshold"] - Settings().support_threshold) < 1e-9
        ),
        "quantiles": {
            name: np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95]).round(3).tolist()
            for name, v in (("supported", pos), ("unsupported", neg))
        },
        "sweep": sweep,
    }
    write_report(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k != "sweep"}, indent=2))


if __name__ == "__main__":
    main()
