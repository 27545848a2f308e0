"""Data flows one way: index -> rag -> ui / evals. The chat and the evals are siblings: neither
imports the other, and the chat reaches the index only through `rag`. Nothing imports the dev
scripts or the tests."""

from __future__ import annotations

import ast
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "index": {"index"},
    "rag": {"index", "rag"},
    "evals": {
        "index",
        "rag",
        "evals",
    },  # the baselines rank with index-level pieces (BM25, the model's folder)
    "ui": {"rag", "ui"},
    "scripts": {"index", "rag", "evals", "scripts"},
}
OURS = {*ALLOWED, "tests"}


def _imports(layer: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(path, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


@pytest.mark.unit
@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_follow_the_layers(layer: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, name in _imports(layer)
        if name.split(".")[0] in OURS and name.split(".")[0] not in ALLOWED[layer]
    ]
    assert wrong == []


@pytest.mark.unit
def test_the_layering_rules_say_what_the_readme_says() -> None:
    assert "ui" not in ALLOWED["evals"] and "evals" not in ALLOWED["ui"] and "index" not in ALLOWED["ui"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (
        "ui/ and evals/ are siblings: neither imports the other, and ui/ reaches the index only through `rag`"
        in readme
    )


@pytest.mark.unit
def test_network_beyond_loopback_is_blocked_in_tests() -> None:
    with socket.socket() as s, pytest.raises(OSError, match="may only use this machine's loopback"):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: refused here, before any packet is sent


@pytest.mark.integration
def test_importing_rag_and_the_cli_stays_light() -> None:
    code = (
        "import sys, rag, ui.cli, evals.cli; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'faiss', 'llama_index', 'gradio') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
