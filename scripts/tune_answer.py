"""Choose how extractive answers pick their sentences, on dev data only.

    python -m scripts.tune_answer [--limit 1000] [--out reports/answer_dev.json]

Questions: a seeded sample of SQuAD 2.0 dev-split HasAns questions (asked of the 1,204 SQuAD
paragraphs) and the answerable questions of `evals/sets/bundled_dev.jsonl` (bundled corpus).
Refusals are off, so every question gets an answer.

1. The sentence weights are scored by how often the single best sentence contains a gold answer
   (answers cut to one sentence), averaged over the two sets.
2. With the chosen weights, `extra_sentence_margin` (how close a second or third sentence must
   score to be quoted too) is scored by how often the whole answer contains a gold answer, among
   margins that quote at most 1.5 sentences on average, so answers stay short.

In both steps the current default is kept unless another setting beats it by more than one
standard error of the mean (the bundled dev set is small, and SQuAD's questions share more words
with their paragraphs than users' paraphrases do, so small gains there are not worth a change).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from evals.adapters import bundled_set_path, load_task
from evals.evalset import EvalItem, read_evalset
from evals.metrics import contains_answer
from evals.run import answer_text
from rag import Assistant, Settings
from scripts.common import require_datasets, script_parser, write_report

WEIGHTS = [
    {"weight_lexical": lexical, "weight_answer_type": answer_type}
    for lexical in (0.5, 1.0, 1.5, 2.0)
    for answer_type in (0.0, 0.12)
]
MARGINS = (0.03, 0.06, 0.1)
MAX_MEAN_SENTENCES = 1.5


def _contains_gold(bot: Assistant, items: list[EvalItem]) -> tuple[float, float]:
    hits = sentences = 0
    for q in items:
        a = bot.ask(q.question)
        hits += contains_answer(answer_text(a), q.answers)
        sentences += len(a.citations)
    return hits / len(items), sentences / len(items)


def _standard_error(row: dict[str, Any], n: dict[str, int]) -> float:
    """Standard error of the mean of the two sets' rates."""
    var = sum(row[k] * (1 - row[k]) / n[k] for k in n)
    return 0.5 * math.sqrt(var)


def _choose(rows: list[dict[str, Any]], default: dict[str, Any], n: dict[str, int]) -> dict[str, Any]:
    """The best row, unless the default's row is within one standard error of it."""
    best = max(rows, key=lambda r: round(r["mean"], 6))
    incumbent = next((r for r in rows if all(r[k] == v for k, v in default.items())), None)
    if incumbent is not None and best["mean"] - incumbent["mean"] <= _standard_error(best, n):
        return incumbent
    return best


def main() -> None:
    parser = script_parser(__doc__, "answer_dev.json")
    parser.add_argument("--limit", type=int, default=1000, help="SQuAD dev HasAns questions (seeded sample)")
    args = parser.parse_args()
    cache = Path(args.cache_dir)
    off = Settings(reader=None, refusal_threshold=-1.0)
    task = load_task("squad", "dev", require_datasets(), cache / "data")
    items = [q for q in task.items if q.answerable]
    random.Random(0).shuffle(items)
    squad = items[: args.limit]
    dev = [q for q in read_evalset(bundled_set_path("dev")) if q.answerable]
    squad_bot = Assistant.cached(task.corpus, cache, off, progress=True)
    bundled_bot = Assistant.bundled(settings=off)

    def measure(**changes: Any) -> dict[str, Any]:
        s_hit, s_sent = _contains_gold(squad_bot.with_settings(**changes), squad)
        b_hit, b_sent = _contains_gold(bundled_bot.with_settings(**changes), dev)
        row = {**changes, "squad_dev": s_hit, "bundled_dev": b_hit, "mean": (s_hit + b_hit) / 2}
        print(json.dumps({**row, "squad_sentences": s_sent}), flush=True)
        return {**row, "squad_mean_sentences": s_sent, "bundled_mean_sentences": b_sent}

    n = {"squad_dev": len(squad), "bundled_dev": len(dev)}
    defaults = Settings(reader=None)  # the hand-set rules are what this tunes
    top1 = [measure(max_sentences=1, **w) for w in WEIGHTS]
    best = _choose(top1, {k: getattr(defaults, k) for k in WEIGHTS[0]}, n)
    weights = {k: best[k] for k in WEIGHTS[0]}
    margins = [measure(extra_sentence_margin=m, **weights) for m in MARGINS]
    short = [r for r in margins if r["squad_mean_sentences"] <= MAX_MEAN_SENTENCES] or margins[:1]
    margin = _choose(short, {"extra_sentence_margin": defaults.extra_sentence_margin}, n)
    report = {
        "command": "python -m scripts.tune_answer" + (f" --limit {args.limit}" if args.limit != 1000 else ""),
        "questions": {"squad_dev_hasans": len(squad), "bundled_dev_answerable": len(dev)},
        "chosen": {**weights, "extra_sentence_margin": margin["extra_sentence_margin"]},
        "top1_sweep": top1,
        "margin_sweep": margins,
    }
    write_report(args.out, report)
    print(json.dumps(report["chosen"]))


if __name__ == "__main__":
    main()
