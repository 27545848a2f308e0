"""A folder of hostile and broken files, made at test time (nothing large is kept in git).

`make_bad_corpus(folder, outside)` writes one file (or link, FIFO, folder) per kind beside a few good
documents and returns the kinds with what indexing must do with each: "indexed" or "skipped".
"""

from __future__ import annotations

import codecs
import json
import os
import zipfile
from pathlib import Path

from tests.docs import make_docx, make_pdf

GOOD_FACT = "The lighthouse on Karrow Island was built in 1871."

_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx(path: Path, document_xml: str | bytes, compress: bool = True) -> None:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("[Content_Types].xml", _DOCX_TYPES)
        z.writestr("word/document.xml", document_xml)


def _body(text: str) -> str:
    return f'<?xml version="1.0"?><w:document {_W}><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'


def make_bad_corpus(folder: Path, outside: Path) -> dict[str, str]:
    """Write the corpus into `folder`; `outside` is a folder beside it (for links that leave it)."""
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}

    def put(name: str, data: str | bytes, outcome: str) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        expect[name] = outcome
        return path

    # good documents, one per format
    put("good.txt", GOOD_FACT + "\n", "indexed")
    put("good.md", "# Notes\n\nThe ferry to Karrow Island leaves at 9 a.m. every day.\n", "indexed")
    put(
        "good.html",
        "<html><head><title>Tides</title></head><body><p>High tide is at noon.</p></body></html>",
        "indexed",
    )
    put("good.jsonl", json.dumps({"id": "r1", "text": "The island has 312 residents."}) + "\n", "indexed")
    make_pdf(folder / "good.pdf", "The island school opened in 1902.")
    expect["good.pdf"] = "indexed"
    make_docx(folder / "good.docx", ["The harbour was dredged in 1988."])
    expect["good.docx"] = "indexed"
    put("utf16-le.txt", codecs.BOM_UTF16_LE + "The mill closed in 1954.".encode("utf-16-le"), "indexed")
    put("utf16-be.md", codecs.BOM_UTF16_BE + "The chapel seats forty.".encode("utf-16-be"), "indexed")
    put("bell\x07name.txt", "A file whose name holds a control character.", "indexed")
    put("long-word.txt", "Base64 follows: " + "QUJD" * 50_000 + " and the text goes on here.", "indexed")

    # broken text files
    put("empty.txt", b"", "skipped")
    put("blank.md", "   \n\n  \t\n", "skipped")
    put("binary.txt", b"\x00\x01\x02ELF" * 100, "skipped")
    put("late-nul.txt", b"a" * 9000 + b"\x00" + b"tail", "skipped")
    put("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "skipped")
    put("huge.txt", ("All work and no play. " * 50 + "\n") * 12_000, "skipped")  # ~13 MB
    # broken structured files
    put("surrogate.jsonl", '{"id": "s1", "text": "bad \\ud800 half"}\n', "skipped")
    put("invalid.jsonl", "{not json}\n[1, 2]\n", "skipped")
    put("no-text.jsonl", json.dumps({"id": "x", "body": "wrong field"}) + "\n", "skipped")
    put("bad.html", b"<html><body>\xff\xfe<p>broken", "skipped")
    put("script-only.html", "<html><body><script>alert(1)</script></body></html>", "skipped")
    put("garbage.pdf", b"%PDF-1.4\n" + os.urandom(2000), "skipped")
    good_pdf = (folder / "good.pdf").read_bytes()
    put("truncated.pdf", good_pdf[: len(good_pdf) // 3], "skipped")
    make_pdf(folder / "locked.pdf", "A secret.", password="s3cret")
    expect["locked.pdf"] = "skipped"
    put("not-a-zip.docx", b"PK\x03\x04 this is not really a zip file", "skipped")
    _docx(folder / "malformed.docx", _body("unclosed <w:t>tag"))
    expect["malformed.docx"] = "skipped"
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 9)
        )
        + f"]><w:document {_W}><w:body><w:p><w:r><w:t>&lol8;</w:t></w:r></w:p></w:body></w:document>"
    )
    _docx(folder / "laughs.docx", laughs)
    expect["laughs.docx"] = "skipped"
    _docx(folder / "undefined-entity.docx", _body("&nosuchentity;"))
    expect["undefined-entity.docx"] = "skipped"
    # 150 MB of XML deflated to about 150 KB: refused by its declared size before it is parsed
    _docx(folder / "xml-bomb.docx", _body("a").replace("</w:body>", " " * 150_000_000 + "</w:body>"))
    expect["xml-bomb.docx"] = "skipped"
    with zipfile.ZipFile(folder / "no-document.docx", "w") as z:
        z.writestr("[Content_Types].xml", _DOCX_TYPES)
    expect["no-document.docx"] = "skipped"
    # things that are not regular files inside the folder
    put("unsupported.exe", b"MZ\x90\x00", "skipped")
    put("README", "no extension", "skipped")
    (folder / "folder.txt").mkdir()
    os.symlink(folder / "does-not-exist.txt", folder / "dangling.txt")
    expect["dangling.txt"] = "skipped"
    os.mkfifo(folder / "pipe.txt")
    expect["pipe.txt"] = "skipped"
    (outside / "secret.txt").write_text("root:x:0:0:outside the folder", encoding="utf-8")
    os.symlink(outside / "secret.txt", folder / "escape.txt")
    expect["escape.txt"] = "skipped"
    os.symlink(outside, folder / "escape-dir")
    expect["escape-dir/secret.txt"] = "skipped"
    os.symlink(folder / "good.txt", folder / "inside-link.txt")  # within the folder: read once, as good.txt
    return expect
