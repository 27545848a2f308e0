"""Benchmark: the worst single files the limits allow, indexed as `rag index` does.

    python -m scripts.bench_limits [--out reports/bench_limits.json] [--chars N]

For each case a fresh `rag index` process indexes one generated file; the figures are its wall time
and its peak resident memory (VmHWM, which the process reports as it exits; the extraction worker
it starts is capped by RAG_EXTRACT_MEMORY_MB). Cases:
plain text at the text limit (RAG_MAX_TEXT_CHARS, default 10,000,000 characters), one 10 MB line
without spaces (over-long words), a .docx whose XML unpacks past the limit, and a 300 MB-of-XML
HTML-like .docx bomb. Also the time the sentence splitter takes for 1, 2, 4 and 8 MB of text, to
show it grows linearly.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from index.limits import Limits
from index.sentences import sentence_spans
from scripts.common import script_parser, write_report

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "the",
    "pilot",
    "zone",
    "ships",
    "parcels",
    "to",
    "buyers",
    "in",
    "Europe",
    "and",
    "Africa",
    "through",
    "bonded",
    "warehouses",
]


def _prose(chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    while total < chars:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24))).capitalize() + "."
        parts.append(sentence + ("\n\n" if rng.random() < 0.2 else " "))
        total += len(parts[-1])
    return "".join(parts)[:chars]


def _docx(path: Path, xml_bytes: int) -> None:
    body = " " * xml_bytes
    xml = (
        '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>a</w:t></w:r></w:p>{body}</w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", xml)


# `rag index ARGS`, then its own peak resident set (VmHWM: this process only, counted from its exec)
_REPORTING_PEAK = (
    "import atexit, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'): print('peak-rss-kb', line.split()[1], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from ui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _index_one(path: Path, tmp: Path) -> dict[str, Any]:
    """Index `path` in a fresh `rag index` process; its time, peak RSS and summary."""
    folder = tmp / f"in-{path.stem}"
    folder.mkdir()
    os.replace(path, folder / path.name)
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _REPORTING_PEAK,
            "index",
            str(folder),
            "--index-dir",
            str(tmp / f"idx-{path.stem}"),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    seconds = time.perf_counter() - t0
    peak_kb = re.search(r"peak-rss-kb (\d+)", done.stderr)
    return {
        "file_mb": round((folder / path.name).stat().st_size / 1024 / 1024, 1),
        "exit_code": done.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(int(peak_kb.group(1)) / 1024, 1) if peak_kb else None,
        "summary": (done.stdout.strip().splitlines() or [_error_line(done.stderr)])[0],
        "skipped": [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")],
    }


def _error_line(stderr: str) -> str:
    return next((line for line in stderr.splitlines() if line.startswith("error:")), stderr.strip()[-300:])


def main() -> None:
    parser = script_parser(__doc__, "bench_limits.json", cache=False)
    parser.add_argument(
        "--chars", type=int, default=Limits().max_text_chars, help="characters of the text case"
    )
    args = parser.parse_args()
    figures: dict[str, Any] = {"limits": vars(Limits()), "sentence_split_seconds": {}, "cases": {}}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "long-line.txt").write_text("x" * 10_000_000, encoding="utf-8")
        figures["cases"]["10 MB line without spaces"] = _index_one(tmp / "long-line.txt", tmp)
        _docx(tmp / "bomb.docx", 300_000_000)
        figures["cases"]["docx unpacking to 300 MB"] = _index_one(tmp / "bomb.docx", tmp)
        (tmp / "at-limit.txt").write_text(_prose(args.chars, seed=1), encoding="utf-8")
        figures["cases"][f"text of {args.chars:,} characters"] = _index_one(tmp / "at-limit.txt", tmp)
    text = _prose(8_000_000)
    sentence_spans(text[:1000])  # the tokenizer's tables load once, outside the timings
    for mb in (1, 2, 4, 8):
        t0 = time.perf_counter()
        n = len(sentence_spans(text[: mb * 1_000_000]))
        figures["sentence_split_seconds"][f"{mb} MB"] = {
            "seconds": round(time.perf_counter() - t0, 2),
            "sentences": n,
        }
    figures["peak_rss_mb"] = max(c["peak_rss_mb"] or 0 for c in figures["cases"].values())
    figures["machine"] = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    write_report(args.out, figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
