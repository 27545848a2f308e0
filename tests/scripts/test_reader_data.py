"""Training pairs for the reader, built from tiny fixture datasets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rag.reader import SEPARATOR, candidate_text
from scripts.reader_data import (
    build_hard_pairs,
    build_pairs,
    covidqa_pairs,
    held_for_calibration,
    is_validation,
    scifact_pairs,
    selqa_pairs,
    squad2_dev_pairs,
    squad_pairs,
    unanswerable_pairs,
)
from tests.conftest import write

pytestmark = pytest.mark.unit

PARAGRAPHS = {
    "Otter#0": {
        "title": "Otter",
        "context": "Otter Bay is a port. It opened in May 2026. It cleared 9,100 parcels on its first day. "
        "Its crane is blue.",
    },
    "Otter#1": {"title": "Otter", "context": "Otter Bay has a lighthouse. The lighthouse opened in 1901."},
    "Walrus#0": {"title": "Walrus", "context": "Walrus Point employs 312 packers. They train every week."},
}


def _question(pid: str, question: str, answer: str, occurrences: int = 1) -> dict[str, object]:
    context = str(PARAGRAPHS[pid]["context"])
    start = context.index(answer)
    return {
        "question": question,
        "title": PARAGRAPHS[pid]["title"],
        "paragraph_id": pid,
        "answers": [{"text": answer, "answer_start": start, "occurrences": occurrences}],
    }


def test_the_candidate_is_its_sentence_then_its_neighbours() -> None:
    sentences = ["First one.", "Second\none.", "Third one."]
    assert candidate_text(sentences, 1) == f"Second one.{SEPARATOR}First one. Third one."
    assert candidate_text(sentences, 0) == f"First one.{SEPARATOR}Second one."
    assert candidate_text(["Alone."], 0) == "Alone."


def test_squad_pairs_label_the_answer_sentence_and_its_negatives() -> None:
    questions = [
        _question("Otter#0", "How many parcels did Otter Bay clear on its first day?", "9,100"),
        _question("Otter#0", "What colour is the port's crane?", "blue", occurrences=2),  # skipped
    ]
    pairs = list(squad_pairs(PARAGRAPHS, questions, random.Random(0), negatives=2, elsewhere=1))
    assert [(p.label, p.kind) for p in pairs] == [
        (1, "answer"),
        (0, "same-passage"),
        (0, "same-passage"),
        (0, "other-passage"),
    ]
    assert pairs[0].candidate.startswith("It cleared 9,100 parcels on its first day.")
    assert "It opened in May 2026." in pairs[0].candidate  # a neighbour, for "it"
    assert not any(p.label == 0 and p.candidate.startswith("It cleared 9,100") for p in pairs)
    # the other paragraph's sentence our BM25 ranks first for the question ("Otter", "Bay")
    assert pairs[-1].candidate.startswith("Otter Bay has a lighthouse.") and pairs[-1].group == "Otter"


def test_squad_negatives_from_elsewhere_never_hold_the_answer() -> None:
    paragraphs = {
        **PARAGRAPHS,
        "Otter#1": {
            "title": "Otter",
            "context": "Otter Bay cleared 9,100 parcels again. The lighthouse is old.",
        },
    }
    question = _question("Otter#0", "How many parcels did Otter Bay clear on its first day?", "9,100")
    pairs = list(squad_pairs(paragraphs, [question], random.Random(0), negatives=1, elsewhere=2))
    elsewhere = [p.candidate.split(SEPARATOR)[0] for p in pairs if p.kind == "other-passage"]
    assert elsewhere == ["The lighthouse is old."]


def test_adversarial_selqa_and_covidqa_pairs() -> None:
    adversarial = list(
        unanswerable_pairs(
            [
                {
                    "question": "How many packers does Walrus Point fire?",
                    "title": "Walrus",
                    "context": PARAGRAPHS["Walrus#0"]["context"],
                }
            ],
            negatives=1,
        )
    )
    assert [(p.label, p.kind, p.candidate.split(SEPARATOR)[0]) for p in adversarial] == [
        (0, "adversarial", "Walrus Point employs 312 packers.")
    ]

    selqa = list(
        selqa_pairs(
            [
                {
                    "question": "Q?",
                    "article": "A",
                    "sentences": ["s0.", "s1.", "s2."],
                    "answer_sentence_ids": [2],
                }
            ],
            random.Random(0),
            negatives=5,
        )
    )
    assert sorted((p.label, p.candidate.split(SEPARATOR)[0]) for p in selqa) == [
        (0, "s0."),
        (0, "s1."),
        (1, "s2."),
    ]

    text = "Masks reduce spread. Hand washing also helps a lot. Vaccines were tested in 2020."
    start = text.index("Hand washing")
    covid = list(
        covidqa_pairs(
            {"7": text},
            [
                {
                    "question": "Does hand washing help?",
                    "document_id": "7",
                    "answers": [{"text": "Hand washing also helps", "answer_start": start}],
                }
            ],
            negatives=1,
        )
    )
    assert [(p.label, p.candidate.split(SEPARATOR)[0]) for p in covid] == [
        (1, "Hand washing also helps a lot."),
        (0, "Masks reduce spread."),
    ]


def test_build_pairs_reads_only_training_folders_and_splits_by_group(tmp_path: Path) -> None:
    data = tmp_path / "datasets"
    rows = lambda items: "".join(json.dumps(r) + "\n" for r in items)  # noqa: E731
    write(
        data / "train_squad11" / "paragraphs.jsonl",
        rows([{"paragraph_id": k, **v} for k, v in PARAGRAPHS.items()]),
    )
    write(
        data / "train_squad11" / "questions.jsonl",
        rows([_question("Walrus#0", "How many packers work at Walrus Point?", "312")]),
    )
    write(data / "train_squad11" / "squad2_train_unanswerable_sample.jsonl", "")
    write(data / "train_selqa" / "questions.jsonl", "")
    write(data / "train_covidqa" / "documents.jsonl", "")
    write(data / "train_covidqa" / "questions.jsonl", "")
    pairs = build_pairs(data, seed=0)
    assert sorted((p.label, p.kind) for p in pairs) == [(0, "same-passage"), (1, "answer")]
    assert build_pairs(data, seed=0) == pairs  # seeded
    share = sum(is_validation(f"article-{i}") for i in range(2000)) / 2000
    assert 0.03 < share < 0.07 and is_validation("Otter") == is_validation("Otter")


def test_squad2_dev_pairs_use_the_one_answer_sentence_and_refuse_adversarial_ones() -> None:
    questions = [
        {
            "question": "How many parcels did Otter Bay clear on its first day?",
            "title": "Otter",
            "paragraph_id": "Otter#0",
            "is_impossible": False,
            "answers": ["9,100", "9,100 parcels"],
        },
        {  # "Otter" is in two sentences' answers: which one the annotators meant is unknown
            "question": "What is the port called?",
            "title": "Otter",
            "paragraph_id": "Otter#0",
            "is_impossible": False,
            "answers": ["It"],
        },
        {
            "question": "How many parcels did Otter Bay lose on its first day?",
            "title": "Otter",
            "paragraph_id": "Otter#0",
            "is_impossible": True,
            "answers": [],
        },
    ]
    pairs = list(squad2_dev_pairs(PARAGRAPHS, questions, negatives=2))
    assert [(p.label, p.kind, p.candidate.split(SEPARATOR)[0]) for p in pairs] == [
        (1, "answer-dev", "It cleared 9,100 parcels on its first day."),
        (0, "same-passage-dev", "Otter Bay is a port."),
        (0, "adversarial-dev", "It cleared 9,100 parcels on its first day."),
        (0, "adversarial-dev", "Otter Bay is a port."),
    ]


def test_scifact_pairs_label_evidence_and_take_negatives_elsewhere() -> None:
    abstracts = {
        "1": ["Aspirin lowers fever.", "Aspirin thins the blood in adults.", "It was cheap."],
        "2": ["Blood thinning in adults helps the heart.", "Mice were used."],
    }
    claims = [
        {
            "id": 5,
            "claim": "Aspirin thins blood in adults.",
            "evidence": {"1": [{"sentences": [1], "label": "SUPPORT"}]},
        },
        {"id": 6, "claim": "Nothing is known.", "evidence": {}},  # no evidence: left out
    ]
    pairs = list(scifact_pairs(abstracts, claims, negatives=1, elsewhere=1))
    assert [(p.label, p.kind, p.candidate.split(SEPARATOR)[0]) for p in pairs] == [
        (1, "scifact", "Aspirin thins the blood in adults."),
        (0, "scifact", "Aspirin lowers fever."),
        (0, "scifact-elsewhere", "Blood thinning in adults helps the heart."),
    ]
    assert {p.group for p in pairs} == {"scifact:5"}


def test_hard_pairs_never_train_on_the_calibration_share(tmp_path: Path) -> None:
    data = tmp_path / "datasets"
    rows = lambda items: "".join(json.dumps(r) + "\n" for r in items)  # noqa: E731
    for folder in ("train_squad11",):
        write(
            data / folder / "paragraphs.jsonl",
            rows([{"paragraph_id": k, **v} for k, v in PARAGRAPHS.items()]),
        )
        write(data / folder / "questions.jsonl", "")
        write(data / folder / "squad2_train_unanswerable_sample.jsonl", "")
    write(data / "train_selqa" / "questions.jsonl", "")
    write(data / "train_covidqa" / "documents.jsonl", "")
    write(data / "train_covidqa" / "questions.jsonl", "")
    ids = [f"q{i}" for i in range(40)]
    held = [i for i in ids if held_for_calibration(i)]
    assert 0 < len(held) < len(ids)
    squad = data / "squad_v2_dev"
    write(squad / "paragraphs.jsonl", rows([{"paragraph_id": k, **v} for k, v in PARAGRAPHS.items()]))
    write(
        squad / "questions.jsonl",
        rows(
            [
                {
                    "id": i,
                    "question": f"Who employs 312 packers? ({i})",
                    "title": "Walrus",
                    "paragraph_id": "Walrus#0",
                    "is_impossible": False,
                    "answers": ["Walrus Point"],
                }
                for i in [*ids, "test-only"]
            ]
        ),
    )
    write(squad / "dev_ids.txt", "\n".join(ids) + "\n")
    write(data / "beir_scifact" / "corpus_sentences.jsonl", "")
    write(data / "beir_scifact" / "claims_train.jsonl", "")
    pairs = build_hard_pairs(data, seed=0)
    asked = {p.question.split("(")[1].rstrip(")") for p in pairs}
    assert asked == set(ids) - set(held)  # neither the calibration share nor test questions
