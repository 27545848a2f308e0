"""Citation numbering: 1..N in order of first use, one number per source document."""

from __future__ import annotations

import pytest

from rag.cite import cite
from rag.types import Citation

pytestmark = pytest.mark.unit


def _q(doc: str, quote: str, start: int) -> Citation:
    return Citation(0, doc, f"/docs/{doc}.txt", doc.upper(), quote, start, start + len(quote), 0.5)


def test_numbers_follow_first_use_and_repeat_for_the_same_source() -> None:
    text, cites = cite([_q("b", "Bee fact.", 10), _q("a", "Ay fact.", 0), _q("b", "Second\nbee fact.", 40)])
    assert text == "Bee fact. [1] Ay fact. [2] Second bee fact. [1]"
    assert [(c.n, c.doc_id) for c in cites] == [(1, "b"), (2, "a"), (1, "b")]
    assert cites[2].quote == "Second\nbee fact." and cites[2].end - cites[2].start == len(cites[2].quote)


def test_no_quotes_no_citations() -> None:
    assert cite([]) == ("", ())
