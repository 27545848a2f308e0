"""A folder index of 100k and 1M chunks on this machine: answers, opening, memory and updates.

    python -m scripts.bench_scale [--sizes 100000,1000000] [--questions 100] [--llama-up-to 200000] [--llama-queries 20]
                                  [--out reports/bench_scale.json]

Data: the SciFact index the evals cache (5,183 abstracts, 16,835 chunks and their sentences, real
MiniLM vectors) is copied under new document ids until a size is reached. Every copy but the
first gets Gaussian noise on its chunk and sentence vectors (sigma 0.02 per dimension, then
re-normalised, seeded; cosine to the source about 0.93), as `bench_pg` does, so that no two copies
tie and nearest neighbours stay meaningful for the recall figure. Each size is built once into the
eval cache (`scale-<copies>`) and reused (`--rebuild`, or an older index format, builds it again).

Each size is then measured in a new process: opening it (`Assistant.load`) and the first answer;
warm `ask` p50/p95 on SciFact test claims; `retrieve` (k=6) p50; dense top-10 p50 and its
recall@10 against exact search (numpy over every vector); BM25 top-100 p50; the process's memory
(RSS now, and its peak). Then updates as `rag index` makes them: `rag index` of 100 new documents
(SciFact abstracts as .txt files) killed with SIGKILL at three moments of its save, the index
reopened and asked each time; the same 100 indexed to the end, beside the time the encoder alone
takes for their chunks and sentences; and one document removed. The 100 are removed again
afterwards, so the cache is left as built. Last, in a process of its own, llama-index's stock
`VectorStoreIndex` (its in-memory `SimpleVectorStore`) holds the same chunk vectors and retrieves
the top 10 for the same question vectors, up to `--llama-up-to` chunks (its store keeps every
vector as a Python list of floats: about 12 GB at 1M).

Writes the JSON report, a Markdown table beside it (`.md`) and a plot (`.png`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.adapters import load_task
from evals.datasets import eval_cache_dir, shared_datasets_dir
from index.store import FORMAT_VERSION, MANIFEST, IndexStore
from rag import Assistant
from scripts.common import copy_of, require_datasets, script_parser, write_report


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def _memory() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return {
        k: round(int(fields[f].split()[0]) / 1024, 1)
        for k, f in (("rss_mib", "VmRSS"), ("peak_rss_mib", "VmHWM"))
    }


def _format(index_dir: Path) -> int | None:
    """The format version of a cached index (None when there is none)."""
    try:
        return int(json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))["format_version"])
    except (OSError, ValueError, KeyError):
        return None


def build(source: IndexStore, target: Path, copies: int) -> dict[str, Any]:
    """Copy `source` `copies` times into a new folder index at `target`."""
    store = IndexStore(target, source.model, source.dimension, source.chunking)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for copy in range(copies):
        for document in copy_of(source, copy, rng):
            store.add(*document)
        print(f"copy {copy + 1}/{copies} added, {time.perf_counter() - started:.0f} s", flush=True)
    added = time.perf_counter() - started
    started = time.perf_counter()
    store.save()
    return {"add_seconds": round(added, 1), "save_seconds": round(time.perf_counter() - started, 1)}


def _llama_index(ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """llama-index's stock VectorStoreIndex over the same vectors: top-10 retrieval per query vector."""
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.schema import QueryBundle, TextNode

    LlamaSettings.embed_model = MockEmbedding(embed_dim=vectors.shape[1])  # never asked: vectors are given
    started = time.perf_counter()
    nodes = [  # a node without text is skipped by llama-index: each gets its id as text
        TextNode(id_=str(i), text=str(i), embedding=v.tolist())
        for i, v in zip(ids.tolist(), vectors, strict=True)
    ]
    index = VectorStoreIndex(nodes=nodes)
    built = time.perf_counter() - started
    retriever = index.as_retriever(similarity_top_k=10)
    timings = []
    for q in queries:
        t0 = time.perf_counter()
        found = retriever.retrieve(QueryBundle(query_str="", embedding=q.tolist()))
        timings.append((time.perf_counter() - t0) * 1000)
        if len(found) != 10:
            raise RuntimeError(f"llama-index returned {len(found)} nodes, not 10")
    return {"build_seconds": round(built, 1), "top10_p50_ms": _ms(timings, 50), "queries": len(timings)}


