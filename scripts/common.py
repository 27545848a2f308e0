"""What the dev scripts share: their command line, and the shared datasets they read."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from evals.datasets import eval_cache_dir, shared_datasets_dir
from index.chunk import chunk_id
from index.store import IndexStore

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def script_parser(doc: str | None, report: str, cache: bool = True) -> argparse.ArgumentParser:
    """A parser with the script's docstring as its help, `--out` (default `reports/<report>`) and,
    with `cache`, `--cache-dir` (where eval indexes and reshaped corpora are cached)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    out = REPORTS / report
    parser.add_argument("--out", default=str(out), help=f"where the figures go (default: {out})")
    if cache:
        parser.add_argument(
            "--cache-dir", default=str(eval_cache_dir()), help="where eval indexes are cached"
        )
    return parser


def require_datasets() -> Path:
    """The shared datasets folder, or exit with a message saying what is missing."""
    path = shared_datasets_dir()
    if path is None:
        sys.exit("../shared/datasets is not beside the checkout (set RAG_SHARED_DATASETS to its path)")
    return path


def write_report(path: str | Path, report: dict[str, Any]) -> None:
    """Write a script's figures as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def noisy(vectors: np.ndarray, rng: np.random.Generator, sigma: float = 0.02) -> np.ndarray:
    """`vectors` (L2-normalised rows) with Gaussian noise of `sigma` per dimension, re-normalised: a
    copy of a corpus whose nearest neighbours stay meaningful and never tie with the original's."""
    out = vectors + rng.normal(0, sigma, vectors.shape).astype(np.float32)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def copy_of(source: IndexStore, copy: int, rng: np.random.Generator) -> Iterator[tuple[Any, ...]]:
    """Every document of `source` under new ids (`<doc_id>~<copy>`; copy 0 keeps its ids), as the
    arguments of a store's `add`: record, text, chunks, vectors and sentences. The vectors of every
    copy but the first get noise (`noisy`), so that copies never tie."""
    for doc_id, info in source.documents.items():
        new_id = doc_id if copy == 0 else f"{doc_id}~{copy}"
        chunks = source.document_chunks(doc_id)
        vectors = np.stack([source.vector(c.faiss_id) for c in chunks])
        moved = []
        for c in chunks:
            cid, fid = chunk_id(new_id, c.start, c.text)
            moved.append(replace(c, chunk_id=cid, faiss_id=fid, doc_id=new_id))
        sentences = source.sentences.of(doc_id)
        if copy:
            vectors = noisy(vectors, rng)
            sentences = (sentences[0], noisy(sentences[1], rng)) if sentences else None
        new = replace(info, doc_id=new_id, source=info.source + (f"~{copy}" if copy else ""))
        yield new, source.text(doc_id), moved, vectors, sentences
