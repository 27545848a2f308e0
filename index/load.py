"""Read files and folders into `Document`s, skipping (with a reason) what cannot be read."""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import InputError
from index.types import Document, Skipped

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl")


class SkipFile(Exception):
    """Raised by a reader: the file is not indexed, for the reason given."""


@dataclass(frozen=True)
class LoadResult:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    files: tuple[str, ...]  # every supported file that was looked at


def find_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders (recursively, hidden entries ignored) into files to read.

    Raises InputError for a path that does not exist or a folder with no supported files, before
    anything is read, so a typo never changes an index.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputError(
                f"path '{raw}' does not exist; check the spelling or give another file or folder"
            )
        path = path.resolve()
        if path.is_dir():
            found = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            supported = [p for p in found if p.suffix.lower() in SUPPORTED_SUFFIXES]
            if not supported:
                raise InputError(
                    f"folder '{raw}' contains no supported documents "
                    f"({', '.join(SUPPORTED_SUFFIXES)}); add some or point at another folder"
                )
            skipped += [Skipped(str(p), _unsupported(p)) for p in found if p not in supported]
            candidates = supported
        else:
            candidates = [path]
        for p in candidates:
            if p not in seen:
                seen.add(p)
                files.append(p)
    return files, skipped


def load_paths(
    paths: Iterable[str | os.PathLike[str]], on_file: Callable[[Path], None] | None = None
) -> LoadResult:
    """Read every supported file under `paths`; unreadable files are skipped with a reason."""
    files, skipped = find_files(paths)
    documents: list[Document] = []
    looked_at: list[str] = []
    ids: dict[str, str] = {}
    for path in files:
        if on_file is not None:
            on_file(path)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(Skipped(str(path), _unsupported(path)))
            continue
        looked_at.append(str(path))
        try:
            docs, bad_lines = load_file(path)
        except SkipFile as exc:
            skipped.append(Skipped(str(path), str(exc)))
            continue
        skipped += bad_lines
        for doc in docs:
            if doc.doc_id in ids:
                skipped.append(
                    Skipped(
                        doc.source, f"duplicate document id '{doc.doc_id}' (first seen in {ids[doc.doc_id]})"
                    )
                )
                continue
            ids[doc.doc_id] = doc.source
            documents.append(doc)
    return LoadResult(tuple(documents), tuple(skipped), tuple(looked_at))


def load_file(path: Path) -> tuple[list[Document], list[Skipped]]:
    """Read one file. Raises SkipFile with a reason a person can act on."""
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise SkipFile("empty file")
    if suffix == ".jsonl":
        return _read_jsonl(path)
    reader = _READERS[suffix]
    title, text = reader(path)
    if not text.strip():
        raise SkipFile("no text in the file (empty, or a scanned PDF without a text layer)")
    doc = Document(doc_id=str(path), source=str(path), origin=str(path), title=title, text=text)
    return [doc], []


def _unsupported(path: Path) -> str:
    kind = path.suffix or "(no extension)"
    return f"unsupported file type {kind}; supported: {', '.join(SUPPORTED_SUFFIXES)}"


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise SkipFile("binary file, not text; convert it to .txt, .md, .pdf or .docx")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None


def _read_text(path: Path) -> tuple[str, str]:
    text = _decode(path.read_bytes())
    title = ""
    if path.suffix.lower() in (".md", ".markdown"):
        heading = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
        title = heading.group(1) if heading else ""
    return title, text


def _read_html(path: Path) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path.read_bytes()), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    body = soup.body or soup
    lines = (line.strip() for line in body.get_text("\n").splitlines())
    return title, "\n\n".join(line for line in lines if line)


def _read_pdf(path: Path) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF; remove the password (e.g. print to a new PDF) and index it again")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else ""
    except SkipFile:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise SkipFile(f"unreadable PDF (damaged or truncated: {exc}); re-export or re-download it") from None
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise SkipFile("encrypted PDF; remove the password and index it again") from None
        raise SkipFile(f"unreadable PDF ({type(exc).__name__}: {exc}); re-export or re-download it") from None
    return title, "\n\n".join(p.strip() for p in pages if p.strip())


def _read_docx(path: Path) -> tuple[str, str]:
    import docx2txt

    try:
        text = docx2txt.process(str(path))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SkipFile(f"not a valid .docx (damaged, truncated or password-protected: {exc})") from None
    return "", re.sub(r"\n{3,}", "\n\n", text).strip()


def json_lines(text: str) -> Iterator[tuple[int, Any, str]]:
    """Each non-blank line of a JSON-lines text: its number (from 1), its value, and '' (or, when
    the line is not valid JSON, None and the decoder's message)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield lineno, json.loads(line), ""
            except json.JSONDecodeError as exc:
                yield lineno, None, exc.msg


def _read_jsonl(path: Path) -> tuple[list[Document], list[Skipped]]:
    text = _decode(path.read_bytes())
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
                text=record["text"],
                metadata=metadata,
            )
        )
    if not docs and not bad:
        raise SkipFile("empty file")
    if not docs:
        raise SkipFile(f"no usable records ({bad[0].reason})")
    return docs, bad


_READERS: dict[str, Callable[[Path], tuple[str, str]]] = {
    ".txt": _read_text,
    ".md": _read_text,
    ".markdown": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
