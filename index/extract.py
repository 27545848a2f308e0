"""Turn one file into text: decoding, the PDF, .docx and HTML parsers, and the bounds on their output.

Every failure is a `SkipFile` with a reason a person can act on. `extract` is what the worker process
runs for the formats with parsers (index/worker.py); plain text and JSON lines are decoded in place.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.limits import Limits
from index.types import Extracted


class SkipFile(Exception):
    """Raised by a reader: the file is not indexed, for the reason given."""


PARSED_SUFFIXES = (".html", ".htm", ".pdf", ".docx")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def check_file(path: Path, limits: Limits | None) -> None:
    """SkipFile when the file is empty, too large, gone or unreadable; nothing is read. Without
    `limits` any size passes (a .jsonl collection: its limits are per record)."""
    with _reasons():
        size = path.stat().st_size
        if size == 0:
            raise SkipFile("empty file")
        if limits is not None and size > limits.max_file_mb * 1024 * 1024:
            raise SkipFile(
                f"{size / 1024 / 1024:.1f} MB, over the {limits.max_file_mb:g} MB limit "
                "(RAG_MAX_FILE_MB); split the file or raise the limit"
            )
        path.open("rb").close()  # readable by this user


def read_bytes(path: Path, limits: Limits | None) -> bytes:
    """The file's bytes, after `check_file`."""
    check_file(path, limits)
    with _reasons():
        return path.read_bytes()


@contextmanager
def _reasons() -> Iterator[None]:
    """OS errors while reading a file, as SkipFile reasons a person can act on."""
    try:
        yield
    except FileNotFoundError:
        raise SkipFile("the file vanished while the run was reading the folder") from None
    except PermissionError:
        raise SkipFile("permission denied; let this user read the file") from None
    except IsADirectoryError:
        raise SkipFile("a folder, not a file") from None
    except OSError as exc:
        raise SkipFile(f"cannot be read ({exc.strerror or exc})") from None


def decode(data: bytes) -> str:
    """Text from bytes: UTF-8, or UTF-16/32 when a byte-order mark says so; binary data is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError:
                raise SkipFile(
                    f"starts like {encoding.upper()} but does not decode as it; re-save as UTF-8"
                ) from None
    if b"\x00" in data:
        raise SkipFile(
            f"binary data (a NUL byte at offset {data.index(0)}), not text; convert it to .txt, .md, .pdf or .docx"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkipFile(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None


def bound_text(text: str, limits: Limits) -> str:
    """`text` with over-long runs of non-space characters replaced by "…"; SkipFile when it is
    longer than the limit."""
    if len(text) > limits.max_text_chars:
        raise SkipFile(
            f"{len(text):,} characters of text, over the {limits.max_text_chars:,} limit "
            "(RAG_MAX_TEXT_CHARS); split the file or raise the limit"
        )
    return re.sub(rf"\S{{{limits.max_word_chars + 1},}}", "…", text)


def extract(path: str, limits: Limits) -> Extracted:
    """The title and text of a plain-text, Markdown, HTML, PDF or .docx file (and a PDF's pages)."""
    p = Path(path)
    found = _READERS[p.suffix.lower()](p, limits)
    if not found.text.strip():
        raise SkipFile("no text in the file (empty, or a scanned PDF without a text layer)")
    # bound_text leaves a PDF's text as it is (its pages were bounded one by one, so their starts hold)
    return Extracted(_valid(found.title), _valid(bound_text(found.text, limits)), found.pages)


def _valid(text: str) -> str:
    """`text` with any unpaired surrogate (a parser's damaged output) replaced, so it encodes as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _read_text(path: Path, limits: Limits) -> Extracted:
    text = decode(read_bytes(path, limits))
    title = ""
    if path.suffix.lower() in (".md", ".markdown"):
        heading = re.search(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", text[:100_000], flags=re.MULTILINE)
        title = heading.group(1) if heading else ""
    return Extracted(title, text)


def _read_html(path: Path, limits: Limits) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode(read_bytes(path, limits)), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    body = soup.body or soup
    lines = (line.strip() for line in body.get_text("\n").splitlines())
    return Extracted(title, "\n\n".join(line for line in lines if line))


def _read_pdf(path: Path, limits: Limits) -> Extracted:
    import logging

    from pypdf import PdfReader

    check_file(path, limits)  # the size limit, and a clear reason for a vanished file
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on damaged files are ours to word
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF; remove the password (e.g. print to a new PDF) and index it again")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            pages.append(bound_text((page.extract_text() or "").strip(), limits))
            total += len(pages[-1])
            if total > limits.max_text_chars:
                bound_text("x" * total, limits)  # raises: the same reason as for any long text
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else ""
    except SkipFile:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise SkipFile("encrypted PDF; remove the password and index it again") from None
        raise SkipFile(
            f"unreadable PDF ({type(exc).__name__}: {_short(exc)}); re-export or re-download it"
        ) from None
    starts, at = [], 0
    for text in pages:  # the text joins the pages that have text with a blank line
        starts.append(at)
        at += len(text) + 2 if text else 0
    return Extracted(title, "\n\n".join(p for p in pages if p), tuple(starts))


def _read_docx(path: Path, limits: Limits) -> Extracted:
    import docx2txt

    check_file(path, limits)
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if "word/document.xml" not in names:
                raise SkipFile("not a Word document (no word/document.xml inside); re-save it as .docx")
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > limits.max_unpacked_mb * 1024 * 1024:
            raise SkipFile(
                f"unpacks to {unpacked / 1024 / 1024:,.0f} MB, over the {limits.max_unpacked_mb:g} MB "
                "limit (RAG_MAX_UNPACKED_MB); a document this size is almost always damaged or hostile"
            )
        text = docx2txt.process(str(path))
    except SkipFile:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # zip and XML errors: damaged, truncated, password-protected, hostile
        raise SkipFile(
            f"not a valid .docx ({type(exc).__name__}: {_short(exc)}); re-save it from the word processor"
        ) from None
    return Extracted("", re.sub(r"\n{3,}", "\n\n", text).strip())


def _short(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:160]


_READERS: dict[str, Callable[[Path, Limits], Extracted]] = {
    ".txt": _read_text,
    ".md": _read_text,
    ".markdown": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
