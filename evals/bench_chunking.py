"""Choose the chunk size by measurement on dev splits only.

    python -m evals.bench_chunking [--sizes 96 160 256] [--out evals/reports/chunking_dev.json]

For each chunk size (overlap 15%) it indexes the SQuAD 2.0 paragraphs and a SciFact sub-corpus
(every document judged for a dev query plus --distractors random others: embedding all 5,183
abstracts takes about 11 minutes per setting on 2 cores) and reports SciFact dev nDCG@10 (a
document scores its best chunk) and SQuAD 2.0 dev passage recall@5 on answerable questions.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path

from evals.datasets import read_ids, read_jsonl, require_datasets, scifact_qrels, write_squad_corpus
from index.build import build_index
from index.embed import SentenceTransformerEmbedder
from index.settings import IndexSettings
from index.store import IndexStore


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def ranked_docs(store: IndexStore, vector: object, k_chunks: int) -> list[str]:
    out: list[str] = []
    for chunk, _ in store.search(vector, k_chunks):  # type: ignore[arg-type]
        if chunk.doc_id not in out:
            out.append(chunk.doc_id)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 160, 256])
    parser.add_argument("--squad-limit", type=int, default=500)
    parser.add_argument("--distractors", type=int, default=300)
    parser.add_argument("--out", default="evals/reports/chunking_dev.json")
    args = parser.parse_args()
    data = require_datasets()
    embedder = SentenceTransformerEmbedder.load(IndexSettings().model)

    queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(data / "beir_scifact" / "queries.jsonl")}
    qrels = scifact_qrels(data)
    sf_dev = [q for q in read_ids(data / "beir_scifact" / "dev_ids.txt") if q in qrels]

    squad_dir = data / "squad_v2_dev"
    dev = set(read_ids(squad_dir / "dev_ids.txt"))
    squad_q = [
        q for q in read_jsonl(squad_dir / "questions.jsonl") if q["id"] in dev and not q["is_impossible"]
    ]
    squad_q = squad_q[: args.squad_limit]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        judged = {d for q in sf_dev for d in qrels[q]}
        docs = list(read_jsonl(data / "beir_scifact" / "corpus.jsonl"))
        others = [d for d in docs if str(d["_id"]) not in judged]
        keep = judged | {str(d["_id"]) for d in random.Random(0).sample(others, args.distractors)}
        sf_corpus = Path(tmp) / "scifact_dev_subset.jsonl"
        with sf_corpus.open("w") as f:
            for d in docs:
                if str(d["_id"]) in keep:
                    f.write(json.dumps(d) + "\n")
        squad_corpus = write_squad_corpus(data, Path(tmp) / "squad.jsonl")
        for size in args.sizes:
            settings = IndexSettings(chunk_size=size, chunk_overlap=max(size * 15 // 100, 0))
            t0 = time.perf_counter()
            sf = build_index([sf_corpus], Path(tmp) / f"sf{size}", embedder, settings, progress=True)
            sq = build_index([squad_corpus], Path(tmp) / f"sq{size}", embedder, settings)
            sf_store, sq_store = (
                IndexStore.open(Path(tmp) / f"sf{size}"),
                IndexStore.open(Path(tmp) / f"sq{size}"),
            )
            ndcg = [
                ndcg_at_10(ranked_docs(sf_store, embedder.embed_query(queries[q]), 100), qrels[q])
                for q in sf_dev
            ]
            hits = [
                q["paragraph_id"] in ranked_docs(sq_store, embedder.embed_query(str(q["question"])), 40)[:5]
                for q in squad_q
            ]
            row = {
                "chunk_size": size,
                "chunk_overlap": settings.chunk_overlap,
                "scifact_chunks": sf.chunks_total,
                "squad_chunks": sq.chunks_total,
                "scifact_dev_ndcg@10": round(sum(ndcg) / len(ndcg), 4),
                "squad_dev_recall@5": round(sum(hits) / len(hits), 4),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
    report = {
        "scifact_docs": len(keep),
        "scifact_dev_queries": len(sf_dev),
        "squad_dev_questions": len(squad_q),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
