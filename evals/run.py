"""Run an eval set through the same `Assistant` the chat uses, and score every question.

Each question is answered (follow-ups after their history, in one conversation) and, for every
system compared, its documents are ranked for the retrieval metrics. A reference answerer may
answer every question too, so the report sets the two side by side: in llm answer mode the
extractive answers, and with `rag eval --compare rules` the hand-set rules the reader replaces.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from evals import metrics
from evals.evalset import EvalItem
from evals.rankers import AssistantRanker, Ranker
from rag import Answer, Assistant
from rag.cite import strip_markers

RANK_DEPTH = 100


@dataclass(frozen=True)
class ScoredAnswer:
    """One answer to an eval question and its scores (None where a score does not apply)."""

    answerable: bool
    mode: str
    refused: bool
    answer: str
    confidence: float
    unmatched_terms: tuple[str, ...]
    notice: str
    contains_answer: bool | None  # a gold answer string is in the answer
    em: float | None  # SQuAD v2 exact match
    f1: float | None  # SQuAD v2 token F1
    citation_correct: bool | None  # some citation quotes evidence or a gold document
    citation_precision: float | None  # the share of citations that do
    citations: tuple[dict[str, Any], ...]  # n, doc_id, quote
    sentences: tuple[dict[str, Any], ...]  # llm mode: text, sources, supported, support
    latency_ms: float


@dataclass(frozen=True)
class EvalRow:
    """One eval question: the answer's scores, the gold documents, and each system's ranking."""

    id: str
    group: str
    question: str
    resolved_question: str
    answers: list[Any]  # the gold answers, as in the eval set
    scored: ScoredAnswer
    relevant: Mapping[str, int]
    rankings: Mapping[str, list[str]]  # the top 10 documents of each system
    retrieval: Mapping[str, Mapping[str, float]]  # each system's metrics (questions with gold documents)
    reference: ScoredAnswer | None = None  # the same question answered by the reference answerer

    def to_dict(self) -> dict[str, Any]:
        """One line of `results.jsonl`: the question's fields with its answer's scores among them."""
        row = asdict(self)
        row.update(row.pop("scored"))
        for key in ("retrieval", "reference"):
            if not row[key]:
                del row[key]
        return row


@dataclass
class EvalRun:
    """Per-question rows and the systems compared; `report_dict` aggregates them."""

    rows: list[EvalRow] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    rank_latency: dict[str, list[float]] = field(default_factory=dict)
    answer_mode: str = "extractive"
    reference: str | None = None  # what answered `EvalRow.reference`: "extractive", "rules"


class _Evidence:
    """Resolves evidence entries to gold documents (ids or file names) and text snippets."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot
        documents = bot.documents()
        self.ids = {d.doc_id for d in documents}
        self.by_name: dict[str, list[str]] = {}
        for d in documents:
            self.by_name.setdefault(d.file_name, []).append(d.doc_id)
        self._norm: dict[str, str] | None = None

    def split(self, item: EvalItem) -> tuple[set[str], list[str]]:
        docs: set[str] = set()
        texts: list[str] = []
        for e in item.evidence:
            if e in self.ids:
                docs.add(e)
            elif e in self.by_name:
                docs.update(self.by_name[e])
            else:
                texts.append(e)
        return docs, texts

    def relevant(self, item: EvalItem, docs: set[str], texts: list[str]) -> dict[str, int]:
        if item.relevant:
            return dict(item.relevant)
        if docs:
            return dict.fromkeys(docs, 1)
        if not texts:
            return {}
        if self._norm is None:
            self._norm = {d: f" {metrics.loose(self.bot.document_text(d))} " for d in self.ids}
        found = {d for d, text in self._norm.items() if any(f" {metrics.loose(t)} " in text for t in texts)}
        return dict.fromkeys(found, 1)


def ask_item(bot: Assistant, item: EvalItem) -> tuple[Answer, float]:
    """Ask an item's history (user turns), then its question, in one conversation; returns the
    answer and the seconds the question took."""
    chat = bot.chat()
    for turn in item.history:
        if turn["role"] == "user":
            chat.ask(turn["content"], within=item.within)
    started = time.perf_counter()
    answer = chat.ask(item.question, within=item.within)
    return answer, time.perf_counter() - started


