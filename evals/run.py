"""Run an eval set through the same `Assistant` the chat uses, and score every question.

Each question is answered (follow-ups after their history, in one conversation) and, for every
system compared, its documents are ranked for the retrieval metrics. In llm answer mode every
question is also answered extractively, so the report sets the two modes side by side.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals import metrics
from evals.evalset import EvalItem
from evals.rankers import AssistantRanker, Ranker
from index.load import find_files
from index.settings import IndexSettings
from rag.assistant import Assistant
from rag.chat import resolve
from rag.settings import Settings
from rag.types import Answer

RANK_DEPTH = 100
_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass
class EvalRun:
    """Per-question rows and the systems compared; `summary()` aggregates them.

    In llm mode each row also holds, under "extractive", the same question answered extractively.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    rank_latency: dict[str, list[float]] = field(default_factory=dict)
    answer_mode: str = "extractive"


def cached_index_dir(corpus: Sequence[Path], settings: IndexSettings, cache: Path) -> Path:
    """An index folder named by the corpus files' content and the index settings."""
    digest = hashlib.sha256(repr(sorted(vars(settings).items())).encode())
    for path in sorted(find_files(corpus)[0]):
        digest.update(path.name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return cache / f"index-{digest.hexdigest()[:16]}"


def open_corpus(corpus: Sequence[Path], cache: Path, settings: Settings, progress: bool) -> Assistant:
    """The assistant on `corpus`, from the cache when this corpus was indexed with these settings."""
    index_dir = cached_index_dir(corpus, settings.index, cache)
    if (index_dir / "manifest.json").exists():
        return Assistant.load(index_dir, settings)
    return Assistant.build(list(corpus), index_dir, settings, progress=progress)


class _Evidence:
    """Resolves evidence entries to gold documents (ids or file names) and text snippets."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot
        self.by_name: dict[str, list[str]] = {}
        for d in bot.store.documents.values():
            self.by_name.setdefault(Path(d.source.split("#")[0]).name, []).append(d.doc_id)
        self._norm: dict[str, str] | None = None

    def split(self, item: EvalItem) -> tuple[set[str], list[str]]:
        docs: set[str] = set()
        texts: list[str] = []
        for e in item.evidence:
            if e in self.bot.store.documents:
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
            self._norm = {d: f" {metrics.loose(self.bot.store.text(d))} " for d in self.bot.store.documents}
        found = {d for d, text in self._norm.items() if any(f" {metrics.loose(t)} " in text for t in texts)}
        return dict.fromkeys(found, 1)


def ask_item(bot: Assistant, item: EvalItem) -> tuple[Answer, float]:
    """Ask an item's history (user turns) and then its question; returns the answer and its seconds."""
    history: list[Answer] = []
    for turn in item.history:
        if turn["role"] == "user":
            q = turn["content"]
            history.append(bot.ask(q, followup=resolve(q, history), within=item.within))
    started = time.perf_counter()
    answer = bot.ask(item.question, followup=resolve(item.question, history), within=item.within)
    return answer, time.perf_counter() - started


def answer_text(answer: Answer) -> str:
    """The answer as a prediction: its sentences without markers; '' for a refusal."""
    return "" if answer.refused else _MARKER.sub("", answer.text).strip()


def run_eval(
    bot: Assistant,
    items: Sequence[EvalItem],
    rankers: Sequence[Ranker] = (),
    progress: bool = True,
) -> EvalRun:
    """Answer and score every item; `rankers` are compared with the assistant's own retrieval."""
    from tqdm import tqdm

    mode = bot.settings.answer_mode
    # in llm mode the extractive answers are the reference the report compares with
    extractive = bot.with_settings(answer_mode="extractive", llm=None) if mode == "llm" else None
    systems: list[Ranker] = [AssistantRanker(extractive or bot), *rankers]
    run = EvalRun(
        systems=[s.name for s in systems], rank_latency={s.name: [] for s in systems}, answer_mode=mode
    )
    evidence = _Evidence(bot)
    for item in tqdm(items, desc="questions", unit="q", disable=not progress):
        answer, seconds = ask_item(bot, item)
        docs, texts = evidence.split(item)
        relevant = evidence.relevant(item, docs, texts)
        rankings: dict[str, list[str]] = {}
        for system in systems:
            started = time.perf_counter()
            rankings[system.name] = system.rank(answer.resolved_question, RANK_DEPTH, item.within)
            run.rank_latency[system.name].append(time.perf_counter() - started)
        row = _row(item, answer, _scored(item, answer, seconds, docs, texts, relevant), relevant, rankings)
        if extractive is not None:
            reference, ref_seconds = ask_item(extractive, item)
            row["extractive"] = _scored(item, reference, ref_seconds, docs, texts, relevant)
        run.rows.append(row)
    if any(r["relevant"] for r in run.rows):
        for name in run.systems:
            per_query = metrics.ir_metrics(
                {r["id"]: r["_rankings_full"][name] for r in run.rows},
                {r["id"]: r["relevant"] for r in run.rows},
            )
            for r in run.rows:
                r.setdefault("retrieval", {})[name] = per_query.get(r["id"])
    return run


def _row(
    item: EvalItem,
    answer: Answer,
    scored: dict[str, Any],
    relevant: dict[str, int],
    rankings: dict[str, list[str]],
) -> dict[str, Any]:
    return {
        "id": item.id,
        "group": item.group,
        "question": item.question,
        "resolved_question": answer.resolved_question,
        "answers": item.to_dict()["answers"],
        **scored,
        "relevant": relevant,
        "rankings": {name: ranked[:10] for name, ranked in rankings.items()},
        "_rankings_full": rankings,
    }


def _scored(
    item: EvalItem,
    answer: Answer,
    seconds: float,
    docs: set[str],
    texts: list[str],
    relevant: dict[str, int],
) -> dict[str, Any]:
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
    return {
        "answerable": item.answerable,
        "mode": answer.mode,
        "refused": answer.refused,
        "answer": answer.text,
        "confidence": answer.confidence,
        "unmatched_terms": list(answer.unmatched_terms),
        "notice": answer.notice,
        "contains_answer": metrics.contains_answer(prediction, item.answers)
        if item.answerable and item.answers
        else None,
        "em": metrics.exact_match(prediction, golds) if flat else None,
        "f1": metrics.f1_score(prediction, golds) if flat else None,
        "citation_correct": any(cited_ok) if cited_ok else None,
        "citation_precision": sum(cited_ok) / len(cited_ok) if cited_ok else None,
        "citations": [{"n": c.n, "doc_id": c.doc_id, "quote": c.quote} for c in answer.citations],
        "sentences": [
            {"text": s.text, "sources": list(s.sources), "supported": s.supported, "support": s.support}
            for s in answer.sentences
        ],
        "latency_ms": seconds * 1000.0,
    }


def summarize(rows: Sequence[dict[str, Any]], systems: Sequence[str], llm: bool = False) -> dict[str, Any]:
    """Aggregate metrics over `rows` (all questions, or one group); `llm`: they were asked in llm
    mode, and each also holds its extractive answer."""
    answerable = [r for r in rows if r["answerable"]]
    out: dict[str, Any] = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(rows) - len(answerable),
        **answer_metrics(rows, llm),
    }
    if llm:
        out["extractive"] = answer_metrics([r["extractive"] for r in rows], llm=False)
    retrieval: dict[str, dict[str, float]] = {}
    for name in systems:
        per_query = {r["id"]: r["retrieval"][name] for r in rows if r.get("retrieval", {}).get(name)}
        if per_query:
            retrieval[name] = {**metrics.mean_metrics(per_query), "queries": len(per_query)}
    out["retrieval"] = retrieval
    return out


