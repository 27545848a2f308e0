"""Write an eval's report folder: report.json, report.md, results.jsonl and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.run import EvalRow, EvalRun, is_right
from rag.cite import one_line

ANSWER_METRICS = [
    ("answered_answerable", "answerable questions answered"),
    ("answer_contains_gold", "answer contains a gold answer"),
    ("squad_em", "SQuAD EM"),
    ("squad_f1", "SQuAD F1"),
    ("citation_correct", "citation correct (any)"),
    ("citation_precision", "citations correct (share)"),
    ("refusal_precision", "refusal precision"),
    ("refusal_recall", "refusal recall"),
    ("refusal_f1", "refusal F1"),
    ("refused_answerable", "answerable questions refused"),
    ("sentences", "sentences generated (llm)"),
    ("sentences_supported", "sentences supported by their citations (llm)"),
    ("llm_fallbacks", "questions where the LLM failed (extractive shown)"),
    ("confident_answers", "answers shown with confidence >= 0.8"),
    ("confident_right", "of those, right"),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
    ("latency_max_ms", "latency max (ms)"),
]
RETRIEVAL_METRICS = ["ndcg@10", "recall@5", "recall@10", "recall@100", "mrr@10", "hit@1", "hit@5", "hit@10"]


def write_report(out: Path, run: EvalRun, report: dict[str, Any], threshold: float) -> list[Path]:
    """Write the report folder; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for row in run.rows:
            f.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
    (out / "report.md").write_text(markdown(run, report), encoding="utf-8")
    files = [out / "report.json", out / "report.md", out / "results.jsonl"]
    return files + plots(out, run, threshold)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4f}"
    return str(value)


def markdown(run: EvalRun, report: dict[str, Any]) -> str:
    overall = report["overall"]
    lines = [
        f"# Eval: {report['set']} ({report['split']} split)",
        "",
        f"Command: `{report['command']}`",
        "",
        f"{report.get('notes', '')}",
        "",
        f"{overall['questions']} questions ({overall['answerable']} answerable, "
        f"{overall['unanswerable']} unanswerable); answer mode: {_mode(report)}; "
        + _decides(report["settings"]),
        f"top_k {report['settings']['top_k']}; reranker: {report['settings'].get('reranker') or 'none'}.",
        "",
    ]
    columns = ["all", *report["groups"]]
    sections = [overall, *report["groups"].values()]
    lines += ["## Answers (the assistant)", "", "| metric | " + " | ".join(columns) + " |"]
    lines.append("|---" * (len(columns) + 1) + "|")
    for key, label in ANSWER_METRICS:
        values = [s.get(key) for s in sections]
        if any(v is not None for v in values):
            lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in values) + " |")
    if report.get("reference") in overall:
        lines += _beside(report)
    retrieval = overall["retrieval"]
    if retrieval:
        lines += [
            "",
            f"## Retrieval (documents ranked; {next(iter(retrieval.values()))['queries']} questions with gold documents)",
            "",
            "| system | " + " | ".join(RETRIEVAL_METRICS) + " | p50 ms | p95 ms |",
            "|---" * (len(RETRIEVAL_METRICS) + 3) + "|",
        ]
        for name, m in retrieval.items():
            lat = report["retrieval_latency"].get(name, {})
            lines.append(
                f"| {name} | "
                + " | ".join(_fmt(m.get(k)) for k in RETRIEVAL_METRICS)
                + f" | {_fmt(lat.get('latency_p50_ms'))} | {_fmt(lat.get('latency_p95_ms'))} |"
            )
    lines += _anchors(report)
    lines += ["", "## Worst questions", "", *_worst(run.rows)]
    lines += [
        "",
        "Plots: `scores.png`, `answered.png`, `latency.png`, `reliability.png`. Per-question rows: `results.jsonl`.",
        "",
    ]
    return "\n".join(lines)


def _decides(settings: dict[str, Any]) -> str:
    """What chose the sentences and refused: the reader and its threshold, or the rules'."""
    if settings.get("reader"):
        return f"reader '{settings['reader']}', refusal threshold {settings['reader_threshold']}; "
    return (
        f"hand-set rules, refusal threshold {settings['refusal_threshold']} "
        f"(unmatched-term penalty {settings.get('unmatched_penalty', 0.0)}); "
    )


def _mode(report: dict[str, Any]) -> str:
    llm = report.get("settings", {}).get("llm")
    return (
        f"llm ({llm})"
        if report.get("answer_mode") == "llm" and llm
        else report.get("answer_mode", "extractive")
    )


def _beside(report: dict[str, Any]) -> list[str]:
    """The answers next to the reference answerer's answers to the same questions."""
    overall, name = report["overall"], report["reference"]
    mine = "llm mode" if report.get("answer_mode") == "llm" else "reader"
    out = [
        "",
        f"## {mine} next to {name} (the same questions)",
        "",
        f"| metric | {mine} | {name} |",
        "|---|---|---|",
    ]
    for key, label in ANSWER_METRICS:
        value, theirs = overall.get(key), overall[name].get(key)
        if value is not None or theirs is not None:
            out.append(f"| {label} | {_fmt(value)} | {_fmt(theirs)} |")
    return out


