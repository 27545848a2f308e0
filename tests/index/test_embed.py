"""Model loading: the pinned bundled weights, a user's local model folder, clear failures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from index.embed import BUNDLED_WEIGHTS_SHA256, SentenceTransformerEmbedder, bundled_model_dir, verify_weights
from index.errors import ModelLoadError


@pytest.mark.integration
def test_bundled_model_vectors_are_normalised(minilm: SentenceTransformerEmbedder) -> None:
    docs = minilm.embed_documents(["Hangzhou hosted the first pilot zone.", "Temu is owned by PDD."])
    assert docs.shape == (2, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    q = minilm.embed_query("Which city had the first pilot zone?")
    assert float(docs[0] @ q) > float(docs[1] @ q)
    assert SentenceTransformerEmbedder.load(minilm.name) is minilm  # loaded once per process


@pytest.mark.unit
def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model" / "model.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: more than one block of the hash
    pinned = hashlib.sha256(weights.read_bytes()).hexdigest()
    verify_weights(weights, pinned, "reinstall it")
    with weights.open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ModelLoadError, match=f"sha256 .* expected {pinned}.*reinstall"):
        verify_weights(weights, pinned, "reinstall it")
    weights.unlink()
    with pytest.raises(ModelLoadError, match="are missing"):
        verify_weights(weights, pinned, "reinstall it")


@pytest.mark.integration
def test_the_bundled_weights_match_their_pin() -> None:
    verify_weights(bundled_model_dir() / "model.safetensors", BUNDLED_WEIGHTS_SHA256, "reinstall")


@pytest.mark.integration
def test_user_named_local_model_loads(tmp_path: Path) -> None:
    """A tiny sentence-transformers model made here, loaded by path like a user's own model."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hf_dir = tmp_path / "tiny-bert"
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37
    )
    BertModel(config).save_pretrained(hf_dir)
    BertTokenizerFast(vocab_file=str(bundled_model_dir() / "vocab.txt")).save_pretrained(hf_dir)
    st_dir = tmp_path / "tiny-st"
    transformer = models.Transformer(str(hf_dir), max_seq_length=64)
    SentenceTransformer(modules=[transformer, models.Pooling(32)]).save(str(st_dir))

    emb = SentenceTransformerEmbedder.load(str(st_dir))
    assert emb.dimension == 32
    vectors = emb.embed_documents(["one", "two words"])
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.unit
def test_missing_local_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        SentenceTransformerEmbedder.load(str(tmp_path / "no-model"))
