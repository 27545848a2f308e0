"""Read files and folders into `Document`s; a file that cannot be read is skipped with a reason
and the run goes on."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.extract import PARSED_SUFFIXES, SkipFile, bound_text, check_file, decode, extract, read_bytes
from index.find import SUPPORTED_SUFFIXES, find_files
from index.limits import Limits
from index.types import Document, Skipped
from index.worker import ExtractWorker

__all__ = ["SUPPORTED_SUFFIXES", "LoadResult", "find_files", "json_lines", "load_file", "load_paths"]


@dataclass(frozen=True)
class LoadResult:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    files: tuple[str, ...]  # every supported file that was looked at


def load_paths(
    paths: Iterable[str | os.PathLike[str]],
    on_file: Callable[[Path], None] | None = None,
    limits: Limits | None = None,
    follow_links: bool = False,
    exclude: Sequence[str | os.PathLike[str]] = (),
) -> LoadResult:
    """Read every supported file under `paths` (see `find_files` for links and `exclude`); files
    that cannot be read, or are past a limit, are skipped with a reason."""
    limits = limits or Limits()
    files, skipped = find_files(paths, follow_links, exclude)
    documents: list[Document] = []
    looked_at: list[str] = []
    ids: dict[str, str] = {}
    with ExtractWorker(limits) as worker:
        for path in files:
            if on_file is not None:
                on_file(path)
            looked_at.append(str(path))
            try:
                docs, bad_lines = load_file(path, limits, worker)
            except SkipFile as exc:
                skipped.append(Skipped(str(path), str(exc)))
                continue
            skipped += bad_lines
            for doc in docs:
                if doc.doc_id in ids:
                    skipped.append(
                        Skipped(
                            doc.source,
                            f"duplicate document id '{doc.doc_id}' (first seen in {ids[doc.doc_id]})",
                        )
                    )
                    continue
                ids[doc.doc_id] = doc.source
                documents.append(doc)
    return LoadResult(tuple(documents), tuple(skipped), tuple(looked_at))


def load_file(
    path: Path, limits: Limits | None = None, worker: ExtractWorker | None = None
) -> tuple[list[Document], list[Skipped]]:
    """Read one file (PDF, .docx and HTML through `worker` when given). Raises SkipFile with a
    reason a person can act on."""
    limits = limits or Limits()
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path, limits)
    if worker is not None and suffix in PARSED_SUFFIXES:
        check_file(path, limits)  # size and existence, before a process is asked
        found = worker.extract(path)
    else:
        found = extract(str(path), limits)
    doc = Document(str(path), str(path), str(path), found.title, found.text, pages=found.pages)
    return [doc], []


def json_lines(text: str) -> Iterator[tuple[int, Any, str]]:
    """Each non-blank line of a JSON-lines text: its number (from 1), its value, and '' (or, when
    the line is not valid JSON, None and the decoder's message)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield lineno, json.loads(line), ""
            except json.JSONDecodeError as exc:
                yield lineno, None, exc.msg


def _read_jsonl(path: Path, limits: Limits) -> tuple[list[Document], list[Skipped]]:
    text = decode(read_bytes(path, None))  # a collection: the limits apply to each record
    docs: list[Document] = []
    bad: list[Skipped] = []
    seen: set[str] = set()
    for lineno, record, error in json_lines(text):
        where = f"{path}:{lineno}"
        if error:
            bad.append(Skipped(where, f"invalid JSON ({error}); each line must be one JSON object"))
            continue
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("text"), str)
            or not record["text"].strip()
        ):
            bad.append(Skipped(where, "no 'text' field with a non-empty string; each line needs one"))
            continue
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
            body = bound_text(record["text"], limits)
        except UnicodeEncodeError as exc:
            bad.append(
                Skipped(
                    where,
                    f"an unpaired surrogate ({exc.object[exc.start : exc.end]!a}) is not text; fix the line",
                )
            )
            continue
        except SkipFile as exc:
            bad.append(Skipped(where, str(exc)))
            continue
        raw_id = record.get("id", record.get("_id"))
        doc_id = str(raw_id) if raw_id is not None and str(raw_id) else f"{path.name}:{lineno}"
        if doc_id in seen:
            bad.append(Skipped(where, f"duplicate id '{doc_id}' in this file; ids must be unique"))
            continue
        seen.add(doc_id)
        title = record.get("title")
        metadata = {
            k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in record.items()
            if k not in ("text", "id", "_id", "title")
        }
        docs.append(
            Document(
                doc_id=doc_id,
                source=f"{path}#{doc_id}",
                origin=str(path),
                title=title if isinstance(title, str) else "",
                text=body,
                metadata=metadata,
            )
        )
    if not docs and not bad:
        raise SkipFile("empty file")
    if not docs:
        raise SkipFile(f"no usable records ({bad[0].reason})")
    return docs, bad