def measure(index_dir: Path, questions: list[str], texts: list[tuple[str, str]]) -> dict[str, Any]:
    """Everything measured on one index, in this (new) process."""
    started = time.perf_counter()
    bot = Assistant.load(index_dir)
    opened = time.perf_counter() - started
    bot.ask(questions[0])
    first = time.perf_counter() - started
    out: dict[str, Any] = {
        "cold": {"open_s": round(opened, 2), "open_and_first_answer_s": round(first, 2), **_memory()}
    }
    for q in questions[:10]:
        bot.ask(q)
    asks, retrieves = [], []
    for q in questions:
        t0 = time.perf_counter()
        bot.ask(q)
        asks.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        bot.retrieve(q, k=6)
        retrieves.append((time.perf_counter() - t0) * 1000)
    out["warm_ask"] = {"p50_ms": _ms(asks, 50), "p95_ms": _ms(asks, 95), "questions": len(asks)}
    out["retrieve_k6_p50_ms"] = _ms(retrieves, 50)
    out["memory_after_answering"] = _memory()
    store = IndexStore.open(index_dir)
    out["search"] = "IVF" if store._vectors.approximate else "exact"
    queries = np.stack([bot.embedder.embed_query(q) for q in questions])
    dense, lexical, recall = [], [], []
    ids, vectors = store.vectors()
    for q, v in zip(questions, queries, strict=True):
        t0 = time.perf_counter()
        found = store.search(v, 10)
        dense.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        store.lexical(q, 100)
        lexical.append((time.perf_counter() - t0) * 1000)
        exact = set(ids[np.argpartition(-(vectors @ v), 10)[:10]].tolist())
        recall.append(len(exact & {c.faiss_id for c, _ in found}) / 10)
    out["dense_top10_p50_ms"] = _ms(dense, 50)
    out["recall_at_10_vs_exact"] = round(float(np.mean(recall)), 4)
    out["lexical_top100_p50_ms"] = _ms(lexical, 50)
    del ids, vectors, store, bot
    out["updates"] = _updates(index_dir, texts)
    return out


def _updates(index_dir: Path, texts: list[tuple[str, str]]) -> dict[str, Any]:
    """Index 100 new documents into the index as `rag index` does, remove one, then put it back as built."""
    from index.build import build_index
    from index.onnx import OnnxEmbedder
    from index.settings import IndexSettings

    store = IndexStore.open(index_dir)
    settings = IndexSettings(model=store.model, **store.chunking)
    before = set(store.documents)
    del store
    embedder = OnnxEmbedder.bundled(settings.model)
    embedder.embed_documents(["warm up"])
    with tempfile.TemporaryDirectory(prefix="rag-bench-scale-") as tmp:
        folder = Path(tmp) / "new"
        folder.mkdir()
        for i, (title, text) in enumerate(texts):
            (folder / f"new-{i:03d}.txt").write_text(f"{title}\n\n{text}", encoding="utf-8")
        crashes = [_killed_mid_save(index_dir, folder, before, wait) for wait in KILL_AFTER_S]
        t0 = time.perf_counter()
        report = build_index([folder], index_dir, embedder, settings)
        indexed = time.perf_counter() - t0
        for crash in crashes:  # what the killed saves left half-written, the next save removed
            crash["partial_files_left_after_next_save"] = sum(
                (index_dir / f).exists() for f in crash.pop("partial")
            )
        store = IndexStore.open(index_dir)
        new = sorted(set(store.documents) - before)
        chunk_texts = [c.text for d in new for c in store.document_chunks(d)]
        sentence_texts = []
        for d in new:
            spans = sorted({s for c in store.document_chunks(d) for s in c.sentences})
            sentence_texts += [store.text(d)[s:e] for s, e in spans]
        t0 = time.perf_counter()
        embedder.embed_documents(chunk_texts)
        embedder.embed_documents(sentence_texts)
        encoder = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.remove(new[0])
        store.save()
        removed = time.perf_counter() - t0
        for d in new[1:]:
            store.remove(d)
        store.save()
    return {
        "add_100_documents": {
            "documents": len(new),
            "chunks": len(chunk_texts),
            "sentences": len(sentence_texts),
            "rag_index_s": round(indexed, 2),
            "encoder_alone_s": round(encoder, 2),
            "ratio": round(indexed / encoder, 2),
            "skipped": len(report.skipped),
        },
        "remove_1_document_s": round(removed, 2),
        "killed_mid_save": crashes,
    }


KILL_AFTER_S = (0.0, 0.5, 2.0)  # after the save's first new file appears


