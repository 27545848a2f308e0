"""Check a generated answer against the passages it cites, before anyone sees it.

1. Markers: `[n]` or `[n, m]` with 1 <= n <= len(passages) are kept; `[0]`, `[99]` and malformed
   ones (`[a]`, `[]`, `[1-`) are dropped and reported.
2. Each sentence is compared with every passage it cites. Support = `weight` x the cosine
   similarity between the sentence and the passage's closest sentence + (1 - `weight`) x the share
   of the sentence's content terms found in the passage. A citation stands when its support clears
   `threshold`; a sentence none of whose citations stand is unsupported. A sentence without any
   citation gets the passage that supports it best when that clears the threshold, else it is
   unsupported.
3. The kept citations are renumbered 1..N in order of first use. Each one quotes the sentence of
   its passage that is closest to the claim, at exact offsets in the document's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.embed import Embedder
from rag.answer import SENTENCE_VECTORS, StoredVectors, sentence_vectors, terms
from rag.cite import MARKER, one_line
from rag.types import Citation, Passage, SentenceCheck

_OPEN_MARKER = re.compile(r"\[[^\[\]]*$")  # a marker cut off at the end of the text
_MOVE_MARKERS = re.compile(r"([.!?])((?:\s*\[[^\[\]]*\])+)")  # "claim. [1]" -> "claim [1]."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True)
class CheckedAnswer:
    text: str  # sentences with their final markers
    sentences: tuple[SentenceCheck, ...]
    citations: tuple[Citation, ...]
    dropped_markers: tuple[str, ...]


def split_sentences(text: str) -> list[str]:
    """Sentences of generated text, each keeping the markers that follow it."""
    text = _OPEN_MARKER.sub("", text.strip())
    text = _MOVE_MARKERS.sub(lambda m: m.group(2) + m.group(1), text)
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def parse_markers(sentence: str, n_passages: int) -> tuple[str, list[int], list[str]]:
    """The sentence without markers, the passage numbers it cites, and the markers dropped."""
    cited: list[int] = []
    dropped: list[str] = []
    for m in MARKER.finditer(sentence):
        parts = [p.strip() for p in m.group(1).split(",")]
        good = [int(p) for p in parts if p.isdigit() and 1 <= int(p) <= n_passages]
        if not good or len(good) != len(parts):
            dropped.append(m.group(0))
        cited += [n for n in good if n not in cited]
    clean = re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", sentence))
    return re.sub(r"\s{2,}", " ", clean).strip(), cited, dropped


class Verifier:
    """Checks generated answers against the retrieved passages (see the module docstring)."""

    def __init__(
        self,
        embedder: Embedder,
        document_text: Callable[[str], str],
        threshold: float,
        weight: float = 0.5,
        stored_vectors: StoredVectors | None = None,
    ) -> None:
        self.embedder = embedder
        self.document_text = document_text
        self.threshold = threshold
        self.weight = weight
        self.stored_vectors = stored_vectors

    def check(self, raw: str, passages: list[Passage]) -> CheckedAnswer:
        sentences: list[tuple[str, list[int]]] = []
        dropped: list[str] = []
        for s in split_sentences(raw):
            clean, cited, bad = parse_markers(s, len(passages))
            dropped += bad
            if clean and not re.fullmatch(r"[\W_]+", clean):
                sentences.append((clean, cited))
        if not sentences:
            return CheckedAnswer("", (), (), tuple(dropped))
        evidence = [self.evidence(p) for p in passages]
        vectors = SENTENCE_VECTORS.embed(self.embedder, [text for text, _ in sentences])
        numbers: dict[int, int] = {}  # passage index (0-based) -> final citation number
        citations: list[Citation] = []
        checked: list[SentenceCheck] = []
        parts: list[str] = []
        for (text, cited), vector in zip(sentences, vectors, strict=True):
            candidates = [n - 1 for n in cited] if cited else list(range(len(passages)))
            scored = [(*evidence[i].support(text, vector, self.weight), i) for i in candidates]
            kept = [row for row in scored if row[0] >= self.threshold]
            if not cited:  # attach the best supporting passage, if any clears the threshold
                kept = sorted(kept, key=lambda row: -row[0])[:1]
            sources: list[int] = []
            for support, (start, end), i in kept:
                n = numbers.setdefault(i, len(numbers) + 1)
                sources.append(n)
                p = passages[i]
                quote = evidence[i].text[start:end]
                citations.append(Citation(n, p.doc_id, p.source, p.title, quote, start, end, support))
            best = max((row[0] for row in scored), default=0.0)
            checked.append(
                SentenceCheck(text, tuple(sources), bool(sources), best, not cited and bool(sources))
            )
            parts.append(text + "".join(f" [{n}]" for n in sources))
        return CheckedAnswer(" ".join(parts), tuple(checked), tuple(citations), tuple(dropped))

    def evidence(self, p: Passage) -> Evidence:
        text = self.document_text(p.doc_id)
        spans = list(p.sentences) or [(p.start, p.end)]
        quotes = [one_line(text[s:e]) for s, e in spans]
        keys = [(p.doc_id, s, e) for s, e in spans]
        vectors = sentence_vectors(self.embedder, keys, quotes, self.stored_vectors)
        return Evidence(text, spans, vectors, set().union(*(terms(q) for q in quotes)))


@dataclass(frozen=True)
class Evidence:
    """A passage, ready to be compared with claims."""

    text: str  # the whole document's text (spans index into it)
    spans: list[tuple[int, int]]
    vectors: np.ndarray
    terms: set[str]

    def support(self, claim: str, vector: np.ndarray, weight: float) -> tuple[float, tuple[int, int]]:
        """(support for `claim`, span of this passage's sentence closest to it)."""
        sims = self.vectors @ vector
        best = int(np.argmax(sims))
        claim_terms = terms(claim)
        overlap = len(claim_terms & self.terms) / len(claim_terms) if claim_terms else 0.0
        return weight * float(sims[best]) + (1 - weight) * overlap, self.spans[best]
