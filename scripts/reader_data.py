"""Training pairs for the reader: (question, candidate sentence with its neighbours, answers it or not).

Built only from the training folders and dev splits under `../shared/datasets/` (test splits never):

- SQuAD 1.1 train: the sentence holding the answer is positive; other sentences of its paragraph
  are hard negatives; the sentence of another paragraph of the same article that shares the most
  words with the question is a negative of the "no sentence here answers it" kind.
- SQuAD 2.0 train unanswerable sample: adversarial questions; every sentence of their paragraph
  is a negative (up to `negatives`, the most word-sharing first).
- SelQA answer-sentence selection: its labelled sentences as they are.
- COVID-QA: sentences overlapping the answer span are positive; the most word-sharing other
  sentences of the (long, scientific) paper are negatives.

Every question belongs to a group (its article or paper): groups, not questions, are split between
training and validation, so no paragraph is on both sides.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.datasets import read_jsonl
from index.sentences import sentence_spans
from rag.answer import terms
from rag.reader import candidate_text


@dataclass(frozen=True)
class Pair:
    """One training example for the reader."""

    question: str
    candidate: str  # `rag.reader.candidate_text`: the sentence, then its neighbours
    label: int  # 1: the sentence answers the question
    group: str  # the article or paper the question is about
    kind: str  # answer, same-passage, other-passage, adversarial, selqa, covidqa


def is_validation(group: str, percent: int = 5) -> bool:
    """Whether a group goes to the validation side (a fixed hash of its name, so runs agree)."""
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 100 < percent


def sentences_of(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """A text's sentences and their spans, as the index splits them."""
    spans = sentence_spans(text)
    return [text[s:e] for s, e in spans], spans


def _overlap_order(question: str, sentences: Sequence[str], skip: set[int]) -> list[int]:
    """Sentence indices, most words shared with the question first (ties in document order)."""
    q = terms(question)
    scored = [(-len(q & terms(s)), i) for i, s in enumerate(sentences) if i not in skip]
    return [i for _, i in sorted(scored)]


def squad_pairs(
    paragraphs: Mapping[str, Mapping[str, Any]],
    questions: Iterable[Mapping[str, Any]],
    rng: random.Random,
    negatives: int = 3,
) -> Iterator[Pair]:
    """Pairs from SQuAD 1.1 train questions (see the module docstring); questions whose answer text
    occurs more than once in the paragraph are skipped, since the annotated one is unknown."""
    by_article: dict[str, list[str]] = {}
    for pid, p in paragraphs.items():
        by_article.setdefault(str(p["title"]), []).append(pid)
    split: dict[str, tuple[list[str], list[tuple[int, int]]]] = {}
    for q in questions:
        answer = q["answers"][0]
        if answer.get("occurrences", 1) != 1:
            continue
        pid, title, question = q["paragraph_id"], str(q["title"]), str(q["question"])
        sentences, spans = split.setdefault(pid, sentences_of(str(paragraphs[pid]["context"])))
        start = int(answer["answer_start"])
        hits = {i for i, (s, e) in enumerate(spans) if s <= start < e}
        if not hits:
            continue
        for i in hits:
            yield Pair(question, candidate_text(sentences, i), 1, title, "answer")
        others = [i for i in range(len(sentences)) if i not in hits]
        for i in rng.sample(others, min(negatives, len(others))):
            yield Pair(question, candidate_text(sentences, i), 0, title, "same-passage")
        elsewhere = [p for p in by_article.get(title, []) if p != pid]
        if elsewhere:
            other = rng.choice(elsewhere)
            o_sentences, _ = split.setdefault(other, sentences_of(str(paragraphs[other]["context"])))
            best = _overlap_order(question, o_sentences, set())[:1]
            yield from (
                Pair(question, candidate_text(o_sentences, i), 0, title, "other-passage") for i in best
            )


def unanswerable_pairs(rows: Iterable[Mapping[str, Any]], negatives: int = 3) -> Iterator[Pair]:
    """Pairs from adversarial unanswerable questions: the most word-sharing sentences of their
    paragraph, each a negative."""
    for row in rows:
        sentences, _ = sentences_of(str(row["context"]))
        for i in _overlap_order(str(row["question"]), sentences, set())[:negatives]:
            yield Pair(
                str(row["question"]), candidate_text(sentences, i), 0, str(row["title"]), "adversarial"
            )


def selqa_pairs(rows: Iterable[Mapping[str, Any]], rng: random.Random, negatives: int = 3) -> Iterator[Pair]:
    """Pairs from SelQA: its answer sentences, and up to `negatives` of the other sentences."""
    for row in rows:
        sentences = [str(s) for s in row["sentences"]]
        positive = {int(i) for i in row["answer_sentence_ids"]}
        question, group = str(row["question"]), str(row["article"])
        for i in sorted(positive):
            yield Pair(question, candidate_text(sentences, i), 1, group, "selqa")
        others = [i for i in range(len(sentences)) if i not in positive]
        for i in rng.sample(others, min(negatives, len(others))):
            yield Pair(question, candidate_text(sentences, i), 0, group, "selqa")


def covidqa_pairs(
    documents: Mapping[str, str], questions: Iterable[Mapping[str, Any]], negatives: int = 4
) -> Iterator[Pair]:
    """Pairs from COVID-QA: sentences overlapping the answer span, and the most word-sharing others."""
    split: dict[str, tuple[list[str], list[tuple[int, int]]]] = {}
    for q in questions:
        doc_id = str(q["document_id"])
        sentences, spans = split.setdefault(doc_id, sentences_of(documents[doc_id]))
        answer = q["answers"][0]
        start = int(answer["answer_start"])
        end = start + len(str(answer["text"]))
        hits = {i for i, (s, e) in enumerate(spans) if s < end and e > start}
        if not hits:
            continue
        question = str(q["question"])
        for i in sorted(hits):
            yield Pair(question, candidate_text(sentences, i), 1, f"covidqa:{doc_id}", "covidqa")
        for i in _overlap_order(question, sentences, hits)[:negatives]:
            yield Pair(question, candidate_text(sentences, i), 0, f"covidqa:{doc_id}", "covidqa")


def build_pairs(data: Path, seed: int = 0, squad_questions: int = 12_000) -> list[Pair]:
    """All training pairs from the shared datasets' training folders (a seeded sample of SQuAD)."""
    rng = random.Random(seed)
    squad = data / "train_squad11"
    paragraphs = {str(p["paragraph_id"]): p for p in read_jsonl(squad / "paragraphs.jsonl")}
    questions = list(read_jsonl(squad / "questions.jsonl"))
    questions = rng.sample(questions, min(squad_questions, len(questions)))
    pairs = list(squad_pairs(paragraphs, questions, rng))
    pairs += unanswerable_pairs(read_jsonl(squad / "squad2_train_unanswerable_sample.jsonl"))
    pairs += selqa_pairs(read_jsonl(data / "train_selqa" / "questions.jsonl"), rng)
    covid = data / "train_covidqa"
    documents = {str(d["document_id"]): str(d["context"]) for d in read_jsonl(covid / "documents.jsonl")}
    pairs += covidqa_pairs(documents, read_jsonl(covid / "questions.jsonl"))
    rng.shuffle(pairs)
    return pairs
