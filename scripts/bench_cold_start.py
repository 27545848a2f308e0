"""Benchmark: how long a new user waits, from the command to an answer.

    python -m scripts.bench_cold_start [--times 5] [--out reports/bench_cold_start.json]

`rag ask QUESTION --index-dir DIR` on a built index (the bundled corpus), and `rag chat --index-dir
DIR` until its page answers HTTP 200, each run `--times` times in new processes; medians, minimum
and maximum in seconds. The index is built (and the ONNX embedding model exported) once before.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from rag import Assistant
from scripts.common import script_parser, write_report

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How many comprehensive pilot zones for cross-border e-commerce does China have?"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ask(index: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", QUESTION, "--index-dir", index],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env=_env(),
    )
    return time.perf_counter() - t0


def _chat(index: str, data: str) -> float:
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ui.cli",
            "chat",
            "--index-dir",
            index,
            "--port",
            str(port),
            "--data-dir",
            data,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"rag chat exited with code {proc.returncode}") from None
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def _summary(seconds: list[float]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(seconds), 2),
        "min_s": round(min(seconds), 2),
        "max_s": round(max(seconds), 2),
        "runs": [round(s, 2) for s in seconds],
    }


def main() -> None:
    parser = script_parser(__doc__, "bench_cold_start.json", cache=False)
    parser.add_argument("--times", type=int, default=5, help="runs of each command")
    args = parser.parse_args()
    index = Assistant.bundled().info().path  # built (and the model exported) before any timing
    data = str(Path(index).with_name(Path(index).name + ".bench-data"))
    figures = {
        "index": index,
        "rag ask": _summary([_ask(index) for _ in range(args.times)]),
        "rag chat (until the page answers)": _summary([_chat(index, data) for _ in range(args.times)]),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }
    write_report(args.out, figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
