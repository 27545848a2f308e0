"""Metric functions against hand-computed values (and SQuAD's published evaluator on real predictions)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals import metrics
from evals.datasets import read_jsonl

pytestmark = pytest.mark.unit


def test_ir_metrics_hand_computed() -> None:
    runs = {
        "q1": ["a", "x", "b"],  # graded: b is twice as relevant as a
        "q2": ["y", "c"],
        "q3": [f"n{i}" for i in range(10)] + ["r"],  # the relevant document at rank 11
        "q4": ["z"],  # no relevant documents: left out
    }
    qrels = {"q1": {"a": 1, "b": 2}, "q2": {"c": 1}, "q3": {"r": 1}, "q4": {}}
    m = metrics.ir_metrics(runs, qrels)
    assert set(m) == {"q1", "q2", "q3"}
    idcg = 2 + 1 / math.log2(3)
    assert m["q1"]["ndcg@10"] == pytest.approx((1 + 2 / math.log2(4)) / idcg)
    assert m["q1"]["mrr@10"] == 1.0 and m["q1"]["hit@1"] == 1.0 and m["q1"]["recall@5"] == 1.0
    assert m["q2"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert m["q2"]["mrr@10"] == 0.5 and m["q2"]["hit@1"] == 0.0 and m["q2"]["hit@5"] == 1.0
    assert m["q3"]["mrr@10"] == 0.0 and m["q3"]["hit@10"] == 0.0 and m["q3"]["ndcg@10"] == 0.0
    assert m["q3"]["recall@10"] == 0.0 and m["q3"]["recall@100"] == 1.0
    mean = metrics.mean_metrics(m)
    assert mean["mrr@10"] == pytest.approx(0.5)


def test_squad_normalisation_em_f1() -> None:
    assert metrics.normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert metrics.exact_match("the Normans", ["Normans", "in France"]) == 1.0
    assert metrics.exact_match("", []) == 1.0  # unanswerable: an empty prediction is right
    assert metrics.exact_match("something", []) == 0.0
    assert metrics.f1_score("in northern France", ["France"]) == pytest.approx(2 * (1 / 3) / (1 / 3 + 1))
    assert metrics.f1_score("", ["France"]) == 0.0


def test_contains_answer_and_parts() -> None:
    assert metrics.contains_answer("Trade reached 369 billion dollars.", ["369 billion"])
    assert not metrics.contains_answer("Trade reached 3690 billion.", ["369 billion"])
    both = (("silver", "Silver"), ("bronze",))
    assert metrics.contains_answer("She won silver and bronze.", both)
    assert not metrics.contains_answer("She won silver.", both)
    assert not metrics.contains_answer("anything", [])
    assert metrics.contains_text("It is the “Six Systems, Two Platforms” model", "Six Systems, Two Platforms")


def test_refusal_prf_and_latency() -> None:
    refused = [True, True, False, False, True]
    answerable = [False, True, False, True, False]
    m = metrics.refusal_prf(refused, answerable)
    assert m["refusal_precision"] == pytest.approx(2 / 3)
    assert m["refusal_recall"] == pytest.approx(2 / 3)
    assert m["refusal_f1"] == pytest.approx(2 / 3)
    assert m["refused_answerable"] == pytest.approx(1 / 2)
    none_unanswerable = metrics.refusal_prf([True, False], [True, True])
    assert none_unanswerable["refusal_f1"] is None and none_unanswerable["refused_answerable"] == 0.5
    lat = metrics.latency([0.010, 0.020, 0.030])
    assert lat["latency_p50_ms"] == pytest.approx(20.0) and lat["latency_max_ms"] == pytest.approx(30.0)


def test_squad_em_f1_match_the_official_evaluator_on_bert_predictions(shared_dir: Path) -> None:
    """BERT's dev predictions score EM 78.742 / F1 81.775 with SQuAD's evaluate-v2.0 (the dataset README)."""
    folder = shared_dir / "datasets" / "squad_v2_dev"
    predictions = json.loads(
        (folder / "reference_predictions" / "bert_single_google_ai_language.json").read_text()
    )
    em = f1 = 0.0
    n = 0
    for q in read_jsonl(folder / "questions.jsonl"):
        golds = list(q["answers"])  # type: ignore[call-overload]
        em += metrics.exact_match(predictions[q["id"]], golds)
        f1 += metrics.f1_score(predictions[q["id"]], golds)
        n += 1
    assert n == 11873
    assert round(100 * em / n, 3) == 78.742
    assert round(100 * f1 / n, 3) == 81.775
