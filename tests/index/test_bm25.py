"""BM25 with changes on top of a base (index/bm25.py): the same scores a rebuild gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.bm25 import BM25Index

# every text has five words once stop words go, so the average length is the same with or without any
TEXTS = [
    "Hangzhou opened the first pilot zone",
    "Ningbo customs cleared parcels quickly",
    "Shenzhen sellers ship electronics abroad",
    "Hangzhou sellers trust bonded warehouses",
    "Alibaba founded Tmall Global shops",
    "Parcels cross borders daily everywhere",
]


def _scores(index: BM25Index, query: str) -> dict[int, float]:
    return dict(index.search(query, 10))


def test_added_chunks_score_as_in_a_full_build_and_the_base_keeps_its_own_scores() -> None:
    full = BM25Index.build(enumerate(TEXTS))
    base = BM25Index.build((i, t) for i, t in enumerate(TEXTS) if i not in (3, 5))
    before = {q: _scores(base, q) for q in ("Hangzhou sellers", "parcels", "bonded warehouses in Hangzhou")}
    base.add(3, TEXTS[3])
    base.add(5, TEXTS[5])
    for query, old in before.items():
        got, want = _scores(base, query), _scores(full, query)
        assert got.keys() == want.keys()
        for fid in (3, 5):  # scored with the statistics of the whole
            if fid in want:
                assert got[fid] == pytest.approx(want[fid], rel=1e-5)
        assert {f: v for f, v in got.items() if f not in (3, 5)} == old  # until the base is built again


def test_removed_chunks_are_never_found_and_within_still_limits() -> None:
    index = BM25Index.build(enumerate(TEXTS))
    index.remove([0])
    assert set(_scores(index, "Hangzhou")) == {3}
    index.add(9, "Hangzhou again and again")
    index.remove([9])  # an added chunk removed again
    assert set(_scores(index, "Hangzhou")) == {3}
    assert [f for f, _ in index.search("Hangzhou sellers", 5, allowed=[2, 4])] == [2]


def test_changes_are_saved_on_a_base_linked_from_the_generation_before(tmp_path: Path) -> None:
    BM25Index.build(enumerate(TEXTS[:4])).save(tmp_path / "one")
    one = BM25Index.load(tmp_path / "one")
    one.add(4, TEXTS[4])
    one.remove([1])
    one.save(tmp_path / "two")
    two = BM25Index.load(tmp_path / "two")
    assert _scores(two, "Tmall Global parcels Ningbo") == _scores(one, "Tmall Global parcels Ningbo")
    assert set(_scores(two, "Tmall Global parcels Ningbo")) == {4}
    assert (tmp_path / "two" / "ids.npy").stat().st_ino == (tmp_path / "one" / "ids.npy").stat().st_ino


def test_past_a_tenth_of_the_base_in_changes_it_must_be_built_again() -> None:
    index = BM25Index.build((i, f"word{i} text{i} more{i}") for i in range(40))
    assert index.can_change()
    index.remove(range(4))
    assert index.can_change()
    index.add(100, "one more")
    assert not index.can_change()
