"""Calibrate the refusal rule on dev data only.

    python -m scripts.calibrate [--limit 400] [--out reports/calibration_dev.json]

The rule: refuse when `confidence = best sentence score - penalty * (share of the question's years
and proper names that no retrieved document mentions)` is below `threshold`. Both are chosen here from:

- SQuAD 2.0 dev split: answerable questions (HasAns) and the adversarial unanswerable ones (NoAns),
  asked of the 1,204 SQuAD paragraphs;
- outside the corpus: the same HasAns questions asked of the bundled e-commerce corpus;
- `evals/sets/bundled_dev.jsonl`: questions written for calibration about the bundled corpus,
  answerable and not (the bundled eval set, `bundled.jsonl`, is never used here);
- BEIR SciFact dev split: 90 scientific claims with judged abstracts, asked of the 5,183 abstracts
  (answerable: an answer quotes the abstracts that support or refute the claim);
- MultiHop-RAG dev split: 153 news questions (answerable ones span two to four articles; "null"
  ones have no answer) asked of the 438 evidence sentences, with outlet, date and author as metadata.

Each question is answered once with refusals off, recording its raw score and the share of its key
terms left unmatched; the sweep then picks the setting with the best mean of four refusal F1s (SQuAD
HasAns vs outside the corpus, SQuAD HasAns vs NoAns, the bundled dev set, and MultiHop dev), among
those that refuse at most 3% of SQuAD HasAns questions, 5% of the bundled dev set's answerable ones
and 5% of the SciFact dev claims. MultiHop dev has no cap of its own: its answerable questions ask
about two to four articles at once, and no single quoted sentence scores high on them; capping
their refusals at 10% would cost the bundled dev set most of its refusal F1 (0.32 instead of 0.67).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from evals.adapters import bundled_set_path, load_task
from evals.evalset import EvalItem, read_evalset
from evals.metrics import contains_answer, refusal_prf
from evals.run import answer_text
from rag import Assistant, Settings
from rag.answer import key_terms
from scripts.common import require_datasets, script_parser, write_report

MAX_ANSWERABLE_REFUSED = {"squad_has": 0.03, "bundled_dev_answerable": 0.05, "scifact_dev": 0.05}


def _record(bot: Assistant, item: EvalItem, group: str) -> dict[str, Any]:
    a = bot.ask(item.question)
    return {
        "group": group,
        "id": item.id,
        "score": a.confidence,  # raw: the rule is off while recording
        "unmatched": len(a.unmatched_terms) / max(len(key_terms(item.question)), 1),
        "hit": bool(item.answers) and contains_answer(answer_text(a), item.answers),
    }


def _f1(answerable: np.ndarray, unanswerable: np.ndarray) -> tuple[float, float, float]:
    """Refusal precision, recall and F1 over two groups' refusals, the unanswerable as positives."""
    prf = refusal_prf([*answerable, *unanswerable], [True] * len(answerable) + [False] * len(unanswerable))
    return prf["refusal_precision"] or 0.0, prf["refusal_recall"] or 0.0, prf["refusal_f1"] or 0.0


def evaluate(rows: list[dict[str, Any]], penalty: float, threshold: float) -> dict[str, float]:
    """Refusal rates and F1s of one setting over the recorded rows."""

    def refused(group: str) -> np.ndarray:
        return np.array(
            [r["score"] - penalty * r["unmatched"] < threshold for r in rows if r["group"] == group], bool
        )

    has, noans, outside = refused("squad_has"), refused("squad_noans"), refused("outside")
    dev_yes, dev_no = refused("bundled_dev_answerable"), refused("bundled_dev_unanswerable")
    outside_f1, squad_f1, dev_f1 = _f1(has, outside), _f1(has, noans), _f1(dev_yes, dev_no)
    hop_yes, hop_no = refused("multihop_dev_answerable"), refused("multihop_dev_null")
    hop_f1 = _f1(hop_yes, hop_no)
    scifact = refused("scifact_dev")
    hits = [r["hit"] for r in rows if r["group"] == "squad_has"]
    return {
        "penalty": penalty,
        "threshold": threshold,
        "objective": (outside_f1[2] + squad_f1[2] + dev_f1[2] + hop_f1[2]) / 4,
        "squad_noans_refusal_precision": squad_f1[0],
        "squad_noans_refusal_recall": squad_f1[1],
        "squad_noans_refusal_f1": squad_f1[2],
        "squad_has_refused": float(has.mean()),
        "squad_has_answer_contains_gold": float(
            np.mean([h and not x for h, x in zip(hits, has, strict=True)])
        ),
        "outside_refused": float(outside.mean()),
        "outside_refusal_f1": outside_f1[2],
        "bundled_dev_refusal_f1": dev_f1[2],
        "bundled_dev_answerable_refused": float(dev_yes.mean()),
        "bundled_dev_unanswerable_refused": float(dev_no.mean()),
        "scifact_dev_refused": float(scifact.mean()),
        "multihop_dev_refusal_f1": hop_f1[2],
        "multihop_dev_answerable_refused": float(hop_yes.mean()),
        "multihop_dev_null_refused": float(hop_no.mean()),
    }


