"""Paths and readers for the public evaluation data in `../shared/datasets/`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from index.embed import default_cache_dir


def shared_datasets_dir() -> Path | None:
    """`../shared/datasets` beside the checkout (or $RAG_SHARED_DATASETS), if it exists."""
    env = os.environ.get("RAG_SHARED_DATASETS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return path if path.is_dir() else None


def eval_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where eval indexes and reshaped corpora are cached: `cache_dir`, else `eval/` in the user's cache."""
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir() / "eval"


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