def answer_text(answer: Answer) -> str:
    """The answer as a prediction: its sentences without markers; '' for a refusal."""
    return "" if answer.refused else strip_markers(answer.text)


def run_eval(
    bot: Assistant,
    items: Sequence[EvalItem],
    rankers: Sequence[Ranker] = (),
    progress: bool = True,
    rules: bool = False,
) -> EvalRun:
    """Answer and score every item; `rankers` are compared with the assistant's own retrieval. The
    reference answers: in llm mode the extractive ones, else with `rules` the hand-set rules'."""
    from tqdm import tqdm

    mode = bot.settings.answer_mode
    reference, name = None, None
    if mode == "llm":
        reference, name = bot.with_settings(answer_mode="extractive", llm=None), "extractive"
    elif rules:
        reference, name = bot.with_settings(reader=None), "rules"
    systems: list[Ranker] = [AssistantRanker(reference if mode == "llm" and reference else bot), *rankers]
    run = EvalRun(
        systems=[s.name for s in systems],
        rank_latency={s.name: [] for s in systems},
        answer_mode=mode,
        reference=name,
    )
    evidence = _Evidence(bot)
    full_rankings: dict[str, dict[str, list[str]]] = {}  # item id -> system -> documents, best first
    for item in tqdm(items, desc="questions", unit="q", disable=not progress):
        answer, seconds = ask_item(bot, item)
        docs, texts = evidence.split(item)
        relevant = evidence.relevant(item, docs, texts)
        rankings = full_rankings[item.id] = {}
        for system in systems:
            started = time.perf_counter()
            rankings[system.name] = system.rank(answer.resolved_question, RANK_DEPTH, item.within)
            run.rank_latency[system.name].append(time.perf_counter() - started)
        scored_reference = None
        if reference is not None:
            scored_reference = score(item, *ask_item(reference, item), docs, texts, relevant)
        row = EvalRow(
            item.id,
            item.group,
            item.question,
            answer.resolved_question,
            item.to_dict()["answers"],
            score(item, answer, seconds, docs, texts, relevant),
            relevant,
            {name: ranked[:10] for name, ranked in rankings.items()},
            {},
            scored_reference,
        )
        run.rows.append(row)
    qrels = {r.id: r.relevant for r in run.rows if r.relevant}
    if qrels:
        per_system = {
            name: metrics.ir_metrics({i: r[name] for i, r in full_rankings.items()}, qrels)
            for name in run.systems
        }
        run.rows = [
            replace(r, retrieval={name: m[r.id] for name, m in per_system.items() if r.id in m})
            for r in run.rows
        ]
    return run


def score(
    item: EvalItem,
    answer: Answer,
    seconds: float,
    docs: set[str],
    texts: list[str],
    relevant: Mapping[str, int],
) -> ScoredAnswer:
    """The answer and its scores: gold answer contained, SQuAD EM/F1, citations, sentence support."""
    prediction = answer_text(answer)
    # SQuAD EM/F1 apply to answer strings, or to unanswerable questions (gold ''), not to evidence-only items.
    flat = (not item.answers and not item.answerable) or bool(
        item.answers and isinstance(item.answers[0], str)
    )
    golds: list[str] = list(item.answers) if flat else []  # type: ignore[arg-type]
    cited_ok: list[bool] = []
    if not answer.refused and (docs or texts or relevant):
        for c in answer.citations:
            from_gold = c.doc_id in docs or c.doc_id in relevant
            cited_ok.append(from_gold or any(metrics.contains_text(c.quote, t) for t in texts))
    return ScoredAnswer(
        answerable=item.answerable,
        mode=answer.mode,
        refused=answer.refused,
        answer=answer.text,
        confidence=answer.confidence,
        unmatched_terms=answer.unmatched_terms,
        notice=answer.notice,
        contains_answer=(
            metrics.contains_answer(prediction, item.answers) if item.answerable and item.answers else None
        ),
        em=metrics.exact_match(prediction, golds) if flat else None,
        f1=metrics.f1_score(prediction, golds) if flat else None,
        citation_correct=any(cited_ok) if cited_ok else None,
        citation_precision=sum(cited_ok) / len(cited_ok) if cited_ok else None,
        citations=tuple({"n": c.n, "doc_id": c.doc_id, "quote": c.quote} for c in answer.citations),
        sentences=tuple(
            {"text": s.text, "sources": list(s.sources), "supported": s.supported, "support": s.support}
            for s in answer.sentences
        ),
        latency_ms=seconds * 1000.0,
    )


