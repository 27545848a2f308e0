"""Training pairs for the reader: (question, candidate sentence with its neighbours, answers it or not).

Built only from the training folders and dev splits under `../shared/datasets/` (test splits never):

- SQuAD 1.1 train: the sentence holding the answer is positive; other sentences of its paragraph
  are hard negatives (the one our BM25 ranks highest, and random others); the sentences of other
  paragraphs of the same article that our BM25 ranks highest for the question are negatives of the
  "no sentence here answers it" kind, unless they hold the answer text too.
- SQuAD 2.0 train unanswerable sample: adversarial questions; their paragraph's sentences are
  negatives (up to `negatives`, BM25's best first).
- SelQA answer-sentence selection: its labelled sentences as they are.
- COVID-QA: sentences overlapping the answer span are positive; the other sentences of the (long,
  scientific) paper that BM25 ranks highest are negatives, unless they hold the answer text.

Stage two (`build_hard_pairs`) fine-tunes on what stage one lacks, then replays a sample of stage
one so nothing is forgotten:

- SQuAD 2.0 dev questions outside the calibration's share (`held_for_calibration`): its ~50%
  adversarial unanswerable questions (written to look answerable from their paragraph) give
  same-paragraph negatives; its answerable ones give the one sentence that holds an answer (only
  when exactly one does) and BM25's near misses.
- SciFact *train* claims (statements, not questions): the sentences annotated as evidence are
  positive; BM25's best other sentences of the same abstract and of other abstracts are negatives.
  Claims without evidence are left out (their cited abstract is still the one to quote).

"Our BM25" is the product's lexical retriever (`index.bm25`, the sparse half of hybrid search), run
over sentences: its near misses are the negatives the reader meets when answering.

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
from index.bm25 import BM25Index
from index.sentences import sentence_spans
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


class SentenceSearch:
    """Our BM25 over a list of sentences (a paragraph, an article, a paper)."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        self._bm25 = BM25Index.build(enumerate(self.sentences))

    def ranked(self, question: str, skip: Iterable[int] = ()) -> list[int]:
        """Indices that BM25 matches with `question`, best first, less `skip`; then the unmatched
        ones in document order (so a sample is never short)."""
        skipped = set(skip)
        allowed = [i for i in range(len(self.sentences)) if i not in skipped]
        hits = [i for i, _ in self._bm25.search(question, len(allowed), allowed=allowed)]
        found = set(hits)
        return hits + [i for i in allowed if i not in found]


def _holds(candidate: str, answer: str) -> bool:
    return answer.strip().lower() in candidate.lower()


def squad_pairs(
    paragraphs: Mapping[str, Mapping[str, Any]],
    questions: Iterable[Mapping[str, Any]],
    rng: random.Random,
    negatives: int = 2,
    elsewhere: int = 2,
) -> Iterator[Pair]:
    """Pairs from SQuAD 1.1 train questions (see the module docstring): the answer sentence,
    `negatives` other sentences of its paragraph and `elsewhere` sentences of other paragraphs of
    its article. Questions whose answer text occurs more than once in the paragraph are skipped,
    since the annotated one is unknown."""
    by_article: dict[str, list[str]] = {}
    for pid, p in paragraphs.items():
        by_article.setdefault(str(p["title"]), []).append(pid)
    split: dict[str, tuple[list[str], list[tuple[int, int]]]] = {}
    articles: dict[str, tuple[SentenceSearch, list[str]]] = {}
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
        others = SentenceSearch(sentences).ranked(question, hits)
        chosen = others[:1] + rng.sample(others[1:], min(negatives - 1, len(others) - 1)) if others else []
        for i in chosen[:negatives]:
            yield Pair(question, candidate_text(sentences, i), 0, title, "same-passage")
        if title not in articles:
            owners = [
                (other, i)
                for other in by_article[title]
                for i in range(
                    len(split.setdefault(other, sentences_of(str(paragraphs[other]["context"])))[0])
                )
            ]
            texts = [split[o][0][i] for o, i in owners]
            articles[title] = (SentenceSearch(texts), [o for o, _ in owners])
        search, owner = articles[title]
        mine = [i for i, o in enumerate(owner) if o == pid]
        found = 0
        for i in search.ranked(question, mine):
            if found == elsewhere:
                break
            if _holds(search.sentences[i], str(answer["text"])):
                continue
            o_sentences = split[owner[i]][0]
            local = i - owner.index(owner[i])
            yield Pair(question, candidate_text(o_sentences, local), 0, title, "other-passage")
            found += 1


def unanswerable_pairs(rows: Iterable[Mapping[str, Any]], negatives: int = 3) -> Iterator[Pair]:
    """Pairs from adversarial unanswerable questions: the sentences of their paragraph BM25 ranks
    highest, each a negative."""
    for row in rows:
        sentences, _ = sentences_of(str(row["context"]))
        for i in SentenceSearch(sentences).ranked(str(row["question"]))[:negatives]:
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
    """Pairs from COVID-QA: sentences overlapping the answer span, and the others BM25 ranks highest."""
    split: dict[str, tuple[list[str], list[tuple[int, int]], SentenceSearch]] = {}
    for q in questions:
        doc_id = str(q["document_id"])
        if doc_id not in split:
            sentences, spans = sentences_of(documents[doc_id])
            split[doc_id] = (sentences, spans, SentenceSearch(sentences))
        sentences, spans, search = split[doc_id]
        answer = q["answers"][0]
        start = int(answer["answer_start"])
        end = start + len(str(answer["text"]))
        hits = {i for i, (s, e) in enumerate(spans) if s < end and e > start}
        if not hits:
            continue
        question = str(q["question"])
        for i in sorted(hits):
            yield Pair(question, candidate_text(sentences, i), 1, f"covidqa:{doc_id}", "covidqa")
        misses = [i for i in search.ranked(question, hits) if not _holds(sentences[i], str(answer["text"]))]
        for i in misses[:negatives]:
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


