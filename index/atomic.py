"""Atomic writes: a file or folder is written beside its target, then renamed over it in one step.

A crash, a full disk or Ctrl-C at any moment leaves either the old target or the new one, never a
half-written mix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success fsync it and rename it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it becomes `target`.

    A new `target` appears in one rename; an existing one is moved aside first (two renames), so
    use a new name where readers must never miss the folder.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield tmp
        if target.exists():  # os.replace cannot put a folder over a non-empty one: move the old one aside
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_folder(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(target: Path, text: str) -> None:
    """Write `text` (UTF-8) to `target` atomically."""
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


REWRITE_SHARE = 0.1  # changes on top of a base, at most this share of it (index/store.py)


def keeps_base(changes: int, base: int) -> bool:
    """Whether `changes` can be saved on top of a base of `base` rows (files linked, not rewritten),
    or the part must be written anew: the one rule for vectors, records, BM25 and sentences."""
    return changes <= REWRITE_SHARE * max(base, 1)


def link_or_copy(source: Path, target: Path) -> None:
    """Make `target` the same file as `source` without copying it: a hard link (files are never
    changed in place, so generations can share them); a copy where the file system has none."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        with atomic_file(target) as tmp:
            shutil.copyfile(source, tmp)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a folder; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