def summarize(
    rows: Sequence[EvalRow], systems: Sequence[str], llm: bool = False, reference: str | None = None
) -> dict[str, Any]:
    """Aggregate metrics over `rows` (all questions, or one group); `llm`: they were asked in llm
    mode; `reference`: each also holds the answer of that reference answerer, summed up under its name."""
    answerable = [r for r in rows if r.scored.answerable]
    out: dict[str, Any] = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(rows) - len(answerable),
        **answer_metrics([r.scored for r in rows], llm),
    }
    if reference:
        out[reference] = answer_metrics([r.reference for r in rows if r.reference], llm=False)
    retrieval: dict[str, dict[str, float]] = {}
    for name in systems:
        per_query = {r.id: r.retrieval[name] for r in rows if r.retrieval.get(name)}
        if per_query:
            retrieval[name] = {**metrics.mean_metrics(per_query), "queries": len(per_query)}
    out["retrieval"] = retrieval
    return out


def answer_metrics(answers: Sequence[ScoredAnswer], llm: bool = False) -> dict[str, Any]:
    """Answer quality, refusals and latency over scored answers.

    With `llm` (the answers were asked in llm mode): `sentences_supported`, the share of generated
    sentences their citations support, and `llm_fallbacks`, the share of questions where the LLM
    failed and the extractive answer stood in.
    """

    def mean(values: Sequence[float | bool | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(sum(known) / len(known)) if known else None

    answerable = [a for a in answers if a.answerable]
    sentences = [s for a in answers for s in a.sentences]
    return {
        "answered_answerable": mean([not a.refused for a in answerable]),
        "answer_contains_gold": mean([a.contains_answer for a in answers]),
        "squad_em": mean([a.em for a in answers]),
        "squad_f1": mean([a.f1 for a in answers]),
        "citation_correct": mean([a.citation_correct for a in answers]),
        "citation_precision": mean([a.citation_precision for a in answers]),
        **metrics.refusal_prf([a.refused for a in answers], [a.answerable for a in answers]),
        "sentences": len(sentences) if llm else None,
        "sentences_supported": mean([s["supported"] for s in sentences]),
        "llm_fallbacks": mean([a.mode != "llm" for a in answers]) if llm else None,
        **confident_answers(answers),
        **metrics.latency([a.latency_ms / 1000.0 for a in answers]),
    }


CONFIDENT = 0.8  # answers shown with at least this confidence should be right at least 90% of the time


def is_right(a: ScoredAnswer) -> bool | None:
    """Whether an answer (not a refusal) is right: the question has an answer, and the answer holds
    a gold answer (or, where the set has none, cites the evidence); None for a refusal."""
    if a.refused:
        return None
    if not a.answerable:
        return False
    known = a.contains_answer if a.contains_answer is not None else a.citation_correct
    return bool(known) if known is not None else None


def confident_answers(answers: Sequence[ScoredAnswer], at: float = CONFIDENT) -> dict[str, Any]:
    """How many answers were shown with confidence >= `at`, and the share of them that are right."""
    judged = [(a.confidence, is_right(a)) for a in answers if not a.refused]
    confident = [right for confidence, right in judged if confidence >= at and right is not None]
    return {
        "confident_answers": len(confident) if judged else None,
        "confident_right": sum(confident) / len(confident) if confident else None,
    }


def report_dict(run: EvalRun, meta: dict[str, Any]) -> dict[str, Any]:
    """Everything `report.json` holds: settings, overall and per-group metrics, system latencies."""
    groups = sorted({r.group for r in run.rows if r.group})
    llm = run.answer_mode == "llm"
    return {
        **meta,
        "overall": summarize(run.rows, run.systems, llm, run.reference),
        "groups": {
            g: summarize([r for r in run.rows if r.group == g], run.systems, llm, run.reference)
            for g in groups
        },
        "retrieval_latency": {name: metrics.latency(s) for name, s in run.rank_latency.items()},
        "systems": run.systems,
        "answer_mode": run.answer_mode,
        "reference": run.reference,
    }


def environment() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "rag_version": _version()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-assistant")
    except PackageNotFoundError:
        return "unknown"