def held_for_calibration(question_id: str, percent: int = 35) -> bool:
    """Whether a dev question is kept for calibration (`scripts/calibrate_reader.py`) and never
    trained on (a fixed hash of its id, so the two scripts agree)."""
    return is_validation(f"calibration:{question_id}", percent)


def squad2_dev_pairs(
    paragraphs: Mapping[str, Mapping[str, Any]],
    questions: Iterable[Mapping[str, Any]],
    negatives: int = 3,
) -> Iterator[Pair]:
    """Pairs from SQuAD 2.0 dev questions (answers as plain strings): for an answerable one, the
    single sentence that holds an answer and BM25's best `negatives - 1` sentences that hold none;
    for an unanswerable one, BM25's best `negatives` sentences of its paragraph, all negative."""
    for q in questions:
        question, title = str(q["question"]), str(q["title"])
        sentences, _ = sentences_of(str(paragraphs[str(q["paragraph_id"])]["context"]))
        ranked = SentenceSearch(sentences).ranked(question)
        if q["is_impossible"]:
            for i in ranked[:negatives]:
                yield Pair(question, candidate_text(sentences, i), 0, title, "adversarial-dev")
            continue
        answers = [str(a) for a in q["answers"]]
        holding = [i for i in range(len(sentences)) if any(_holds(sentences[i], a) for a in answers)]
        if len(holding) != 1:
            continue
        yield Pair(question, candidate_text(sentences, holding[0]), 1, title, "answer-dev")
        for i in [i for i in ranked if i not in holding][: negatives - 1]:
            yield Pair(question, candidate_text(sentences, i), 0, title, "same-passage-dev")


def scifact_pairs(
    abstracts: Mapping[str, Sequence[str]],
    claims: Iterable[Mapping[str, Any]],
    negatives: int = 2,
    elsewhere: int = 2,
) -> Iterator[Pair]:
    """Pairs from SciFact train claims with evidence: each evidence sentence positive; BM25's best
    `negatives` other sentences of the abstract and `elsewhere` sentences of other abstracts
    negative."""
    owners = [(doc, i) for doc, sentences in abstracts.items() for i in range(len(sentences))]
    everywhere = SentenceSearch([abstracts[d][i] for d, i in owners])
    for claim in claims:
        evidence = {
            str(doc): {int(i) for e in found for i in e["sentences"]}
            for doc, found in claim.get("evidence", {}).items()
            if str(doc) in abstracts
        }
        if not evidence:
            continue
        text, group = str(claim["claim"]), f"scifact:{claim['id']}"
        for doc, positive in evidence.items():
            sentences = abstracts[doc]
            for i in sorted(positive):
                yield Pair(text, candidate_text(sentences, i), 1, group, "scifact")
            for i in SentenceSearch(sentences).ranked(text, positive)[:negatives]:
                yield Pair(text, candidate_text(sentences, i), 0, group, "scifact")
        found = 0
        for j in everywhere.ranked(text):
            if found == elsewhere:
                break
            doc, i = owners[j]
            if doc in evidence:
                continue
            yield Pair(text, candidate_text(abstracts[doc], i), 0, group, "scifact-elsewhere")
            found += 1


def build_hard_pairs(
    data: Path,
    seed: int = 0,
    replay: int = 10_000,
    squad_questions: int = 12_000,
    earlier: Sequence[Pair] | None = None,
) -> list[Pair]:
    """Stage two's pairs (see the module docstring): SQuAD 2.0 dev questions not held for
    calibration, SciFact train claims, and `replay` pairs of stage one (`earlier`: stage one's
    pairs when the caller has them, else built again with the same seed)."""
    rng = random.Random(seed + 1)
    squad = data / "squad_v2_dev"
    paragraphs = {str(p["paragraph_id"]): p for p in read_jsonl(squad / "paragraphs.jsonl")}
    dev = set((squad / "dev_ids.txt").read_text(encoding="utf-8").split())
    questions = [
        q
        for q in read_jsonl(squad / "questions.jsonl")
        if q["id"] in dev and not held_for_calibration(q["id"])
    ]
    pairs = list(squad2_dev_pairs(paragraphs, questions))
    scifact = data / "beir_scifact"
    rows: Iterable[Mapping[str, Any]] = read_jsonl(scifact / "corpus_sentences.jsonl")
    abstracts = {str(d["doc_id"]): [str(s) for s in d["sentences"]] for d in rows}
    pairs += scifact_pairs(abstracts, read_jsonl(scifact / "claims_train.jsonl"))
    earlier = build_pairs(data, seed, squad_questions) if earlier is None else earlier
    pairs += rng.sample(list(earlier), min(replay, len(earlier)))
    rng.shuffle(pairs)
    return pairs
