"""Paths and readers for the public evaluation data in `../shared/datasets/`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path


def shared_datasets_dir() -> Path | None:
    """`../shared/datasets` beside the checkout (or $RAG_SHARED_DATASETS), if it exists."""
    env = os.environ.get("RAG_SHARED_DATASETS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return path if path.is_dir() else None


def require_datasets() -> Path:
    """The shared datasets folder, or exit with a message saying what is missing."""
    path = shared_datasets_dir()
    if path is None:
        sys.exit("../shared/datasets is not beside the checkout (set RAG_SHARED_DATASETS to its path)")
    return path


def write_squad_corpus(data: Path, dest: Path) -> Path:
    """SQuAD 2.0's 1,204 dev paragraphs as a `.jsonl` collection (`id` = paragraph_id)."""
    with dest.open("w", encoding="utf-8") as f:
        for p in read_jsonl(data / "squad_v2_dev" / "paragraphs.jsonl"):
            f.write(json.dumps({"id": p["paragraph_id"], "title": p["title"], "text": p["context"]}) + "\n")
    return dest


def read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_ids(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scifact_qrels(root: Path, split: str = "test") -> dict[str, dict[str, int]]:
    """query id -> {doc id: relevance} from BEIR's qrels file."""
    qrels: dict[str, dict[str, int]] = {}
    lines = (root / "beir_scifact" / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
    for line in lines:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    return qrels
