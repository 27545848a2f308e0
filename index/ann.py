"""Which FAISS index holds a folder index's vectors: exact search up to a size, approximate past it.

Up to `EXACT_UP_TO` chunks the vectors sit in an `IndexIDMap2(IndexFlatIP)` and every search is
exact (about 8 ms per question at 50k vectors on 2 cores, growing linearly: 161 ms at 1M). Past it,
`fit` (called at each save) moves them into an `IndexIVFFlat`: the same normalised vectors, grouped
into `nlist` k-means lists (about 4 x sqrt(n)); a search reads the `nprobe` lists nearest the
question: 2 x sqrt(nlist) of them (`PROBES_PER_ROOT`), chosen on SciFact dev claims against the
`scripts/bench_scale.py` indexes for recall@10 against exact search of at least 0.97: 64 of 1,024
lists at 101k chunks gave 0.9867 (32: 0.9667), 128 of 4,096 at 1.01M gave 1.0 (64: 0.9878).
When a new base is written (index/vectors.py), the lists are trained again only if the index has
grown (or shrunk) fourfold since they were, and one that falls under half of `EXACT_UP_TO` goes
back to exact.

A search limited to some documents (`within`) over an IVF index is exact over their vectors when
they are few (`EXACT_UP_TO` or fewer), so a filter never loses a chunk to an unprobed list.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

EXACT_UP_TO = 50_000
PROBES_PER_ROOT = 2  # lists read per question: this times the square root of their number
MIN_NPROBE = 16
_TRAIN_PER_LIST = 40  # k-means sample: this many vectors per list (FAISS asks for at least 39)
_TRAIN_ITERATIONS = 10


def exact(dimension: int) -> Any:
    """An empty exact index (inner product over normalised vectors = cosine)."""
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def is_approximate(index: Any) -> bool:
    import faiss

    return isinstance(index, faiss.IndexIVF)


def lists_for(n: int) -> int:
    """How many IVF lists suit `n` vectors: a power of two near 4 x sqrt(n)."""
    return 1 << max(6, round(math.log2(4 * math.sqrt(max(n, 1)))))


def probes_for(nlist: int) -> int:
    return min(nlist, max(MIN_NPROBE, round(PROBES_PER_ROOT * math.sqrt(nlist))))


def fit(index: Any, seed: int = 0) -> Any:
    """`index`, or a new one holding the same vectors and ids, of the kind its size calls for."""
    n = index.ntotal
    if not is_approximate(index):
        return approximate(*all_vectors(index), seed=seed) if n > EXACT_UP_TO else index
    if n < EXACT_UP_TO // 2:
        ids, vectors = all_vectors(index)
        flat = exact(index.d)
        if n:
            flat.add_with_ids(vectors, ids)
        return flat
    wanted = lists_for(n)
    if wanted >= 4 * index.nlist or 4 * wanted <= index.nlist:
        return approximate(*all_vectors(index), seed=seed)
    return index


def approximate(ids: np.ndarray, vectors: np.ndarray, seed: int = 0) -> Any:
    """An IVF index over `vectors` (L2-normalised float32 rows) under `ids`, lists trained on a
    seeded sample of them."""
    import faiss

    n, dimension = vectors.shape
    nlist = min(lists_for(n), n)  # k-means needs a point for every list
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = _TRAIN_ITERATIONS
    ivf.cp.seed = seed
    sample = min(n, nlist * _TRAIN_PER_LIST)
    rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    ivf.train(np.ascontiguousarray(vectors[rows]))
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # lookups by id
    ivf.nprobe = probes_for(nlist)
    for start in range(0, n, 100_000):
        ivf.add_with_ids(vectors[start : start + 100_000], ids[start : start + 100_000])
    return ivf


def all_vectors(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every `(ids, vectors)` an index holds (exact or IVF), in storage order."""
    import faiss

    n = index.ntotal
    if not n:
        return np.zeros(0, np.int64), np.zeros((0, index.d), np.float32)
    if not is_approximate(index):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        return ids, index.index.reconstruct_n(0, n)
    lists = index.invlists
    id_parts, vector_parts = [], []
    for i in range(index.nlist):
        size = lists.list_size(i)
        if size:
            id_parts.append(faiss.rev_swig_ptr(lists.get_ids(i), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(i), size * lists.code_size)
            vector_parts.append(
                np.frombuffer(codes.copy().tobytes(), dtype=np.float32).reshape(size, index.d)
            )
    return np.concatenate(id_parts).astype(np.int64), np.ascontiguousarray(np.concatenate(vector_parts))


def remove(index: Any, ids: np.ndarray) -> None:
    import faiss

    selector = faiss.IDSelectorArray(ids) if is_approximate(index) else faiss.IDSelectorBatch(ids)
    index.remove_ids(selector)


def search(
    index: Any, query: np.ndarray, k: int, allowed: np.ndarray | None, excluded: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ids of the `k` best rows for one query row (ids -1 where fewer), limited to
    `allowed` ids when given, else leaving out `excluded` ones."""
    import faiss

    if allowed is None:
        if excluded is None:
            return index.search(query, k)
        batch = faiss.IDSelectorBatch(excluded)  # kept referenced while the search runs
        return _search_selected(index, query, k, faiss.IDSelectorNot(batch))
    if is_approximate(index) and len(allowed) <= EXACT_UP_TO:
        vectors = index.reconstruct_batch(allowed)
        scores = vectors @ query[0]
        top = np.argsort(-scores, kind="stable")[:k]
        return scores[top].reshape(1, -1), allowed[top].reshape(1, -1)
    return _search_selected(index, query, k, faiss.IDSelectorBatch(allowed))


def _search_selected(index: Any, query: np.ndarray, k: int, selector: Any) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    params: Any = (
        faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)  # type: ignore[call-arg]
        if is_approximate(index)
        else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    )
    return index.search(query, k, params=params)


def write(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def read(path: Path, mapped: bool) -> Any:
    """Read a vectors file; `mapped` memory-maps an IVF index's lists (read-only: never changed in
    place, see index/vectors.py)."""
    import faiss

    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mapped else 0
    index: Any = faiss.read_index(str(path), flags)
    if is_approximate(index):  # the share chosen now, whatever the file was written with
        index.nprobe = probes_for(index.nlist)
    return index
