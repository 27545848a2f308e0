"""What the API adds to an answer, and how `rag serve` holds up under many clients at once.

    python -m scripts.bench_api [--clients 50] [--turns 5] [--out reports/bench_api.json]

A real `rag serve` (the bundled corpus as collection `default`, one API key) runs in its own
process on loopback. Warm latency: the same questions (the bundled dev set's) are answered by
`Assistant.ask` in this process and by `POST /v1/chat/completions`, alternating, after a warm-up;
the report gives both medians and their difference. Load: `--clients` conversations at once, each
asking `--turns` questions in a row, every follow-up sending the whole conversation in `messages`
(as an OpenAI client does); latency per request, errors, and answers per second. The clients run
on one asyncio loop in this process, on the same cores as the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from rag.collections import DEFAULT, Collections
from scripts.common import script_parser, write_report

KEY = "sk-bench-api-0001"
FOLLOW_UPS = ("And when was that?", "What else does it say about it?", "Why?", "And the year after?")


def _questions() -> list[str]:
    text = (resources.files("evals") / "sets" / "bundled_dev.jsonl").read_text(encoding="utf-8")
    return [json.loads(line)["question"] for line in text.splitlines() if line.strip()]


def _start(home: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--home", str(home), "--port", str(port), "--api-key", KEY],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(480):
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("rag serve did not come up in 240 s")


def _warm(url: str, home: Path, questions: list[str], rounds: int) -> dict[str, Any]:
    bot = Collections(home).open(DEFAULT)
    headers = {"Authorization": f"Bearer {KEY}"}
    direct: list[float] = []
    api: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for q in questions[:5]:  # warm-up of both
            bot.ask(q)
            http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": q}]})
        for _ in range(rounds):
            for q in questions:
                t0 = time.perf_counter()
                bot.ask(q)
                direct.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": q}]})
                api.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
    p50_direct, p50_api = float(np.percentile(direct, 50)), float(np.percentile(api, 50))
    return {
        "requests": len(api),
        "assistant_ask_p50_ms": round(p50_direct, 1),
        "chat_completions_p50_ms": round(p50_api, 1),
        "difference_p50_ms": round(p50_api - p50_direct, 1),
        "target_difference_ms": 15,
    }


async def _conversation(http: httpx.AsyncClient, first: str, turns: int, out: dict[str, list[Any]]) -> None:
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        question = first if i == 0 else FOLLOW_UPS[(i - 1) % len(FOLLOW_UPS)]
        messages.append({"role": "user", "content": question})
        t0 = time.perf_counter()
        try:
            r = await http.post("/v1/chat/completions", json={"model": DEFAULT, "messages": messages})
            r.raise_for_status()
            message = r.json()["choices"][0]["message"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            out["errors"].append(f"{type(exc).__name__}: {exc}")
            return
        out["latency"].append((time.perf_counter() - t0) * 1000)
        messages.append({"role": "assistant", "content": message["content"], "rag": message["rag"]})


async def _load(url: str, questions: list[str], clients: int, turns: int) -> dict[str, Any]:
    out: dict[str, list[Any]] = {"latency": [], "errors": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(
            *(_conversation(http, questions[i % len(questions)], turns, out) for i in range(clients))
        )
        seconds = time.perf_counter() - t0
    lat = out["latency"]
    return {
        "clients": clients,
        "turns_each": turns,
        "answers": len(lat),
        "errors": len(out["errors"]),
        "error_samples": out["errors"][:5],
        "seconds": round(seconds, 2),
        "answers_per_second": round(len(lat) / seconds, 2),
        "p50_ms": round(float(np.percentile(lat, 50)), 1) if lat else None,
        "p95_ms": round(float(np.percentile(lat, 95)), 1) if lat else None,
        "max_ms": round(max(lat), 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "target_p95_ms": 1500,
    }


def main() -> None:
    parser = script_parser(__doc__, "bench_api.json", cache=False)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the warm comparison")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    questions = _questions()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        home = Path(tmp) / "home"
        Collections(home).open(DEFAULT)  # the bundled corpus copied in before the server starts
        proc = _start(home, args.port)
        url = f"http://127.0.0.1:{args.port}"
        try:
            warm = _warm(url, home, questions, args.rounds)
            load = asyncio.run(_load(url, questions, args.clients, args.turns))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "warm": warm,
        "concurrent": load,
    }
    write_report(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
