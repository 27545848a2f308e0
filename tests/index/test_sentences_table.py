"""Sentence vectors stored as a base plus changes (index/sentences_table.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.sentences_table import SentenceTable

DIM = 4


def _vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def _table(docs: int) -> SentenceTable:
    table = SentenceTable(DIM)
    for d in range(docs):
        table.add(f"doc-{d:02d}", [(0, 5), (6, 12), (13, 20)], _vectors(3, d))
    return table


def _same(a: SentenceTable, b: SentenceTable, doc_ids: list[str]) -> None:
    assert len(a) == len(b)
    for d in doc_ids:
        got, want = a.of(d), b.of(d)
        assert (got is None) == (want is None)
        if got and want:
            assert got[0] == want[0] and np.array_equal(got[1], want[1])


def test_small_changes_are_written_on_the_base_linked_from_before(tmp_path: Path) -> None:
    _table(40).save(tmp_path / "one")
    table = SentenceTable.load(tmp_path / "one", DIM)
    table.remove("doc-03")
    table.add("doc-05", [(0, 9)], _vectors(1, 99))  # replaced
    table.add("new", [(0, 4), (5, 9)], _vectors(2, 98))
    table.save(tmp_path / "two")
    assert (tmp_path / "two" / "changes" / "gone.json").exists()
    assert (tmp_path / "two" / "vectors.npy").stat().st_ino == (
        tmp_path / "one" / "vectors.npy"
    ).stat().st_ino
    again = SentenceTable.load(tmp_path / "two", DIM)
    ids = [f"doc-{d:02d}" for d in range(40)] + ["new"]
    _same(again, table, ids)
    assert "doc-03" not in again and again.lookup([("doc-05", 0, 9), ("doc-05", 6, 12)])[1] is None
    again.add("newer", [(0, 3)], _vectors(1, 97))  # changes on changes
    again.save(tmp_path / "three")
    _same(SentenceTable.load(tmp_path / "three", DIM), again, [*ids, "newer"])


def test_past_a_tenth_of_the_rows_in_changes_the_table_is_written_anew(tmp_path: Path) -> None:
    _table(10).save(tmp_path / "one")
    table = SentenceTable.load(tmp_path / "one", DIM)
    table.remove("doc-00")
    table.remove("doc-01")
    table.save(tmp_path / "two")
    assert not (tmp_path / "two" / "changes").exists()
    _same(SentenceTable.load(tmp_path / "two", DIM), table, [f"doc-{d:02d}" for d in range(10)])