def _killed_mid_save(index_dir: Path, folder: Path, before: set[str], wait: float) -> dict[str, Any]:
    """`rag index FOLDER` into the index in another process, killed with SIGKILL `wait` seconds
    after its save began writing files; then the index must open, hold the documents it held
    before (or all of them, if the save finished), and answer."""
    on_disk = set(os.listdir(index_dir))
    rag = Path(sys.executable).with_name("rag")
    child = subprocess.Popen(
        [str(rag), "index", str(folder), "--index-dir", str(index_dir), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    while (
        child.poll() is None and not {f for f in os.listdir(index_dir) if not f.endswith(".lock")} - on_disk
    ):
        time.sleep(0.005)
    time.sleep(wait)
    finished = child.poll() is not None
    child.kill()
    child.wait()
    store = IndexStore.open(index_dir)
    documents = set(store.documents)
    state = "before" if documents == before else "after" if documents > before else "neither"
    answered = Assistant.load(index_dir).ask("What do the documents say about vitamin D?")
    new_files = {
        f for f in os.listdir(index_dir) if not f.endswith(".lock")
    } - on_disk  # .lock: rag index's own
    partial = sorted(new_files) if state == "before" else []
    if state != "before":  # the save had finished: back to the index as built
        for d in documents - before:
            store.remove(d)
        store.save()
    return {
        "killed_after_s": wait,
        "finished_before_kill": finished,
        "opened_with": state,
        "answered": bool(answered.citations) or answered.refused,
        "partial_files": len(partial),
        "partial": partial,
    }


def _stock(index_dir: Path, queries: int, ours: dict[str, Any], cache: Path) -> dict[str, Any]:
    """llama-index's figures on this index, in a process of its own (it may run out of memory)."""
    try:
        stock = _child(["--llama", str(index_dir), "--llama-queries", str(queries)], cache)
    except subprocess.CalledProcessError as e:
        return {
            "failed": f"exit status {e.returncode}"
            + (" (killed: out of memory?)" if e.returncode < 0 else "")
        }
    stock["our_ask_over_its_top10"] = round(ours["warm_ask"]["p50_ms"] / stock["top10_p50_ms"], 4)
    stock["our_retrieve_over_its_top10"] = round(ours["retrieve_k6_p50_ms"] / stock["top10_p50_ms"], 4)
    return stock


def _child(arguments: list[str], cache: Path) -> dict[str, Any]:
    """Run this script on one index in a new process (so each build and measure starts with a
    fresh memory) and return the JSON it prints last."""
    child = subprocess.run(
        [sys.executable, "-m", "scripts.bench_scale", *arguments, "--cache-dir", str(cache)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _table(report: dict[str, Any]) -> str:
    rows = [
        ("chunks", lambda r: f"{r['chunks']:,}"),
        ("vector search", lambda r: r["search"]),
        ("cold open (s)", lambda r: r["cold"]["open_s"]),
        ("open + first answer (s)", lambda r: r["cold"]["open_and_first_answer_s"]),
        ("warm ask p50 / p95 (ms)", lambda r: f"{r['warm_ask']['p50_ms']} / {r['warm_ask']['p95_ms']}"),
        ("retrieve k=6 p50 (ms)", lambda r: r["retrieve_k6_p50_ms"]),
        ("dense top-10 p50 (ms)", lambda r: r["dense_top10_p50_ms"]),
        ("recall@10 vs exact", lambda r: r["recall_at_10_vs_exact"]),
        ("BM25 top-100 p50 (ms)", lambda r: r["lexical_top100_p50_ms"]),
        (
            "llama-index stock top-10 p50 (ms)",
            lambda r: r.get("llama_index", {}).get(
                "top10_p50_ms", r.get("llama_index", {}).get("failed", "not run")
            ),
        ),
        (
            "our warm ask / its top-10 (p50)",
            lambda r: r.get("llama_index", {}).get("our_ask_over_its_top10", "not run"),
        ),
        ("RSS after answering (MiB)", lambda r: r["memory_after_answering"]["rss_mib"]),
        ("add 100 documents (s)", lambda r: r["updates"]["add_100_documents"]["rag_index_s"]),
        ("encoder alone on them (s)", lambda r: r["updates"]["add_100_documents"]["encoder_alone_s"]),
        ("remove 1 document (s)", lambda r: r["updates"]["remove_1_document_s"]),
        (
            "`rag index` killed mid-save: reopened as",
            lambda r: (
                ", ".join(k["opened_with"] for k in r["updates"].get("killed_mid_save", [])) or "not run"
            ),
        ),
    ]
    sizes = report["sizes"]
    lines = ["| | " + " | ".join(f"{s['chunks']:,} chunks" for s in sizes) + " |"]
    lines.append("|---" * (len(sizes) + 1) + "|")
    lines += [f"| {name} | " + " | ".join(str(get(s)) for s in sizes) + " |" for name, get in rows]
    return "\n".join(lines) + "\n"


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = report["sizes"]
    x = [s["chunks"] for s in sizes]
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, get in (
        ("warm ask p50", lambda s: s["warm_ask"]["p50_ms"]),
        ("warm ask p95", lambda s: s["warm_ask"]["p95_ms"]),
        ("retrieve k=6 p50", lambda s: s["retrieve_k6_p50_ms"]),
        ("dense top-10 p50", lambda s: s["dense_top10_p50_ms"]),
    ):
        ax.plot(x, [get(s) for s in sizes], marker="o", label=label)
    llama = [
        (s["chunks"], s["llama_index"]["top10_p50_ms"])
        for s in sizes
        if "top10_p50_ms" in s.get("llama_index", {})
    ]
    if llama:
        ax.plot(*zip(*llama, strict=True), marker="s", linestyle="--", label="llama-index stock top-10 p50")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks")
    ax.set_ylabel("ms")
    ax.set_title(f"Folder index on {os.cpu_count()} CPU cores")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = script_parser(__doc__, "bench_scale.json")
    parser.add_argument("--sizes", default="100000,1000000", help="chunk counts, comma-separated")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--llama-up-to", type=int, default=200_000, help="largest index llama-index holds")
    parser.add_argument("--llama-queries", type=int, default=20, help="questions it answers (each scans all)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process: measure this index
    parser.add_argument("--build", help=argparse.SUPPRESS)  # the child process: build this index
    parser.add_argument("--llama", help=argparse.SUPPRESS)  # the child process: llama-index on this index
    parser.add_argument("--copies", type=int, help=argparse.SUPPRESS)  # ... of the SciFact index
    args = parser.parse_args()
    require_datasets()
    cache = eval_cache_dir(args.cache_dir)
    task = load_task("scifact", "test", shared_datasets_dir(), cache)
    questions = [item.question for item in task.items][: args.questions]
    source = IndexStore.open(Assistant.cached(task.corpus, cache).info().path)
    if args.build:
        print(json.dumps(build(source, Path(args.build), args.copies)))
        return
    if args.measure:
        texts = [(source.documents[d].title, source.text(d)) for d in sorted(source.documents)[:100]]
        print(json.dumps(measure(Path(args.measure), questions, texts)))
        return
    if args.llama:
        store = IndexStore.open(args.llama)
        ids, vectors = store.vectors()
        embedder = Assistant.load(args.llama).embedder
        queries = np.stack([embedder.embed_query(q) for q in questions[: args.llama_queries]])
        print(json.dumps(_llama_index(ids, vectors, queries) | {"memory": _memory()}))
        return
    sizes = []
    for size in (int(s) for s in args.sizes.split(",")):
        copies = math.ceil(size / source.n_chunks)
        target = cache / f"scale-{copies}"
        built = None
        if args.rebuild or _format(target) != FORMAT_VERSION:
            if target.exists():
                shutil.rmtree(target)
            built = _child(["--build", str(target), "--copies", str(copies)], cache)
        store = IndexStore.open(target)
        entry: dict[str, Any] = {
            "copies": copies,
            "documents": len(store.documents),
            "chunks": store.n_chunks,
        }
        del store
        if built:
            entry["build"] = built
        entry |= _child(
            [
                "--measure",
                str(target),
                "--questions",
                str(args.questions),
            ],
            cache,
        )
        if entry["chunks"] <= args.llama_up_to:
            entry["llama_index"] = _stock(target, args.llama_queries, entry, cache)
        sizes.append(entry)
        print(json.dumps(entry, indent=2), flush=True)
    report = {
        "command": "python -m scripts.bench_scale " + " ".join(sys.argv[1:]),
        "data": "SciFact eval index copied with noise on every copy but the first (sigma 0.02, seed 0)",
        "sizes": sizes,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    write_report(args.out, report)
    out = Path(args.out)
    out.with_suffix(".md").write_text(_table(report), encoding="utf-8")
    _plot(report, out.with_suffix(".png"))
    print(_table(report))


if __name__ == "__main__":
    main()
