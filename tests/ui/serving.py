"""`rag serve` in a real process on loopback, for the tests that drive it with real clients."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port, write

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "sk-test-admin-0001"  # every collection, may change documents
READER = "sk-test-reader-01@default:read"  # questions on `default` only
HR_ONLY = "sk-test-hr-only-1@hr"
HR_FACTS = {
    "leave.md": "# Leave policy\n\nEvery employee of Walrus Logistics gets 27 days of paid leave a year.\n",
    "shifts.md": "# Shifts\n\nThe night shift at the Walrus Point depot starts at 22:00 and ends at 06:00.\n",
}


def key_of(spec: str) -> str:
    return spec.split("@")[0].split(":")[0]


def make_home(home: Path) -> None:
    """A data folder with the collection `hr` (two small documents) beside the default one."""
    docs = home.parent / "hr-docs"
    for name, text in HR_FACTS.items():
        write(docs / name, text)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ui.cli",
            "index",
            str(docs),
            "--collection",
            "hr",
            "--home",
            str(home),
            "--quiet",
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@contextmanager
def rag_serve(home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`rag serve --home HOME ARGS` on a free port (`env`: more environment variables); yields its
    base URL once it answers."""
    port = free_port()
    log = (home.parent / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--home", str(home), "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (home.parent / f"serve-{port}.log").read_text()
            try:
                if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "rag serve did not come up in 240 s"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
