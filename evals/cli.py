"""`rag eval SET`: run an eval set and write its report folder (called by the `rag` command)."""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from pathlib import Path

from evals.adapters import ADAPTERS, NEEDS_SHARED, SPLITS, EvalTask, load_task
from evals.datasets import shared_datasets_dir
from evals.evalset import read_evalset
from evals.rankers import AssistantRanker, BM25Ranker, LlamaIndexRanker, Ranker
from evals.report import write_report
from evals.run import cached_index_dir, environment, open_corpus, report_dict, run_eval
from index.errors import InputError
from rag.assistant import Assistant, default_cache_dir
from rag.settings import Settings

BASELINES = ("dense", "bm25", "llama-index")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `eval` to the `rag` command. The caller adds `--mode` and sets `llm`, a function that
    returns the LLMConfig for llm mode (the entry point reads the environment, nothing here does)."""
    p = sub.add_parser(
        "eval",
        help="run an eval set and write a report (metrics, worst questions, plots)",
        description="SET is a built-in set (" + ", ".join(ADAPTERS) + ") or an eval-set .jsonl file.",
    )
    p.add_argument("set", metavar="SET")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index-dir", help="an index built earlier (for a .jsonl set)")
    where.add_argument(
        "--corpus", nargs="+", metavar="PATH", help="files or folders to index (cached by content)"
    )
    p.add_argument("--split", choices=SPLITS, help="a dataset's fixed split (default: test; bundled: all)")
    p.add_argument("--limit", type=int, help="a random sample of this many questions (seed 0)")
    p.add_argument(
        "--compare",
        nargs="?",
        const=",".join(BASELINES),
        default="",
        metavar="SYSTEMS",
        help=f"also rank with baselines, side by side (default with the flag: {','.join(BASELINES)})",
    )
    p.add_argument(
        "--reranker", help="CrossEncoder folder or name that re-orders the passages (default: none)"
    )
    p.add_argument("--out", help="report folder (default: eval-reports/SET-SPLIT)")
    p.add_argument("--data-dir", help="the shared datasets folder (default: ../shared/datasets)")
    p.add_argument("--cache-dir", help="where eval indexes are cached (default: ~/.cache/rag-assistant)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run, mode="extractive", llm=lambda: None)
    return p


def run(args: argparse.Namespace) -> int:
    """Run `rag eval`; `args.command_line` is recorded in the report."""
    started = time.perf_counter()
    cache = Path(args.cache_dir or default_cache_dir()) / "eval"
    progress = not args.quiet
    _compare_names(args.compare)  # a typo fails before anything is loaded
    task = _task(args, cache)
    items = list(task.items)
    if args.limit is not None:
        if args.limit < 1:
            raise InputError(f"--limit must be at least 1, not {args.limit}")
        if args.limit < len(items):
            keep = set(random.Random(0).sample(range(len(items)), args.limit))
            items = [item for i, item in enumerate(items) if i in keep]
    settings = Settings(reranker=args.reranker)
    if args.index_dir:
        bot = Assistant.load(args.index_dir)
        if args.reranker:
            bot = bot.with_settings(reranker=args.reranker)
    else:
        bot = open_corpus(task.corpus, cache, settings, progress)
    if args.mode == "llm":
        bot = bot.with_settings(answer_mode="llm", llm=args.llm())
    settings = bot.settings
    # baselines only rank documents: built on the extractive assistant, they hold no LLM client
    rankers = _baselines(
        args.compare, bot.with_settings(answer_mode="extractive", llm=None), cache, task, progress
    )
    run_ = run_eval(bot, items, rankers, progress=progress)
    meta = {
        "set": task.name,
        "split": task.split,
        "command": getattr(args, "command_line", "rag eval"),
        "notes": task.notes,
        "anchors": [
            {"system": system, "metric": metric, "published": value, "source": source}
            for system, metric, value, source in task.anchors
        ],
        "index": str(bot.store.path),
        "documents": len(bot.store.documents),
        "chunks": len(bot.store.chunks),
        "settings": {
            "model": bot.store.model,
            **bot.store.chunking,
            "top_k": settings.top_k,
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
    write_report(out, run_, report, settings.refusal_threshold)
    print(_summary(report, out))
    failed = [r["notice"] for r in run_.rows if r["mode"] != settings.answer_mode]
    if failed:
        print(f"the LLM failed on {len(failed)} of {len(run_.rows)} questions, e.g.: {failed[0]}")
    return 0


def _task(args: argparse.Namespace, cache: Path) -> EvalTask:
    if args.set in ADAPTERS:
        data = Path(args.data_dir) if args.data_dir else shared_datasets_dir()
        split = args.split or ("test" if args.set in NEEDS_SHARED else "all")
        task = load_task(args.set, split, data, cache / "data")
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


def _baselines(spec: str, bot: Assistant, cache: Path, task: EvalTask, progress: bool) -> list[Ranker]:
    rankers: list[Ranker] = []
    for name in _compare_names(spec):
        if name == "dense":
            rankers.append(
                AssistantRanker(bot.with_settings(retriever="dense", reranker=None), "dense alone (FAISS)")
            )
        elif name == "bm25":
            rankers.append(BM25Ranker(bot))
        else:
            where = cached_index_dir(task.corpus, bot.settings.index, cache) if task.corpus else None
            rankers.append(
                LlamaIndexRanker(bot, where.with_name(where.name + "-llama-index") if where else None)
            )
    return rankers


def _compare_names(spec: str) -> list[str]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise InputError(f"unknown --compare system(s) {unknown}; choose from {', '.join(BASELINES)}")
    return names


def _summary(report: dict[str, object], out: Path) -> str:
    overall = report["overall"]
    assert isinstance(overall, dict)
    lines = [
        f"{report['set']} ({report['split']}): {overall['questions']} questions in {report['seconds']} s"
    ]
    extractive = overall.get("extractive", {})
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
            beside = f" (extractive {extractive[key]:.4f})" if extractive.get(key) is not None else ""
            lines.append(f"  {key}: {overall[key]:.4f}{beside}")
    for name, m in overall["retrieval"].items():
        lines.append(
            f"  {name}: nDCG@10 {m['ndcg@10']:.4f}, recall@100 {m['recall@100']:.4f}, MRR@10 {m['mrr@10']:.4f}"
        )
    lines.append(f"report: {out}/report.md")
    return "\n".join(lines)
