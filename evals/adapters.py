"""Built-in eval sets: the public datasets in `../shared/datasets/` and the bundled set.

Each adapter turns a dataset into a corpus to index and `EvalItem`s, on its fixed split
(`dev`, `test`, or `all`). Corpora that need reshaping are written once under the cache folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from evals.datasets import read_ids, read_jsonl, scifact_qrels
from evals.evalset import EvalItem, read_evalset
from index.atomic import write_text
from rag import InputError
from rag.assistant import bundled_corpus_dir

SPLITS = ("dev", "test", "all")


@dataclass(frozen=True)
class EvalTask:
    """What `rag eval` runs: a corpus, the questions, and notes for the report."""

    name: str
    split: str
    corpus: tuple[Path, ...]
    items: tuple[EvalItem, ...]
    notes: str = ""
    # (system in this run, metric, published value, where it was published)
    anchors: tuple[tuple[str, str, float, str], ...] = ()


# What each report says about its data
SCIFACT_NOTES = (
    "BEIR SciFact: 5,183 abstracts (title + text); queries with test qrels; retrieval metrics on "
    "documents. No answer strings, so answer accuracy does not apply; a citation is correct when it "
    "quotes a gold abstract. The published anchors are for all 300 test queries (`--split all`). "
    "Protocols differ: MTEB embeds each whole abstract, truncated at MiniLM's 256 word pieces, and "
    "llama-index's stock pipeline (1,024-token chunks, the same truncation) is the closest to it; "
    "our dense search embeds 128-token chunks and ranks an abstract by its best chunk, so no part of "
    "a long abstract is cut off. The bm25s baseline indexes whole documents, as MTEB's bm25s "
    "baseline does; our hybrid retriever's BM25 runs over the same 128-token chunks as its dense side."
)
SQUAD_NOTES = (
    "SQuAD 2.0 dev (reconstructed): the 1,204 paragraphs are the corpus. NoAns questions are "
    "adversarial: written to look answerable from the same paragraph."
)
RGB_NOTES = (
    "RGB English (en_5pos5neg). Each question searches only its own passages: 'noise' = its "
    "positive and negative passages together (5 + 5 for most questions, noise rate 0.5); "
    "'rejection' = its negative passages only (RGB noise rate 1.0), where the right output is a "
    "refusal. Counterfactual and integration subsets are not run."
)
MULTIHOP_NOTES = (
    "MultiHop-RAG 500-query sample. The article corpus is not available, so the corpus is the "
    "pool of 438 gold evidence sentences: retrieval numbers are NOT comparable to the paper. "
    "Answers are mostly yes/no or entity names, which an extractive answerer quotes rather than says."
)
BUNDLED_NOTES = (
    "The bundled eval set, written for the bundled cross-border e-commerce corpus: single questions "
    "(several paraphrased away from the text's wording), follow-ups asked after their history, "
    "questions about things the corpus does not mention ('unanswerable') and questions about names "
    "the corpus does mention but facts it does not give ('unanswerable-named'). The dev split is for "
    "calibration and tuning; the test split is for reporting."
)

BUNDLED_SETS = {"test": "bundled.jsonl", "dev": "bundled_dev.jsonl"}


def bundled_set_path(split: str = "test") -> Path:
    """The bundled eval set's questions for `split` (dev or test)."""
    return Path(str(resources.files("evals") / "sets" / BUNDLED_SETS[split]))


def _split_ids(folder: Path, split: str) -> set[str] | None:
    if split == "all":
        return None
    return set(read_ids(folder / f"{split}_ids.txt"))


