"""The bundled embedding model on ONNX Runtime: exported once, checked, the same vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embed import BUNDLED_NAMES, SentenceTransformerEmbedder
from index.errors import ModelLoadError
from index.onnx import OnnxEmbedder

pytestmark = pytest.mark.integration

TEXTS = [
    "Which city had the first pilot zone?",
    "Hangzhou opened the first cross-border e-commerce pilot zone in 2015. " * 6,  # padding in a batch
    "Temu",
    "A sentence far longer than the model reads. "
    * 60,  # truncated to 256 word pieces, as by sentence-transformers
]


def test_onnx_vectors_equal_sentence_transformers_vectors(
    tmp_path: Path, minilm: SentenceTransformerEmbedder
) -> None:
    onnx = OnnxEmbedder.bundled(BUNDLED_NAMES[0], cache_dir=tmp_path)
    assert np.abs(onnx.embed_documents(TEXTS) - minilm.embed_documents(TEXTS)).max() < 1e-5
    assert np.abs(onnx.embed_query(TEXTS[0]) - minilm.embed_query(TEXTS[0])).max() < 1e-5
    assert onnx.embed_documents([]).shape == (0, 384)
    exported = list((tmp_path / "models").iterdir())
    assert len(exported) == 1 and (exported[0] / "model.onnx").is_file()
    OnnxEmbedder.bundled(BUNDLED_NAMES[1], cache_dir=tmp_path)  # exported once: the folder is reused
    assert list((tmp_path / "models").iterdir()) == exported


def test_an_altered_export_is_refused_with_its_remedy(tmp_path: Path) -> None:
    OnnxEmbedder.bundled(BUNDLED_NAMES[0], cache_dir=tmp_path)
    (model,) = (tmp_path / "models").glob("*/model.onnx")
    with model.open("r+b") as f:
        f.seek(5000)
        f.write(b"\0\1\2")
    with pytest.raises(ModelLoadError, match="does not match its sha256 .* delete the folder"):
        OnnxEmbedder.bundled(BUNDLED_NAMES[0], cache_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="is not the bundled model"):
        OnnxEmbedder.bundled("my-model", cache_dir=tmp_path)
