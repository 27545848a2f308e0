"""Benchmark: index BEIR SciFact's corpus (5,183 abstracts) and compare with the raw encoder.

    python -m scripts.bench_index [--out reports/bench_index.json]

Reports wall time and chunks/s of `build_index` (load, chunk, embed, store: what `rag index` does),
and the raw `SentenceTransformer.encode` chunks/s on the very same chunk texts.
"""

from __future__ import annotations

import json
import platform
import random
import tempfile
import time
from pathlib import Path

from index.build import build_index
from index.chunk import Chunker, indexed_text
from index.embed import SentenceTransformerEmbedder
from index.load import load_paths
from index.settings import IndexSettings
from scripts.common import require_datasets, script_parser, write_report


def main() -> None:
    parser = script_parser(__doc__, "bench_index.json", cache=False)
    parser.add_argument("--raw-sample", type=int, default=3000, help="chunks for the raw-encoder timing")
    args = parser.parse_args()
    data = require_datasets()
    corpus = data / "beir_scifact" / "corpus.jsonl"
    settings = IndexSettings()
    t0 = time.perf_counter()
    embedder = SentenceTransformerEmbedder.load(settings.model, settings.batch_size)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        report = build_index([corpus], Path(tmp) / "idx", embedder, settings, progress=True)
    # The raw encoder on the same chunk texts, same batch size, no loading/chunking/storing.
    loaded = load_paths([corpus])
    chunker = Chunker(settings)
    texts = [indexed_text(d.title, c.text) for d in loaded.documents for c in chunker(d)]
    # A fixed random sample keeps this half of the benchmark short; chunks/s is what is compared.
    texts = random.Random(0).sample(texts, min(args.raw_sample, len(texts)))
    t0 = time.perf_counter()
    embedder.model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True)
    raw_s = time.perf_counter() - t0
    figures = {
        "corpus": str(corpus),
        "documents": report.documents_total,
        "chunks": report.chunks_total,
        "chunking": settings.chunking(),
        "model_load_seconds": round(load_s, 2),
        "build_index_seconds": round(report.seconds, 2),
        "build_index_chunks_per_s": round(report.chunks_total / report.seconds, 1),
        "raw_encoder_chunks": len(texts),
        "raw_encoder_seconds": round(raw_s, 2),
        "raw_encoder_chunks_per_s": round(len(texts) / raw_s, 1),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    write_report(args.out, figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
