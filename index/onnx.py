"""Transformer models run by ONNX Runtime with a Rust tokenizer: no torch at answer time.

A model folder holds `model.onnx` (inputs `input_ids`, `attention_mask`, `token_type_ids`) and
`tokenizer.json` (Hugging Face `tokenizers`). `export_onnx` writes such folders from a transformers
model (torch is needed then, and only then): the reader (`scripts/export_reader.py`, int8) and the
bundled embedding model (`OnnxEmbedder.bundled`, fp32, exported once into the cache folder).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import atomic_folder
from index.embed import (
    BUNDLED_NAMES,
    BUNDLED_WEIGHTS_SHA256,
    default_cache_dir,
    file_sha256,
    load_once,
    model_location,
)
from index.errors import ModelLoadError

_CHECKSUM = "model.onnx.sha256"


def export_onnx(model: Any, tokenizer: Any, to: Path, output: str, quantize: bool = False) -> Path:
    """Write `model` (a transformers torch model whose first output is `output`) and its
    `tokenizer` to the folder `to` as `model.onnx` and `tokenizer.json`; int8 weights (dynamic quantisation) when `quantize`. Returns the model file."""
    import tempfile

    import torch

    class _FirstOutput(torch.nn.Module):  # keyword arguments in, one tensor out: what tracing needs
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out[0]

    sample = tokenizer(["a question"], ["a candidate sentence"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "tokens"} for n in names}
    axes[output] = {0: "batch"} if output == "logits" else {0: "batch", 1: "tokens"}
    to.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                _FirstOutput(model.eval()),
                tuple(sample[n] for n in names),
                str(fp32),
                input_names=names,
                output_names=[output],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(to / "model.onnx"), weight_type=QuantType.QInt8)
        else:
            os.replace(fp32, to / "model.onnx")
    tokenizer.backend_tokenizer.save(str(to / "tokenizer.json"))
    return to / "model.onnx"


class OnnxEncoder:
    """One ONNX model and its tokenizer; `run` returns the model's first output for a batch of texts
    or (text, text) pairs, truncated to `max_length` word pieces (the second text of a pair first)."""

    def __init__(
        self, folder: Path, session: Any, tokenizer: Any, max_length: int, fallback: Any = None
    ) -> None:
        self.folder = folder
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self._fallback = fallback  # pairs whose first text alone is too long: cut both
        self._inputs = {i.name for i in session.get_inputs()}

    @classmethod
    def load(cls, folder: Path, kind: str, max_length: int, pairs: bool = False) -> OnnxEncoder:
        """The model in `folder`, loaded once per process; a missing or unreadable file is one
        clear `ModelLoadError` naming `kind` (e.g. "reader")."""
        return load_once(f"onnx {kind}", str(folder), lambda: cls._open(folder, kind, max_length, pairs))

    @classmethod
    def _open(cls, folder: Path, kind: str, max_length: int, pairs: bool) -> OnnxEncoder:
        missing = [n for n in ("model.onnx", "tokenizer.json") if not (folder / n).is_file()]
        if missing:
            raise ModelLoadError(
                f"{kind} folder '{folder}' lacks {', '.join(missing)}; "
                "give a folder written by `python -m scripts.export_reader`"
            )
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # idle threads sleep instead of spinning: a question's BM25 and vector search run right after
        # its embedding, on these same cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:
            raise ModelLoadError(
                f"could not load {kind} '{folder}' ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                "export it again with `python -m scripts.export_reader`"
            ) from None
        # pairs (question, candidate) lose words from the candidate only, as in training
        tokenizer.enable_truncation(max_length, strategy="only_second" if pairs else "longest_first")
        tokenizer.no_padding()
        fallback = None
        if pairs:
            fallback = Tokenizer.from_str(tokenizer.to_str())
            fallback.enable_truncation(max_length, strategy="longest_first")
        return cls(folder, session, tokenizer, max_length, fallback)

    def run(
        self,
        items: Sequence[str | tuple[str, str]],
        batch_size: int = 32,
        pool: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """The first output for each item, in order (batches sorted by length pad less); with
        `pool`, what it makes of each batch's output and attention mask (one row per item)."""
        try:
            encodings = self.tokenizer.encode_batch(list(items))
        except Exception:  # a pair's first text fills max_length by itself
            if self._fallback is None:
                raise
            encodings = self._fallback.encode_batch(list(items))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out: list[np.ndarray] = [np.empty(0)] * len(encodings)
        for at in range(0, len(order), batch_size):
            rows = order[at : at + batch_size]
            width = max(len(encodings[r].ids) for r in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for j, r in enumerate(rows):
                e = encodings[r]
                ids[j, : len(e.ids)] = e.ids
                mask[j, : len(e.ids)] = 1
                types[j, : len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            result = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            if pool is not None:
                result = pool(result, mask)
            for j, r in enumerate(rows):
                out[r] = result[j]
        return np.stack(out) if out else np.zeros((0,), dtype=np.float32)


class OnnxEmbedder:
    """A sentence-transformers mean-pooling model (all-MiniLM-L6-v2) run by ONNX Runtime: the same
    L2-normalised vectors as `SentenceTransformerEmbedder`, without importing torch."""

    def __init__(self, name: str, encoder: OnnxEncoder, dimension: int, batch_size: int = 64) -> None:
        self.name = name
        self.encoder = encoder
        self.dimension = dimension
        self.batch_size = batch_size

    @classmethod
    def bundled(cls, name: str, batch_size: int = 64, cache_dir: Path | None = None) -> OnnxEmbedder:
        """The bundled model (`name` one of `BUNDLED_NAMES`), from its ONNX export in the cache
        folder: made from the pinned weights the first time (with torch), its sha256 checked after."""
        if name not in BUNDLED_NAMES:
            raise ModelLoadError(
                f"'{name}' is not the bundled model; choose one of {', '.join(BUNDLED_NAMES)}"
            )
        folder = (
            (cache_dir or default_cache_dir())
            / "models"
            / f"all-MiniLM-L6-v2-{BUNDLED_WEIGHTS_SHA256[:12]}-onnx"
        )
        if not (folder / _CHECKSUM).is_file():
            with atomic_folder(folder) as tmp:
                from transformers import AutoModel, AutoTokenizer

                source = model_location(name)  # checks the pinned weights
                model = export_onnx(
                    AutoModel.from_pretrained(source),
                    AutoTokenizer.from_pretrained(source),
                    tmp,
                    "last_hidden_state",
                )
                # this export is made on each machine, so its checksum is recorded beside it
                (tmp / _CHECKSUM).write_text(file_sha256(model) + "\n", encoding="utf-8")
        expected = (folder / _CHECKSUM).read_text(encoding="utf-8").strip()
        if file_sha256(folder / "model.onnx") != expected:
            raise ModelLoadError(
                f"'{folder / 'model.onnx'}' does not match its sha256 ({expected}); delete the folder "
                f"'{folder}' and it is exported again from the bundled weights"
            )
        return cls(name, OnnxEncoder.load(folder, "embedding model", 256), 384, batch_size)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.encoder.run(list(texts), self.batch_size, pool=_mean_pool)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def _mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask, L2-normalised (as sentence-transformers does)."""
    weights = mask[..., None].astype(np.float32)
    pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
