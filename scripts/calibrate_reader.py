"""Set how the reader chooses and how sure it says it is, and choose its refusal threshold, beside
the rules, on dev data.

    python -m scripts.calibrate_reader [--reader DIR] [--limit 300] [--priors 8,16,32]
                                       [--out reports/reader_dev.json] [--reuse]

Dev splits only: the bundled dev set, a seeded sample of SQuAD 2.0 dev HasAns and NoAns questions
among those the reader never trained on (`held_for_calibration`; over the 1,204 paragraphs), RGB dev
(noise: answerable from the question's passages; rejection: negative passages only), the 90 SciFact
dev claims (statements, not questions: every one has a gold abstract to quote) and MultiHop-RAG dev.
Every question is answered once by the rules (their calibrated refusal rule on), and by the reader
with refusals off, quoting its best sentence alone. A candidate has two scores: the reader model's
logit and its shortlist score (retrieval, meaning and term overlap: what the answerer knew before
reading it). Then:

1. The choice: for each weight in `--priors`, the reader ranks candidates by logit + weight *
   shortlist score; the weight under which the answer is right most often (the mean over the sets
   one quoted sentence can answer: all but MultiHop) is kept as the reader's `prior`.
2. Calibration: a logistic fit of "the answer is right" on the chosen sentence's logit, its
   shortlist score, and the share of the question's names and years that no retrieved document
   mentions, over the questions of the sets one sentence can answer and the unanswerable questions
   of every set (MultiHop's are about things its corpus never mentions: any answer to them is
   wrong); written to the reader folder's `reader.json`, so that the confidence users see is the
   probability that the answer is right.
3. The threshold (to put in `Settings`): the one with the best mean refusal F1 over the sets that
   have unanswerable questions, among those that refuse at most `--max-refused` of the answerable
   questions (the claims) of each set but MultiHop.

MultiHop's answerable questions have no say: they ask about two to four articles at once ("Do the
Verge and TechCrunch agree that ...?"), no single sentence holds their answer, and a gold-answer
match ("Yes") says little about the sentence quoted.

The answers are kept in `--rows` (in the cache folder); `--reuse` fits and sweeps again from them
without asking anything.
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
SETS = (*SINGLE_SENTENCE, "multihop")
# while choosing and calibrating: refusals off, and the best sentence alone (with the list it
# announces): a further sentence would make a right answer likelier under any choice
ONE_SENTENCE: dict[str, Any] = {"reader_threshold": 0.0, "reader_extra_margin": 0.0}


def sample_items(items: tuple[EvalItem, ...], limit: int, seed: int = 0) -> list[EvalItem]:
    """Up to `limit` answerable and `limit` unanswerable items, seeded."""
    rng = random.Random(seed)
    out: list[EvalItem] = []
    for answerable in (True, False):
        group = [i for i in items if i.answerable is answerable]
        out += rng.sample(group, min(limit, len(group)))
    return out


def _logit(row: EvalRow) -> float:
    """The score behind the confidence a row shows, when the calibration was sigmoid(score)."""
    c = min(max(row.scored.confidence, 1e-9), 1 - 1e-9)
    return float(np.log(c / (1 - c)))


def _share(row: EvalRow) -> float:
    """The part of the question's names and years that no retrieved document mentions."""
    keys = key_terms(row.question)
    return len(row.scored.unmatched_terms) / len(keys) if keys else 0.0


def kept(name: str, row: EvalRow) -> dict[str, Any]:
    """What the fit and the sweep need of one of the reader's answers (refusals off)."""
    a = row.scored
    return {
        "set": name,
        "id": f"{name}:{row.id}",  # SciFact's and MultiHop's ids are both numbers
        "score": _logit(row),
        "share": _share(row),
        "answer": a.answer,
        "answerable": a.answerable,
        "right": is_right(a),
        "contains_answer": a.contains_answer,
    }


