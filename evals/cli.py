"""`rag eval SET` (also `python -m evals SET`): run an eval set and write its report folder.

Environment variables are read here, at this entry point: RAG_ANSWER_MODE and RAG_LLM_* (llm mode),
RAG_SHARED_DATASETS (the shared datasets folder), RAG_DEBUG=1 (show tracebacks).
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from evals.adapters import ADAPTERS, SPLITS, EvalTask, load_task
from evals.datasets import eval_cache_dir, shared_datasets_dir
from evals.evalset import read_evalset
from evals.rankers import AssistantRanker, BM25Ranker, LlamaIndexRanker, Ranker
from evals.report import write_report
from evals.run import environment, report_dict, run_eval
from rag import Assistant, InputError, Settings
from rag.entry import add_mode_argument, mode_settings, run_command

BASELINES = ("dense", "bm25", "llama-index")  # retrieval systems
COMPARED = (*BASELINES, "rules")  # "rules": the hand-set answer rules, next to the reader


def main(argv: Sequence[str] | None = None) -> int:
    """Run `rag eval`; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    args.command_line = "rag eval " + shlex.join(argv)
    code: int = run_command(lambda: run(args))
    return code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rag eval",
        description="Run an eval set and write a report (metrics, worst questions, plots). "
        "SET is a built-in set (" + ", ".join(ADAPTERS) + ") or an eval-set .jsonl file.",
    )
    p.add_argument("set", metavar="SET")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index-dir", help="an index built earlier (for a .jsonl set)")
    where.add_argument(
        "--corpus", nargs="+", metavar="PATH", help="files or folders to index (cached by content)"
    )
    p.add_argument("--split", choices=SPLITS, help="a dataset's fixed split (default: test)")
    p.add_argument("--limit", type=int, help="a random sample of this many questions (seed 0)")
    p.add_argument(
        "--compare",
        nargs="?",
        const=",".join(COMPARED),
        default="",
        metavar="SYSTEMS",
        help="also rank with baselines and answer with the hand-set rules, side by side "
        f"(default with the flag: {','.join(COMPARED)})",
    )
    p.add_argument(
        "--reranker", help="CrossEncoder folder or name that re-orders the passages (default: none)"
    )
    add_mode_argument(p, os.environ)
    p.add_argument("--out", help="report folder (default: eval-reports/SET-SPLIT)")
    p.add_argument("--data-dir", help="the shared datasets folder (default: ../shared/datasets)")
    p.add_argument("--cache-dir", help="where eval indexes are cached (default: ~/.cache/rag-assistant/eval)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    """Run `rag eval` with parsed arguments; `args.command_line` is recorded in the report."""
    started = time.perf_counter()
    cache = eval_cache_dir(args.cache_dir)
    progress = not args.quiet
    _compare_names(args.compare)  # a typo or a missing LLM fails before anything is loaded
    settings = Settings(reranker=args.reranker, **mode_settings(args.mode, os.environ))
    task = _task(args, cache)
    items = list(task.items)
    if args.limit is not None:
        if args.limit < 1:
            raise InputError(f"--limit must be at least 1, not {args.limit}")
        if args.limit < len(items):
            keep = set(random.Random(0).sample(range(len(items)), args.limit))
            items = [item for i, item in enumerate(items) if i in keep]
    if args.index_dir:
        bot = Assistant.load(args.index_dir, settings)
    else:
        bot = Assistant.cached(task.corpus, cache, settings, progress)
    settings = bot.settings
    info = bot.info()
    # baselines only rank documents: built on the extractive assistant without a reranker
    baseline = bot.with_settings(answer_mode="extractive", llm=None, reranker=None)
    # llama-index's cached index sits beside ours, when ours is a cached one
    llama_cache = None if args.index_dir else Path(info.path + "-llama-index")
    rankers = _baselines(args.compare, baseline, llama_cache, progress)
    rules = "rules" in _compare_names(args.compare) and settings.reader is not None
    run_ = run_eval(bot, items, rankers, progress=progress, rules=rules)
    meta = {
        "set": task.name,
        "split": task.split,
        "command": getattr(args, "command_line", "rag eval"),
        "notes": task.notes,
        "anchors": [
            {"system": system, "metric": metric, "published": value, "source": source}
            for system, metric, value, source in task.anchors
        ],
        "index": info.path,
        "documents": info.documents,
        "chunks": info.chunks,
        "settings": {
            "model": info.model,
            "chunk_size": info.chunk_size,
            "chunk_overlap": info.chunk_overlap,
            "top_k": settings.top_k,
            "reader": settings.reader,
            "reader_threshold": settings.reader_threshold if settings.reader else None,
            "refusal_threshold": settings.refusal_threshold,
            "unmatched_penalty": settings.unmatched_penalty,
            "reranker": settings.reranker,
            "answer_mode": settings.answer_mode,
            "llm": settings.llm.describe() if settings.llm else None,
            "support_threshold": settings.support_threshold if settings.llm else None,
        },
        "environment": environment(),
        "seconds": None,
    }
    report = report_dict(run_, meta)
    report["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out or Path("eval-reports") / f"{task.name}-{task.split}")
    write_report(
        out, run_, report, settings.reader_threshold if settings.reader else settings.refusal_threshold
    )
    print(_summary(report, out))
    failed = [r.scored.notice for r in run_.rows if r.scored.mode != settings.answer_mode]
    if failed:
        print(f"the LLM failed on {len(failed)} of {len(run_.rows)} questions, e.g.: {failed[0]}")
    return 0


def _task(args: argparse.Namespace, cache: Path) -> EvalTask:
    if args.set in ADAPTERS:
        data = Path(args.data_dir) if args.data_dir else shared_datasets_dir()
        task = load_task(args.set, args.split or "test", data, cache / "data")
        if args.corpus:
            task = replace(task, corpus=tuple(Path(p) for p in args.corpus))
        return task
    path = Path(args.set)
    if path.suffix != ".jsonl" and not path.exists():
        raise InputError(
            f"unknown eval set '{args.set}'; built-in sets: {', '.join(ADAPTERS)}, or a .jsonl path"
        )
    if not (args.index_dir or args.corpus):
        raise InputError(f"eval set '{args.set}' needs its documents: add --index-dir DIR or --corpus PATH")
    if args.split not in (None, "all"):
        raise InputError(f"a .jsonl eval set has no '{args.split}' split; leave out --split")
    corpus = tuple(Path(p) for p in args.corpus or ())
    return EvalTask(path.stem, "all", corpus, tuple(read_evalset(path)))


def _baselines(spec: str, bot: Assistant, llama_cache: Path | None, progress: bool) -> list[Ranker]:
    rankers: list[Ranker] = []
    for name in _compare_names(spec):
        if name == "rules":
            continue
        if name == "dense":
            rankers.append(AssistantRanker(bot, retriever="dense", name="dense alone (FAISS)"))
        elif name == "bm25":
            rankers.append(BM25Ranker(bot))
        else:
            rankers.append(LlamaIndexRanker(bot, llama_cache, progress))
    return rankers


def _compare_names(spec: str) -> list[str]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in COMPARED]
    if unknown:
        raise InputError(f"unknown --compare system(s) {unknown}; choose from {', '.join(COMPARED)}")
    return names


def _summary(report: dict[str, object], out: Path) -> str:
    overall = report["overall"]
    assert isinstance(overall, dict)
    lines = [
        f"{report['set']} ({report['split']}): {overall['questions']} questions in {report['seconds']} s"
    ]
    reference = str(report.get("reference") or "")
    theirs = overall.get(reference, {})
    for key in (
        "answered_answerable",
        "answer_contains_gold",
        "citation_correct",
        "refusal_f1",
        "sentences_supported",
        "llm_fallbacks",
        "latency_p50_ms",
    ):
        if overall.get(key) is not None:
            beside = f" ({reference} {theirs[key]:.4f})" if theirs.get(key) is not None else ""
            lines.append(f"  {key}: {overall[key]:.4f}{beside}")
    for name, m in overall["retrieval"].items():
        lines.append(
            f"  {name}: nDCG@10 {m['ndcg@10']:.4f}, recall@100 {m['recall@100']:.4f}, MRR@10 {m['mrr@10']:.4f}"
        )
    lines.append(f"report: {out}/report.md")
    return "\n".join(lines)