def _anchors(report: dict[str, Any]) -> list[str]:
    """Published figures next to the same system's figure in this run."""
    retrieval = report["overall"]["retrieval"]
    rows = [a for a in report.get("anchors", []) if a["system"] in retrieval]
    if not rows:
        return []
    out = [
        "",
        "## Published anchors",
        "",
        "| system here | metric | here | published | difference | published for |",
        "|---|---|---|---|---|---|",
    ]
    for a in rows:
        here = retrieval[a["system"]][a["metric"]]
        out.append(
            f"| {a['system']} | {a['metric']} | {here:.4f} | {a['published']:.4f} | "
            f"{here - a['published']:+.4f} | {a['source']} |"
        )
    return out


def _worst(rows: Sequence[EvalRow], n: int = 12) -> list[str]:
    """Wrong refusals and wrong answers first, then confident answers to unanswerable questions."""

    def badness(r: EvalRow) -> float:
        a = r.scored
        if a.answerable:
            if a.refused:
                return 3.0 - a.confidence
            miss = (a.contains_answer is False) + (a.citation_correct is False)
            first = next(iter(r.retrieval.values()), {})
            return float(miss) + (1.0 - first.get("ndcg@10", 1.0))
        return 1.0 + a.confidence if not a.refused else -1.0

    worst = sorted(rows, key=badness, reverse=True)[:n]
    out = ["| id | question | expected | got |", "|---|---|---|---|"]
    for r in worst:
        a = r.scored
        expected = "refusal" if not a.answerable else ", ".join(map(str, r.answers[:3])) or "(evidence only)"
        got = "refused" if a.refused else a.answer
        out.append(
            f"| {r.id} | {_cell(r.question)} | {_cell(expected)} | {_cell(got)} (conf {a.confidence:.2f}) |"
        )
    return out


def _cell(text: str, limit: int = 160) -> str:
    text = one_line(str(text)).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plots(out: Path, run: EvalRun, threshold: float) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = run.rows
    written = []

    fig, ax = plt.subplots(figsize=(7, 4))
    for answerable, label, color in ((True, "answerable", "#2563eb"), (False, "unanswerable", "#dc2626")):
        scores = [r.scored.confidence for r in rows if r.scored.answerable is answerable]
        if scores:
            ax.hist(scores, bins=30, alpha=0.6, label=f"{label} ({len(scores)})", color=color)
    ax.axvline(threshold, color="black", linestyle="--", label=f"refusal threshold {threshold}")
    ax.set_xlabel("evidence score (answer confidence)")
    ax.set_ylabel("questions")
    ax.set_title("Evidence scores")
    ax.legend()
    written.append(_save(fig, out / "scores.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    kinds = [("answerable", True), ("unanswerable", False)]
    answered = [sum(r.scored.answerable is a and not r.scored.refused for r in rows) for _, a in kinds]
    refused = [sum(r.scored.answerable is a and r.scored.refused for r in rows) for _, a in kinds]
    names = [k for k, _ in kinds]
    ax.bar(names, answered, label="answered", color="#16a34a")
    ax.bar(names, refused, bottom=answered, label="refused", color="#9ca3af")
    ax.set_ylabel("questions")
    ax.set_title("Answered vs refused")
    ax.legend()
    written.append(_save(fig, out / "answered.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist([r.scored.latency_ms for r in rows], bins=40, color="#7c3aed")
    ax.set_xlabel("ms per question (retrieve + answer, warm)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    written.append(_save(fig, out / "latency.png"))
    written.append(reliability_plot(out / "reliability.png", rows))
    return written


def reliability_plot(path: Path, rows: Sequence[EvalRow], bins: int = 10) -> Path:
    """The share of answers that are right against the confidence they were shown with (binned):
    a calibrated confidence lies on the diagonal."""
    import matplotlib.pyplot as plt

    judged = [(r.scored.confidence, is_right(r.scored)) for r in rows if not r.scored.refused]
    pairs = [(min(max(c, 0.0), 1.0), bool(right)) for c, right in judged if right is not None]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="#9ca3af", linestyle="--", label="calibrated")
    centres, shares, counts = [], [], []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [right for c, right in pairs if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if inside:
            centres.append((lo + hi) / 2)
            shares.append(sum(inside) / len(inside))
            counts.append(len(inside))
    ax.plot(centres, shares, marker="o", color="#2563eb", label="answers")
    for x, y, n in zip(centres, shares, counts, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("confidence shown")
    ax.set_ylabel("share right")
    ax.set_title(f"Reliability ({len(pairs)} answers; labels: answers per bin)")
    ax.legend(loc="upper left")
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