def fit(features: np.ndarray, right: np.ndarray) -> tuple[float, float, float, float]:
    """`scale`, `shortlist`, `unmatched` and `shift` such that sigmoid(scale * logit + shortlist *
    shortlist score + unmatched * share + shift) fits P(right), from rows of (logit, shortlist
    score, share) (logistic regression)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4).fit(features, right.astype(int))
    scale, shortlist, unmatched = (float(c) for c in model.coef_[0])
    return scale, shortlist, unmatched, float(model.intercept_[0])


def in_fit(row: dict[str, Any]) -> bool:
    """Whether a kept answer takes part in the calibration fit (see the module's docstring)."""
    return row["right"] is not None and (row["set"] in SINGLE_SENTENCE or not row["answerable"])


def right_share(rows: list[dict[str, Any]]) -> float:
    """The mean, over the sets one sentence can answer, of the share of answerable questions whose
    answer is right (refusals off): how well the reader chooses, whatever it would refuse."""
    shares = []
    for name in SINGLE_SENTENCE:
        judged = [
            bool(r["right"]) for r in rows if r["set"] == name and r["answerable"] and r["right"] is not None
        ]
        if judged:
            shares.append(float(np.mean(judged)))
    return float(np.mean(shares))


def _at(rows: list[dict[str, Any]], threshold: float, confidence: dict[str, float]) -> dict[str, Any]:
    """The reader's answer metrics had it refused below `threshold` (of `confidence`, by row id)."""
    refused = [confidence[r["id"]] < threshold for r in rows]
    answerable = [bool(r["answerable"]) for r in rows]
    gold = [r["contains_answer"] for r, x in zip(rows, refused, strict=True) if r["answerable"] and not x]
    return {
        **metrics.refusal_prf(refused, answerable),
        "answered_answerable": float(np.mean([not x for x, a in zip(refused, answerable, strict=True) if a]))
        if any(answerable)
        else None,
        "answer_contains_gold": float(np.mean([bool(g) for g in gold]))
        if gold and gold[0] is not None
        else None,
    }


def set_calibration(folder: str, **values: float) -> dict[str, Any]:
    """Write `values` into the calibration of the reader in `folder`; the whole calibration."""
    config_file = Path(folder) / "reader.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["calibration"] = {**config.get("calibration", {}), **{k: round(v, 6) for k, v in values.items()}}
    config_file.write_text(json.dumps(config) + "\n", encoding="utf-8")
    return dict(config["calibration"])


def ask(args: Any) -> dict[str, Any]:
    """Answer every dev question with the rules, and with the reader (refusals off) under each of
    `args.priors`, its confidence the sigmoid of the chosen sentence's logit; then once more under
    the best prior, its confidence the sigmoid of the chosen sentence's shortlist score. The rules'
    metrics per set, the reader's kept answers by prior, and the shortlist scores by row id."""
    data = require_datasets()
    cache = Path(args.cache_dir)
    rules = Settings(reader=None)
    results: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {p: [] for p in args.priors}
    bots: dict[str, tuple[Assistant, list[EvalItem]]] = {}
    for name in SETS:
        task = load_task(name, "dev", data if name != "bundled" else None, cache / "data")
        if name == "squad":  # never the questions `scripts/train_reader.py` trains on
            task = replace(task, items=tuple(i for i in task.items if held_for_calibration(i.id)))
        items = (
            list(task.items)
            if name in ("bundled", "scifact", "multihop")
            else sample_items(task.items, args.limit)
        )
        bot = Assistant.cached(task.corpus, cache, rules, progress=True)
        bots[name] = (bot, items)
        by_rules = run_eval(bot, items, progress=True)
        results[name] = {"questions": len(items), "rules": answer_metrics([r.scored for r in by_rules.rows])}
        for prior in args.priors:
            set_calibration(
                args.reader, scale=1.0, shortlist=0.0, shift=0.0, unmatched=0.0, prior=float(prior)
            )
            by_reader = run_eval(bot.with_settings(**ONE_SENTENCE, reader=args.reader), items, progress=True)
            rows[prior] += [kept(name, r) for r in by_reader.rows]
            results[name][f"reader_no_refusals, prior {prior}"] = answer_metrics(
                [r.scored for r in by_reader.rows]
            )
        print(name, {k: v for k, v in results[name]["rules"].items() if "latency" not in k}, flush=True)
    choice = {p: right_share(prior_rows) for p, prior_rows in rows.items()}
    prior = max(choice, key=lambda p: (round(choice[p], 6), -float(p)))
    shortlist: dict[str, float] = {}
    set_calibration(args.reader, scale=0.0, shortlist=1.0, shift=0.0, unmatched=0.0, prior=float(prior))
    for name, (bot, items) in bots.items():
        for r in run_eval(bot.with_settings(**ONE_SENTENCE, reader=args.reader), items, progress=True).rows:
            shortlist[f"{name}:{r.id}"] = _logit(r)
    return {"sets": results, "rows": rows, "choice": choice, "prior": prior, "shortlist": shortlist}


def main() -> None:
    parser = script_parser(__doc__, "reader_dev.json")
    parser.add_argument(
        "--reader", default=str(BUNDLED_READER_DIR), help="the reader's folder (its reader.json is updated)"
    )
    parser.add_argument("--limit", type=int, default=300, help="questions per answerable/unanswerable group")
    parser.add_argument("--max-refused", type=float, default=0.10, help="cap on answerable questions refused")
    parser.add_argument(
        "--priors", default="8,16,32", help="the shortlist weights to choose with (comma-separated)"
    )
    parser.add_argument(
        "--rows", help="where the answers are kept (default: <cache-dir>/reader_dev_rows.json)"
    )
    parser.add_argument("--reuse", action="store_true", help="fit again from the kept answers; ask nothing")
    args = parser.parse_args()
    args.priors = args.priors.split(",")
    rows_file = Path(args.rows or Path(args.cache_dir) / "reader_dev_rows.json")
    if args.reuse:
        answers = json.loads(rows_file.read_text(encoding="utf-8"))
    else:
        config_file = Path(args.reader) / "reader.json"
        before = config_file.read_text(encoding="utf-8")
        try:
            answers = ask(args)
        finally:  # a stopped run leaves the reader as it found it, not under a calibration for asking
            config_file.write_text(before, encoding="utf-8")
        rows_file.parent.mkdir(parents=True, exist_ok=True)
        rows_file.write_text(json.dumps(answers), encoding="utf-8")
    prior = answers["prior"]
    print(f"right (refusals off) by prior: {answers['choice']}; chosen {prior}")
    rows: list[dict[str, Any]] = answers["rows"][prior]
    known = [r for r in rows if in_fit(r)]

    def features(r: dict[str, Any]) -> tuple[float, float, float]:
        return (r["score"], answers["shortlist"][r["id"]], r["share"])

    scale, shortlist, unmatched, shift = fit(
        np.array([features(r) for r in known]), np.array([bool(r["right"]) for r in known])
    )
    reader = Reader(Reader.load(args.reader).model, scale, shift, unmatched, shortlist, float(prior))
    confidence = {
        r["id"]: float(reader.calibrated(np.array([r["score"]]), np.array([features(r)[1]]), r["share"])[0])
        for r in rows
    }
    calibration = set_calibration(
        args.reader,
        scale=scale,
        shortlist=shortlist,
        shift=shift,
        unmatched=unmatched,
        prior=float(prior),
        questions=len(known),
    )
    by_set = {name: [r for r in rows if r["set"] == name] for name in answers["sets"]}
    sweep: list[dict[str, Any]] = []
    for t in np.arange(0.01, 0.96, 0.01):
        per_set = {name: _at(set_rows, float(t), confidence) for name, set_rows in by_set.items()}
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
    rules = Settings(reader=None)
    report = {
        "command": "python -m scripts.calibrate_reader"
        + (f" --limit {args.limit}" if args.limit != 300 else ""),
        "reader": args.reader,
        "calibration": calibration,
        "right_by_prior": answers["choice"],
        "reader_settings": {"reader_threshold": best["threshold"]},
        "rules_settings": {
            "refusal_threshold": rules.refusal_threshold,
            "unmatched_penalty": rules.unmatched_penalty,
        },
        "sets": answers["sets"],
        "chosen": best,
        "sweep": sweep,
    }
    write_report(args.out, report)
    print(f"calibration {calibration}")
    print(f"threshold {best['threshold']}: mean refusal F1 {best['mean_refusal_f1']:.4f}")
    for name, m in best["sets"].items():
        print(f"  {name}: reader {m}  rules refusal F1 {answers['sets'][name]['rules']['refusal_f1']}")


if __name__ == "__main__":
    main()
