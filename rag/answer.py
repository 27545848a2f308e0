"""Extractive answers: quote the sentence that best answers the question, or refuse.

No LLM is involved. Two scorers choose among the sentences of the retrieved passages:

- The hand-set rules (the default, `Settings.reader = None`): embedding similarity, the share of
  the question's IDF-weighted stemmed terms, whether the sentence holds the kind of thing asked
  for (a number for "how many"), and the passage's score; a refusal below a threshold calibrated
  on dev data (`scripts/calibrate.py`), less a penalty for the share of the question's years and
  proper names that no retrieved document mentions.
- The reader (`rag.reader`, a cross-encoder the project trains; opt-in): it reads the question
  with each of the `reader_candidates` (8) sentences a cheap shortlist ranks first (stored
  sentence vectors and term overlap) and gives the probability that the sentence answers it,
  calibrated on dev data together with the same unmatched-names share. The best probability is the answer's confidence; below
  `reader_threshold` the answer is a refusal.

The best sentence comes first; others follow only when they score close to it (and, from the
reader, answer too). A best sentence that announces a list ("proposed three measures") brings the
sentences that give it (`rag.lists`).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from index.embed import Embedder
from rag.cite import cite
from rag.lists import list_items
from rag.reader import Reader, candidate_text
from rag.settings import Settings
from rag.types import REFUSAL_TEXT, Answer, Citation, FollowUp, Passage

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
# Words that say little about which sentence answers: nltk's English list plus question fillers.
_EXTRA_STOPWORDS = frozenset(
    {"also", "much", "many", "said", "according", "tell", "give", "kind", "next", "year"}
)
_NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|large|big|fast|long|high)|what (percentage|percent|share|number|proportion|rate|amount|"
    r"figure|total|value|volume|growth)|when|what year|which year|what date|by how)\b",
    re.IGNORECASE,
)
_NAME_QUESTION = re.compile(
    r"\b(who|whom|whose|where|what (city|country|company|name|organi[sz]ation|place|region|title|firm|"
    r"platform|university)|which (city|country|company|organi[sz]ation|place|region|university|firm|platform|person))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Capitalised, but dates: documents write them many ways ("October 1st", "2023-10-01", "1 Oct").
_CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december "  # noqa: SIM905
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_NAME = re.compile(r"(?<=[^.!?]\s)[A-Z][\w\-']*")  # a capitalised word that does not open the sentence
_MIN_SENTENCE_WORDS = 4  # shorter lines are headings, bylines or captions, not answers
_YEAR = re.compile(r"(1[5-9]|20)\d\d")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-']*[A-Za-z0-9]|[A-Za-z0-9]")


@cache
def _stem(word: str) -> str:
    return _stemmer()(word)


@cache
def _stemmer() -> Callable[[str], str]:
    from nltk.stem import PorterStemmer

    return PorterStemmer().stem


@cache
def _stopwords() -> frozenset[str]:
    from nltk.corpus import stopwords

    from index.sentences import use_llama_index_nltk_data

    use_llama_index_nltk_data()
    return frozenset(stopwords.words("english")) | _EXTRA_STOPWORDS


def terms(text: str) -> set[str]:
    """Stemmed content words of `text`."""
    stop = _stopwords()
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in stop}


def _fold(text: str) -> str:
    """Drop accents, so that "Maiziere" matches "Maizière"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def key_terms(question: str) -> dict[str, set[str]]:
    """The years and proper names in `question`, each with its stemmed terms.

    A key term is a year ("2030") or a capitalised word after the first ("India", "Temu's"). Other
    numbers, acronyms, symbols, months and weekdays ("10%", "UK", "PrP", "October") are left out:
    documents often say them another way ("one in ten", "United Kingdom", "2023-10-01"), so their
    absence says little.
    """
    out: dict[str, set[str]] = {}
    for i, token in enumerate(_TOKEN.findall(_fold(question))):
        word = token.split("'")[0]
        is_year = bool(_YEAR.fullmatch(word))
        is_name = (
            i > 0
            and word[:1].isupper()
            and word[1:].isalpha()
            and word[1:].islower()
            and word.lower() not in _CALENDAR_WORDS
        )
        if is_year or is_name:
            stems = terms(word)
            if stems:
                out[token] = stems
    return out


