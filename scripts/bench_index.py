"""Benchmark: `rag index` on SciFact abstracts against the encoder alone on the very texts it embeds.

    python -m scripts.bench_index [--documents 1000] [--out reports/bench_index.json]

`build_index` (read, chunk, embed chunks and sentences, store: what `rag index` does) runs with
the embedder `rag index` loads, wrapped so that it records every batch of texts it is given. The
same embedder then encodes those recorded batches again, alone: the raw encoder's time on the
same texts in the same batches. Reported: both times, both rates in texts/s and chunks/s, and the
ratio. `--documents` takes the first N abstracts of the corpus (0: all 5,183).
"""

from __future__ import annotations

import itertools
import json
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.build import build_index
from index.embed import Embedder, load_embedder
from index.settings import IndexSettings
from scripts.common import require_datasets, script_parser, write_report


class Recording:
    """An embedder that keeps every batch it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.batches: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def main() -> None:
    parser = script_parser(__doc__, "bench_index.json", cache=False)
    parser.add_argument("--documents", type=int, default=1000, help="first N abstracts (0: all)")
    args = parser.parse_args()
    corpus = require_datasets() / "beir_scifact" / "corpus.jsonl"
    settings = IndexSettings()
    t0 = time.perf_counter()
    embedder = load_embedder(settings.model, settings.batch_size)
    embedder.embed_documents(["warm up"])
    load_s = time.perf_counter() - t0
    recording = Recording(embedder)
    with tempfile.TemporaryDirectory() as tmp:
        source = corpus
        if args.documents:
            source = Path(tmp) / "corpus.jsonl"
            with corpus.open(encoding="utf-8") as f:
                source.write_text("".join(itertools.islice(f, args.documents)), encoding="utf-8")
        report = build_index([source], Path(tmp) / "idx", recording, settings, progress=True)
    t0 = time.perf_counter()
    for batch in recording.batches:
        embedder.embed_documents(batch)
    raw_s = time.perf_counter() - t0
    texts = sum(len(b) for b in recording.batches)
    figures = {
        "corpus": f"{corpus} (first {args.documents} abstracts)" if args.documents else str(corpus),
        "embedder": f"{type(embedder).__name__} {embedder.name}",
        "documents": report.documents_total,
        "chunks": report.chunks_total,
        "texts_embedded": texts,
        "chunking": settings.chunking(),
        "model_load_seconds": round(load_s, 2),
        "build_index_seconds": round(report.seconds, 2),
        "raw_encoder_seconds": round(raw_s, 2),
        "build_index_texts_per_s": round(texts / report.seconds, 1),
        "raw_encoder_texts_per_s": round(texts / raw_s, 1),
        "build_index_chunks_per_s": round(report.chunks_total / report.seconds, 1),
        "build_over_raw": round(report.seconds / raw_s, 3),
        "machine": f"{platform.machine()}, {platform.python_version()}, {platform.processor() or ''}".rstrip(
            ", "
        ),
    }
    write_report(args.out, figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
