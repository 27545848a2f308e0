"""Vectors as a base plus changes (index/vectors.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import ann, vectors
from index.vectors import Vectors

DIM = 16


def _rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _exact(live: dict[int, np.ndarray], query: np.ndarray, k: int) -> list[int]:
    ids = np.array(list(live))
    return ids[np.argsort(-(np.stack(list(live.values())) @ query), kind="stable")[:k]].tolist()


def _saved(v: Vectors, folder: Path, name: str) -> Vectors:
    folder.mkdir(exist_ok=True)
    base, changes = folder / f"{name}.faiss", folder / f"{name}.changes.npz"
    return Vectors.load(base, changes if v.save(base, changes) else None, DIM)


def test_few_changes_are_saved_on_the_base_linked_from_before(tmp_path: Path) -> None:
    v = Vectors(DIM)
    rows = _rows(200, 0)
    v.add(np.arange(200), rows)
    one = _saved(v, tmp_path, "one")
    one.remove([3, 4])
    one.add(np.array([1000, 1001]), _rows(2, 1))
    one.remove([1001])  # an added one, removed again
    two = _saved(one, tmp_path, "two")
    assert (tmp_path / "two.changes.npz").exists()
    assert (tmp_path / "two.faiss").stat().st_ino == (tmp_path / "one.faiss").stat().st_ino
    live = {i: rows[i] for i in range(200) if i not in (3, 4)} | {1000: _rows(2, 1)[0]}
    assert two.ntotal == len(live)
    ids, got = two.all()
    assert set(ids.tolist()) == set(live) and np.allclose(got[ids.tolist().index(1000)], live[1000])
    for q in _rows(5, 2):
        assert [i for i, _ in two.search(q.reshape(1, -1), 10, None)] == _exact(live, q, 10)
    allowed = np.array([3, 5, 6, 1000, 1001])
    want = _exact({i: live[i] for i in (5, 6, 1000)}, rows[5], 3)
    assert [i for i, _ in two.search(rows[5].reshape(1, -1), 3, allowed)] == want
    assert np.allclose(two.vector(1000), live[1000]) and np.allclose(two.vector(7), rows[7])
    assert np.allclose(two.vectors_of([7, 1000, 5]), np.stack([rows[7], live[1000], rows[5]]))


def test_past_a_tenth_of_changes_a_new_base_of_the_kind_the_size_calls_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ann, "EXACT_UP_TO", 1_000)
    v = Vectors(DIM)
    v.add(np.arange(900), _rows(900, 0))
    one = _saved(v, tmp_path, "one")
    assert not one.approximate
    one.add(np.arange(900, 1500), _rows(600, 1))
    two = _saved(one, tmp_path, "two")
    assert two.approximate and two.ntotal == 1500 and not (tmp_path / "two.changes.npz").exists()
    assert np.allclose(two.vectors_of([1499, 3]), np.stack([_rows(600, 1)[599], _rows(900, 0)[3]]))


def test_a_save_that_fails_leaves_the_vectors_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = Vectors(DIM)
    v.add(np.arange(50), _rows(50, 0))

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vectors.ann, "write", full_disk)
    with pytest.raises(OSError):
        v.save(tmp_path / "one.faiss", tmp_path / "one.changes.npz")
    monkeypatch.undo()
    assert v.ntotal == 50 and _saved(v, tmp_path, "one").ntotal == 50
