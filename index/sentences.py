"""Sentence spans in a document, so answers can quote whole sentences at exact offsets."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any

# Blocks are separated by blank lines; list items and headings sit on lines of their own.
_BLOCK = re.compile(r"\S(?:.*\S)?(?:\n[ \t]*\S(?:.*\S)?)*")
_LINE_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#{1,6})\s", re.MULTILINE)


@cache
def use_llama_index_nltk_data() -> None:
    """Let nltk find the punkt tables and stopwords that llama-index ships, so nothing is downloaded."""
    import nltk

    spec = importlib.util.find_spec("llama_index.core")
    if spec is not None and spec.submodule_search_locations:
        cache_dir = Path(next(iter(spec.submodule_search_locations))) / "_static" / "nltk_cache"
        if str(cache_dir) not in nltk.data.path:
            nltk.data.path.append(str(cache_dir))


@cache
def _punkt() -> Any:
    from nltk.tokenize import PunktTokenizer

    use_llama_index_nltk_data()
    tokenizer = PunktTokenizer("english")
    # Abbreviations punkt's English table misses; a split after them would cut a quote in half.
    tokenizer._params.abbrev_types.update(
        {"e.g", "i.e", "etc", "vs", "approx", "fig", "no", "jan", "feb", "dec"}
    )
    return tokenizer


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return `(start, end)` offsets of the sentences in `text`, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    for block in _BLOCK.finditer(text):
        lines = [block.span()]
        if _LINE_ITEM.search(block.group()):
            lines = [
                (block.start() + m.start(), block.start() + m.end())
                for m in re.finditer(r"\S(?:.*\S)?", block.group())
            ]
        for b_start, b_end in lines:
            piece = text[b_start:b_end]
            spans += [(b_start + s, b_start + e) for s, e in _punkt().span_tokenize(piece)]
    return spans