def answer_metrics(rows: Sequence[dict[str, Any]], llm: bool = False) -> dict[str, Any]:
    """Answer quality, refusals and latency over scored answers (see `_scored`).

    With `llm` (the rows were asked in llm mode): `sentences_supported`, the share of generated
    sentences their citations support, and `llm_fallbacks`, the share of questions where the LLM
    failed and the extractive answer stood in.
    """

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return float(sum(values) / len(values)) if values else None

    answerable = [r for r in rows if r["answerable"]]
    sentences = [s for r in rows for s in r["sentences"]]
    return {
        "answered_answerable": (
            sum(not r["refused"] for r in answerable) / len(answerable) if answerable else None
        ),
        "answer_contains_gold": mean("contains_answer"),
        "squad_em": mean("em"),
        "squad_f1": mean("f1"),
        "citation_correct": mean("citation_correct"),
        "citation_precision": mean("citation_precision"),
        **metrics.refusal_prf([r["refused"] for r in rows], [r["answerable"] for r in rows]),
        "sentences": len(sentences) if llm else None,
        "sentences_supported": (
            sum(s["supported"] for s in sentences) / len(sentences) if sentences else None
        ),
        "llm_fallbacks": sum(r["mode"] != "llm" for r in rows) / len(rows) if llm and rows else None,
        **metrics.latency([r["latency_ms"] / 1000.0 for r in rows]),
    }


def report_dict(run: EvalRun, meta: dict[str, Any]) -> dict[str, Any]:
    """Everything `report.json` holds: settings, overall and per-group metrics, system latencies."""
    groups = sorted({r["group"] for r in run.rows if r["group"]})
    llm = run.answer_mode == "llm"
    return {
        **meta,
        "overall": summarize(run.rows, run.systems, llm),
        "groups": {g: summarize([r for r in run.rows if r["group"] == g], run.systems, llm) for g in groups},
        "retrieval_latency": {name: metrics.latency(s) for name, s in run.rank_latency.items()},
        "systems": run.systems,
        "answer_mode": run.answer_mode,
    }


def environment() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "rag_version": _version()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-assistant")
    except PackageNotFoundError:
        return "unknown"
