"""Metric functions: retrieval (via pytrec_eval, as BEIR uses), SQuAD EM/F1, answers, refusals, latency."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

IR_MEASURES = {"ndcg_cut.10", "recall.5,10,100", "success.1,5,10"}


def ir_metrics(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, float]]:
    """Per-query hit@k, recall@k, MRR@10 and nDCG@10 (graded) for ranked document ids.

    `runs` maps a query id to its documents, best first; queries without relevant documents are
    left out. Computed by trec_eval (pytrec_eval), as in BEIR.
    """
    import pytrec_eval

    qrels = {q: dict(r) for q, r in qrels.items() if any(g > 0 for g in r.values())}
    # trec_eval sorts by score (ties by doc id), so scores encode the rank.
    run = {q: {d: float(len(ranked) - i) for i, d in enumerate(ranked)} for q, ranked in runs.items()}
    top10 = {q: {d: s for d, s in r.items() if s > len(runs[q]) - 10} for q, r in run.items()}
    run = {q: r for q, r in run.items() if q in qrels}
    out = pytrec_eval.RelevanceEvaluator(qrels, IR_MEASURES).evaluate(run)
    mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(
        {q: r for q, r in top10.items() if q in qrels}
    )
    result: dict[str, dict[str, float]] = {}
    for q in qrels:
        m = out.get(q, {})
        result[q] = {
            "hit@1": m.get("success_1", 0.0),
            "hit@5": m.get("success_5", 0.0),
            "hit@10": m.get("success_10", 0.0),
            "recall@5": m.get("recall_5", 0.0),
            "recall@10": m.get("recall_10", 0.0),
            "recall@100": m.get("recall_100", 0.0),
            "mrr@10": mrr.get(q, {}).get("recip_rank", 0.0),
            "ndcg@10": m.get("ndcg_cut_10", 0.0),
        }
    return result


def mean_metrics(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    if not per_query:
        return {}
    names = next(iter(per_query.values())).keys()
    return {n: float(np.mean([m[n] for m in per_query.values()])) for n in names}


# -- answers -----------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD v2 EM: max over gold answers; an unanswerable question's gold is ''."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(float(normalize_answer(prediction) == normalize_answer(g)) for g in golds)


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD v2 token F1, max over gold answers."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(_f1(prediction, g) for g in golds)


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def loose(text: str) -> str:
    """SQuAD's normalisation, also dropping non-ASCII punctuation (curly quotes, dashes)."""
    return normalize_answer("".join(" " if unicodedata.category(ch)[0] == "P" else ch for ch in text))


def contains_answer(text: str, answers: Sequence[str] | Sequence[Sequence[str]]) -> bool:
    """Whether `text` contains a gold answer (normalised); with parts, every part must appear."""
    if not answers:
        return False
    norm = f" {loose(text)} "
    parts: list[Sequence[str]] = [answers] if isinstance(answers[0], str) else list(answers)  # type: ignore[list-item]
    return all(any(f" {loose(v)} " in norm for v in part if loose(v)) for part in parts)


def contains_text(haystack: str, needle: str) -> bool:
    """`needle` occurs in `haystack`, ignoring case, punctuation and spacing."""
    n = loose(needle)
    return bool(n) and f" {n} " in f" {loose(haystack)} "


# -- refusals and latency ----------------------------------------------------------------------


def refusal_prf(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision, recall and F1 of refusing, with unanswerable questions as the positive class.

    None where undefined: P/R/F1 when no question is unanswerable, the wrong-refusal rate when all are.
    """
    tp = sum(r and not a for r, a in zip(refused, answerable, strict=True))
    n_refused, n_unanswerable = sum(refused), sum(not a for a in answerable)
    n_answerable = len(answerable) - n_unanswerable
    out: dict[str, float | None] = dict.fromkeys(("refusal_precision", "refusal_recall", "refusal_f1"))
    if n_unanswerable:
        precision = tp / n_refused if n_refused else 0.0
        recall = tp / n_unanswerable
        out["refusal_precision"] = precision
        out["refusal_recall"] = recall
        out["refusal_f1"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out["refused_answerable"] = (n_refused - tp) / n_answerable if n_answerable else None
    return out


def latency(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds."""
    if not seconds:
        return {}
    ms = np.asarray(seconds) * 1000.0
    return {
        "latency_p50_ms": float(np.percentile(ms, 50)),
        "latency_p95_ms": float(np.percentile(ms, 95)),
        "latency_max_ms": float(ms.max()),
    }