def _write_jsonl(rows: Iterable[dict[str, Any]], dest: Path) -> Path:
    """Write `rows` to `dest` unless an identical file is there (keeps the index cache warm)."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if not (dest.exists() and dest.read_text(encoding="utf-8") == text):
        write_text(dest, text)
    return dest


SCIFACT_ANCHORS = (
    ("bm25 (bm25s)", "ndcg@10", 0.68736, "bm25s, MTEB baseline (all 300 test queries)"),
    ("bm25 (bm25s)", "ndcg@10", 0.6789, "Anserini BM25 flat (all 300)"),
    ("bm25 (bm25s)", "ndcg@10", 0.6647, "Anserini BM25 multifield (all 300)"),
    ("llama-index (stock)", "ndcg@10", 0.64508, "all-MiniLM-L6-v2, MTEB (all 300; whole abstracts)"),
    ("dense alone (FAISS)", "ndcg@10", 0.64508, "all-MiniLM-L6-v2, MTEB (all 300; whole abstracts)"),
)


def scifact(data: Path, split: str, work: Path) -> EvalTask:
    folder = data / "beir_scifact"
    keep = _split_ids(folder, split)
    qrels = scifact_qrels(data, "test")
    queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(folder / "queries.jsonl")}
    items = [
        EvalItem(id=qid, question=queries[qid], evidence=tuple(rel), relevant=rel)
        for qid, rel in sorted(qrels.items(), key=lambda kv: int(kv[0]))
        if keep is None or qid in keep
    ]
    return EvalTask(
        "scifact", split, (folder / "corpus.jsonl",), tuple(items), SCIFACT_NOTES, SCIFACT_ANCHORS
    )


def squad(data: Path, split: str, work: Path) -> EvalTask:
    folder = data / "squad_v2_dev"
    keep = _split_ids(folder, split)
    corpus = _write_jsonl(
        (
            {"id": p["paragraph_id"], "title": p["title"], "text": p["context"]}
            for p in read_jsonl(folder / "paragraphs.jsonl")
        ),
        work / "squad_v2_dev_paragraphs.jsonl",
    )
    items = []
    for q in read_jsonl(folder / "questions.jsonl"):
        if keep is not None and q["id"] not in keep:
            continue
        answerable = not q["is_impossible"]
        pid = str(q["paragraph_id"])
        items.append(
            EvalItem(
                id=str(q["id"]),
                question=str(q["question"]),
                answers=tuple(dict.fromkeys(str(a) for a in q["answers"])),  # type: ignore[attr-defined]
                answerable=answerable,
                evidence=(pid,) if answerable else (),
                relevant={pid: 1} if answerable else {},
                group="HasAns" if answerable else "NoAns",
            )
        )
    return EvalTask("squad", split, (corpus,), tuple(items), SQUAD_NOTES)


def rgb(data: Path, split: str, work: Path) -> EvalTask:
    folder = data / "rgb_en"
    keep = _split_ids(folder, split)
    rows: list[dict[str, Any]] = []
    items: list[EvalItem] = []
    for q in read_jsonl(folder / "en_5pos5neg.jsonl"):
        cid = f"en:{q['id']}"
        pos = [f"{cid}:p{i}" for i in range(len(q["positive"]))]  # type: ignore[arg-type]
        neg = [f"{cid}:n{i}" for i in range(len(q["negative"]))]  # type: ignore[arg-type]
        rows += [{"id": d, "text": t} for d, t in zip(pos, q["positive"], strict=True)]  # type: ignore[call-overload]
        rows += [{"id": d, "text": t} for d, t in zip(neg, q["negative"], strict=True)]  # type: ignore[call-overload]
        if keep is not None and cid not in keep:
            continue
        raw: list[Any] = list(q["answer"])  # type: ignore[call-overload]
        answers = tuple(tuple(a) for a in raw) if raw and isinstance(raw[0], list) else tuple(raw)
        question = str(q["query"])
        items.append(
            EvalItem(cid, question, answers, True, (), (), {d: 1 for d in pos}, tuple(pos + neg), "noise")
        )
        if neg:
            items.append(EvalItem(f"{cid}:reject", question, (), False, (), (), {}, tuple(neg), "rejection"))
    corpus = _write_jsonl(rows, work / "rgb_en_passages.jsonl")
    return EvalTask("rgb", split, (corpus,), tuple(items), RGB_NOTES)


def multihop(data: Path, split: str, work: Path) -> EvalTask:
    folder = data / "multihop_rag_sample500"
    keep = _split_ids(folder, split)
    facts = list(read_jsonl(folder / "evidence_facts.jsonl"))
    fact_id = {(f["url"], f["fact"]): str(f["fact_id"]) for f in facts}
    # the outlet, date, author and category are metadata (questions name them: "the 'Wired' report
    # on 2023-11-25"), as they would be in a user's news collection
    corpus = _write_jsonl(
        (
            {"id": f["fact_id"], "title": f["title"], "text": f["fact"]}
            | {k: f[k] for k in ("source", "published_at", "author", "category") if f.get(k)}
            for f in facts
        ),
        work / "multihop_evidence_facts.jsonl",
    )
    items = []
    for q in read_jsonl(folder / "queries.jsonl"):
        if keep is not None and str(q["id"]) not in keep:
            continue
        null = q["question_type"] == "null_query"
        gold = [fact_id[(e["url"], e["fact"])] for e in q["evidence_list"]]  # type: ignore[attr-defined]
        items.append(
            EvalItem(
                id=str(q["id"]),
                question=str(q["query"]),
                answers=() if null else (str(q["answer"]),),
                answerable=not null,
                evidence=tuple(dict.fromkeys(gold)),
                relevant=dict.fromkeys(gold, 1),
                group=str(q["question_type"]),
            )
        )
    return EvalTask("multihop", split, (corpus,), tuple(items), MULTIHOP_NOTES)


def bundled(data: Path | None, split: str, work: Path) -> EvalTask:
    splits = ("dev", "test") if split == "all" else (split,)
    items = tuple(item for s in splits for item in read_evalset(bundled_set_path(s)))
    return EvalTask("bundled", split, (bundled_corpus_dir(),), items, BUNDLED_NOTES)


ADAPTERS: dict[str, Callable[[Any, str, Path], EvalTask]] = {
    "scifact": scifact,
    "squad": squad,
    "rgb": rgb,
    "multihop": multihop,
    "bundled": bundled,
}
NEEDS_SHARED = {"scifact", "squad", "rgb", "multihop"}


def load_task(name: str, split: str, data: Path | None, work: Path) -> EvalTask:
    """A built-in eval set by name, on `split`; `data` is `../shared/datasets`."""
    if name not in ADAPTERS:
        raise InputError(f"unknown eval set '{name}'; built-in sets: {', '.join(ADAPTERS)}, or a .jsonl path")
    if split not in SPLITS:
        raise InputError(f"unknown split '{split}'; choose one of {', '.join(SPLITS)}")
    if name in NEEDS_SHARED and (data is None or not data.is_dir()):
        raise InputError(
            f"the '{name}' set reads ../shared/datasets, which is not beside the checkout; "
            "set RAG_SHARED_DATASETS to its path"
        )
    return ADAPTERS[name](data, split, work)
