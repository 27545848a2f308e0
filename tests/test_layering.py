"""Data flows one way: index -> rag -> ui / evals. Nothing imports upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "index": {"index"},
    "rag": {"index", "rag"},
    "evals": {"index", "rag", "evals"},
    "ui": {"index", "rag", "evals", "ui"},
}


@pytest.mark.unit
@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_upward_imports(layer: str) -> None:
    ours = set(ALLOWED)
    for path in (ROOT / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in ours or top in ALLOWED[layer], f"{path} imports {name}"


@pytest.mark.unit
def test_importing_rag_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, rag, ui.cli; print(sorted(m for m in ('torch', 'sentence_transformers', 'faiss', 'llama_index') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