@lru_cache(maxsize=256)
def _document_terms(text: str) -> frozenset[str]:
    return frozenset(terms(_fold(text)))


def unmatched(keys: dict[str, set[str]], documents: Iterable[str]) -> tuple[str, ...]:
    """The key terms (see `key_terms`) none of `documents` mention; `documents` is not read when
    there are no keys."""
    if not keys:
        return ()
    seen: set[str] = set()
    for text in documents:
        seen |= _document_terms(text)
    return tuple(token for token, stems in keys.items() if not stems & seen)


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    start: int
    end: int
    quote: str


class SentenceVectors:
    """Embeddings of sentences already seen, shared by every answerer in the process (LRU-bounded).

    Questions about the same passages (follow-ups, a chat's repeated topics, eval sets) re-use the
    vectors instead of re-embedding each sentence.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._vectors: OrderedDict[tuple[str, int, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def embed(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        keys = [(embedder.name, embedder.dimension, t) for t in texts]
        with self._lock:
            missing = list(
                dict.fromkeys(t for k, t in zip(keys, texts, strict=True) if k not in self._vectors)
            )
        if missing:
            fresh = embedder.embed_documents(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._vectors[(embedder.name, embedder.dimension, text)] = vector
        with self._lock:
            out = []
            for k in keys:
                vector = self._vectors.get(k)
                if vector is None:  # evicted by another thread meanwhile
                    vector = embedder.embed_documents([k[2]])[0]
                else:
                    self._vectors.move_to_end(k)
                out.append(vector)
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)
        return np.stack(out)


SENTENCE_VECTORS = SentenceVectors()

SentenceKey = tuple[str, int, int]  # (doc_id, start, end) of a sentence in its document's text
StoredVectors = Callable[[Sequence[SentenceKey]], list[np.ndarray | None]]


def sentence_vectors(
    embedder: Embedder, keys: Sequence[SentenceKey], texts: Sequence[str], stored: StoredVectors | None
) -> np.ndarray:
    """The vectors of document sentences: those the index stored when it was built (`stored`),
    the others (an index built before sentences were stored) embedded now, through the cache."""
    found = stored(keys) if stored is not None else [None] * len(keys)
    missing = [i for i, v in enumerate(found) if v is None]
    if missing:
        fresh = SENTENCE_VECTORS.embed(embedder, [texts[i] for i in missing])
        for i, vector in zip(missing, fresh, strict=True):
            found[i] = vector
    if not found:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack([v for v in found if v is not None])


class ExtractiveAnswerer:
    """Choose and cite sentences from retrieved passages."""

    def __init__(
        self,
        embedder: Embedder,
        document_text: Callable[[str], str],
        document_labels: Callable[[str], str],
        settings: Settings,
        stored_vectors: StoredVectors | None = None,
        reader: Reader | None = None,
    ) -> None:
        """`document_labels` gives what names a document besides its text (title, file name,
        metadata): a question's name or year found there counts as mentioned. `stored_vectors`
        looks up the sentence vectors the index stored. With a `reader`, it scores the sentences
        and its probability is the confidence; the hand-set weights and penalty are not used."""
        self.embedder = embedder
        self.document_text = document_text
        self.document_labels = document_labels
        self.settings = settings
        self.stored_vectors = stored_vectors
        self.reader = reader

    def _mentions(self, passages: list[Passage]) -> Iterator[str]:
        for doc_id in dict.fromkeys(p.doc_id for p in passages):
            yield self.document_labels(doc_id)
            yield self.document_text(doc_id)

    def answer(
        self,
        question: str,
        passages: list[Passage],
        qvec: np.ndarray,
        followup: FollowUp | None = None,
        resolved_question: str | None = None,
    ) -> Answer:
        resolved = resolved_question or question
        keys = key_terms(question)
        absent = unmatched(keys, self._mentions(passages))
        candidates = self._candidates(passages)
        if not candidates:
            return _refusal(question, resolved, passages, 0.0, absent)
        share = len(absent) / len(keys) if keys else 0.0
        if self.reader is not None:
            if followup is None and not terms(question):  # "In which year?" with no turn before it
                return _refusal(question, resolved, passages, 0.0, absent)
            # the rules' cheap score (stored sentence vectors, overlap) keeps the reader's reading short
            rough = self._score(question, qvec, candidates, followup, rules=False)
            keep = sorted(np.argsort(-rough, kind="stable")[: self.settings.reader_candidates])
            candidates = [candidates[i] for i in keep]
            texts = _reader_texts(candidates, self.document_text)
            logits = self.reader.logits(resolved, texts)
            if followup is not None:  # "And Jiangsu?" may read best alone, "Where does he teach?" joined
                logits = np.maximum(logits, self.reader.logits(question, texts))
            scores = self.reader.calibrated(logits, rough[keep], share)
            order = np.argsort(-self.reader.ranking(logits, rough[keep]), kind="stable")
            confidence = best = float(scores[order[0]])
            threshold = self.settings.reader_threshold
        else:
            scores = self._score(question, qvec, candidates, followup)
            order = np.argsort(-scores, kind="stable")
            best = float(scores[order[0]])
            confidence = best - self.settings.unmatched_penalty * share
            threshold = self.settings.refusal_threshold
        if confidence < threshold:
            return _refusal(question, resolved, passages, confidence, absent)
        # a further sentence must score close to the best one (and, from the reader, answer too)
        floor = best - self.settings.extra_sentence_margin
        if self.reader is not None:
            floor = max(threshold, best - self.settings.reader_extra_margin)
        chosen: list[int] = []
        length = 0
        for i in order:
            if len(chosen) == self.settings.max_sentences:
                break
            if chosen and (scores[i] < floor or length > 400):
                break
            chosen.append(int(i))
            length += len(candidates[i].quote)
        quotes = [self._quote(candidates[i], float(scores[i])) for i in chosen]
        items = self._list_items(candidates[chosen[0]], float(scores[chosen[0]]))
        if items:  # the best sentence announces a list: the sentences that give it come with it
            quotes = [quotes[0], *items]
        text, citations = cite(quotes)
        return Answer(question, text, False, citations, tuple(passages), resolved, confidence, absent)

    @staticmethod
    def _quote(c: _Candidate, score: float) -> Citation:
        p = c.passage
        return Citation(0, p.doc_id, p.source, p.title, c.quote, c.start, c.end, score)

    def _list_items(self, c: _Candidate, score: float) -> list[Citation]:
        text = self.document_text(c.passage.doc_id)
        p = c.passage
        return [
            Citation(0, p.doc_id, p.source, p.title, text[s:e], s, e, score)
            for s, e in list_items(text, c.start, c.end)
        ]

    def _candidates(self, passages: list[Passage]) -> list[_Candidate]:
        """Whole sentences of the passages, each once, in passage order."""
        seen: set[tuple[str, int]] = set()
        out: list[_Candidate] = []
        for p in passages:
            text = self.document_text(p.doc_id)
            for start, end in p.sentences:
                quote = text[start:end]
                if (p.doc_id, start) in seen or not _is_statement(quote):
                    continue
                seen.add((p.doc_id, start))
                out.append(_Candidate(p, start, end, quote))
        return out

    def _score(
        self,
        question: str,
        qvec: np.ndarray,
        cands: list[_Candidate],
        followup: FollowUp | None,
        rules: bool = True,
    ) -> np.ndarray:
        """The hand-set score of each candidate; without `rules`, neither the question-type rule nor
        the follow-up's continuity bonus (the reader's shortlist: the reader judges the kind of
        answer itself, and a follow-up may be answered by the sentence quoted before)."""
        s = self.settings
        keys = [(c.passage.doc_id, c.start, c.end) for c in cands]
        vectors = sentence_vectors(self.embedder, keys, [c.quote for c in cands], self.stored_vectors)
        semantic = vectors @ qvec
        if followup is not None:
            context_vec = self.embedder.embed_query(followup.previous_question)
            semantic = 0.7 * semantic + 0.3 * (vectors @ context_vec)

        q_terms = terms(question)
        matched = [_matching(q_terms, terms(c.quote)) for c in cands]
        n = len(cands)
        idf = {t: math.log(1 + n / (1 + sum(t in m for m in matched))) for t in q_terms}
        total = sum(idf.values()) or 1.0
        lexical = np.array([sum(idf[t] for t in m) / total for m in matched])

        states = np.array([_states_answer(question, c.quote) if rules else 0.0 for c in cands])
        passage = np.array([c.passage.score for c in cands])

        scores = (
            s.weight_semantic * semantic
            + s.weight_lexical * lexical
            + s.weight_answer_type * states
            + s.weight_passage * passage
        ) / (s.weight_semantic + s.weight_lexical + s.weight_passage)
        if followup is not None and rules:
            scores += np.array([_continuity(c, followup) for c in cands])
        return np.asarray(scores, dtype=np.float64)


def _reader_texts(cands: list[_Candidate], document_text: Callable[[str], str]) -> list[str]:
    """Each candidate as the reader reads it: the sentence, then its neighbours in its passage."""
    texts = []
    for c in cands:
        text = document_text(c.passage.doc_id)
        spans = list(c.passage.sentences)
        texts.append(candidate_text([text[s:e] for s, e in spans], spans.index((c.start, c.end))))
    return texts


def _matching(q_terms: set[str], s_terms: set[str]) -> set[str]:
    """The question terms a sentence has: the same stem, or one stem extending the other
    ("australia" / "australian", "europ" / "european"), for stems of five letters or more."""
    out = q_terms & s_terms
    for t in q_terms - out:
        if len(t) >= 5 and any(len(w) >= 5 and (w.startswith(t) or t.startswith(w)) for w in s_terms):
            out.add(t)
    return out


def _states_answer(question: str, quote: str) -> float:
    """1.0 when `quote` holds something of the kind asked for that the question does not already say.

    A number for "how many" or "when", a name for "who" or "which city". A sentence that only
    repeats the question's own numbers and names states nothing new.
    """
    asked = question.lower()
    if _NUMBER_QUESTION.search(question):
        return float(any(n not in asked for n in _NUMBER.findall(quote)))
    if _NAME_QUESTION.search(question):
        return float(any(w.lower() not in asked for w in _NAME.findall(quote)))
    return 0.0


def _is_statement(quote: str) -> bool:
    """Headings, bylines and captions are not answers: skip them."""
    words = len(quote.split())
    if words < _MIN_SENTENCE_WORDS or quote.lstrip().startswith("#"):
        return False
    return words >= 8 or quote.rstrip().endswith((".", "!", "?", '"', "'", ")"))


def _continuity(c: _Candidate, followup: FollowUp) -> float:
    """Prefer sentences right after what was quoted before; avoid repeating it."""
    bonus = 0.0
    for doc_id, start, end in followup.cited:
        if doc_id != c.passage.doc_id:
            continue
        if c.start == start:
            return -0.15
        bonus = max(bonus, 0.08 if 0 <= c.start - end <= 300 else 0.02)
    return bonus


def _refusal(
    question: str, resolved: str, passages: list[Passage], confidence: float, unmatched: tuple[str, ...]
) -> Answer:
    return Answer(question, REFUSAL_TEXT, True, (), tuple(passages), resolved, confidence, unmatched)