def _allowed(e: dict[str, float]) -> bool:
    return all(e[f"{group}_refused"] <= cap for group, cap in MAX_ANSWERABLE_REFUSED.items())


def main() -> None:
    parser = script_parser(__doc__, "calibration_dev.json")
    parser.add_argument(
        "--limit", type=int, default=400, help="SQuAD dev questions per group (seeded sample)"
    )
    args = parser.parse_args()
    cache = Path(args.cache_dir)
    off = Settings(
        reader=None, refusal_threshold=-1.0, unmatched_penalty=0.0
    )  # every score; decide afterwards
    task = load_task("squad", "dev", require_datasets(), cache / "data")
    items = list(task.items)
    random.Random(0).shuffle(items)
    has = [i for i in items if i.answerable][: args.limit]
    noans = [i for i in items if not i.answerable][: args.limit]
    squad_bot = Assistant.cached(task.corpus, cache, off, progress=True)
    bundled_bot = Assistant.bundled(settings=off)
    rows = [_record(squad_bot, q, "squad_has") for q in has]
    rows += [_record(squad_bot, q, "squad_noans") for q in noans]
    rows += [_record(bundled_bot, q, "outside") for q in has]
    scifact = load_task("scifact", "dev", require_datasets(), cache / "data")
    scifact_bot = Assistant.cached(scifact.corpus, cache, off, progress=True)
    rows += [_record(scifact_bot, q, "scifact_dev") for q in scifact.items]
    multihop = load_task("multihop", "dev", require_datasets(), cache / "data")
    multihop_bot = Assistant.cached(multihop.corpus, cache, off, progress=True)
    for q in multihop.items:
        rows.append(_record(multihop_bot, q, f"multihop_dev_{'answerable' if q.answerable else 'null'}"))
    dev_set = bundled_set_path("dev")
    for q in read_evalset(dev_set):
        rows.append(
            _record(bundled_bot, q, f"bundled_dev_{'answerable' if q.answerable else 'unanswerable'}")
        )

    sweep = [
        evaluate(rows, round(float(p), 2), round(float(t), 2))
        for p in np.arange(0.0, 1.01, 0.05)
        for t in np.arange(0.20, 0.61, 0.01)
    ]
    allowed = [e for e in sweep if _allowed(e)]
    best = max(allowed, key=lambda e: (round(e["objective"], 6), -e["penalty"], -e["threshold"]))
    without = max(
        (e for e in allowed if e["penalty"] == 0.0), key=lambda e: (round(e["objective"], 6), -e["threshold"])
    )
    current = Settings(reader=None)  # the hand-set rules are what this calibrates
    report: dict[str, Any] = {
        "command": "python -m scripts.calibrate" + (f" --limit {args.limit}" if args.limit != 400 else ""),
        "groups": {g: sum(r["group"] == g for r in rows) for g in dict.fromkeys(r["group"] for r in rows)},
        "constraints": {"max_refused": MAX_ANSWERABLE_REFUSED},
        "best": best,
        "best_without_unmatched_penalty": without,
        "current_default": evaluate(rows, current.unmatched_penalty, current.refusal_threshold),
        "sweep": sweep,
    }
    write_report(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k != "sweep"}, indent=2))


if __name__ == "__main__":
    main()
