"""The Assistant: build or load an index, then ask questions, chat and retrieve."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path

from index.build import BuildReport, build_index
from index.embed import Embedder, SentenceTransformerEmbedder
from index.errors import InputError
from index.load import find_files
from index.settings import IndexSettings
from index.store import IndexStore
from rag.answer import ExtractiveAnswerer
from rag.chat import ChatSession, FollowUp
from rag.generate import GenerativeAnswerer
from rag.llm import ChatLLM
from rag.rerank import CrossEncoderReranker, RerankingRetriever
from rag.retrieve import Retriever, make_retriever
from rag.settings import Settings
from rag.types import Answer, Passage, final_answer
from rag.verify import Verifier


class Assistant:
    """Answers questions about a folder of documents, citing the exact sentences it quotes.

    >>> from rag import Assistant
    >>> bot = Assistant.build(["docs/"], index_dir="my-index")   # build or update
    >>> reply = bot.ask("How many comprehensive pilot zones are there?")
    >>> reply.text, reply.refused, reply.citations[0].quote
    >>> chat = bot.chat(); chat.ask("..."); chat.ask("a follow-up")
    """

    def __init__(self, store: IndexStore, embedder: Embedder, settings: Settings | None = None) -> None:
        self.settings = settings or Settings(index=_index_settings_of(store))
        store.check_compatible(embedder.name, self.settings.index.chunking())
        self.store = store
        self.embedder = embedder
        self.retriever: Retriever = make_retriever(
            self.settings.retriever, store, embedder, self.settings.weight_bm25, self.settings.rrf_k
        )
        if self.settings.reranker:
            reranker = CrossEncoderReranker.load(self.settings.reranker)
            self.retriever = RerankingRetriever(self.retriever, reranker, self.settings.rerank_depth)
        self.answerer = ExtractiveAnswerer(embedder, store.text, store.labels, self.settings)
        self.generator: GenerativeAnswerer | None = None
        if self.settings.answer_mode == "llm" and self.settings.llm is not None:
            verifier = Verifier(embedder, store.text, self.settings.support_threshold)
            self.generator = GenerativeAnswerer(ChatLLM(self.settings.llm), verifier, self.answerer)
        self.report: BuildReport | None = None

    @classmethod
    def build(
        cls,
        paths: Sequence[str | os.PathLike[str]],
        index_dir: str | os.PathLike[str],
        settings: Settings | None = None,
        rebuild: bool = False,
        progress: bool = False,
    ) -> Assistant:
        """Index `paths` into `index_dir` (new, or updated incrementally) and return an assistant on it."""
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        settings = settings or Settings()
        find_files(paths)  # a bad path fails fast, before the model is loaded
        embedder = SentenceTransformerEmbedder.load(settings.index.model, settings.index.batch_size)
        report = build_index(paths, index_dir, embedder, settings.index, rebuild=rebuild, progress=progress)
        bot = cls(IndexStore.open(index_dir), embedder, settings)
        bot.report = report
        return bot

    @classmethod
    def load(cls, index_dir: str | os.PathLike[str], settings: Settings | None = None) -> Assistant:
        """Open an index built earlier; its manifest says which model to load."""
        store = IndexStore.open(index_dir)
        settings = settings or Settings(index=_index_settings_of(store))
        return cls(store, SentenceTransformerEmbedder.load(store.model, settings.index.batch_size), settings)

    @classmethod
    def bundled(
        cls,
        cache_dir: str | os.PathLike[str] | None = None,
        settings: Settings | None = None,
        progress: bool = False,
    ) -> Assistant:
        """The assistant on the bundled cross-border e-commerce corpus; its index is built on first use."""
        settings = settings or Settings()
        index_dir = bundled_index_dir(cache_dir, settings.index)
        if (index_dir / "manifest.json").exists():
            return cls.load(index_dir, settings)
        return cls.build([bundled_corpus_dir()], index_dir, settings, progress=progress)

    def ask(
        self,
        question: str,
        k: int | None = None,
        followup: FollowUp | None = None,
        within: Collection[str] | None = None,
    ) -> Answer:
        """Answer `question` from the documents, or refuse when they do not support an answer.

        `within` limits the search to those document ids (default: the whole index).
        """
        return final_answer(self.stream(question, k, followup, within, live=False))

    def stream(
        self,
        question: str,
        k: int | None = None,
        followup: FollowUp | None = None,
        within: Collection[str] | None = None,
        live: bool = True,
    ) -> Iterator[str | Answer]:
        """Like `ask`, but in llm mode (with `live`) yields the LLM's text as it arrives; the last
        item is always the checked `Answer`, which replaces that text."""
        question = _check_question(question)
        k = k or self.settings.top_k
        if self.generator is not None:
            resolved, failure = self.generator.standalone(question, followup)
            if failure:  # the LLM already failed on the rewrite: do not wait for it a second time
                answer = self._extractive(question, k, followup, within)
                yield replace(answer, notice=f"{failure}; showing the extractive answer instead.")
                return
            qvec = self.embedder.embed_query(resolved)
            passages = self.retriever.retrieve(resolved, k, qvec, within)
            yield from self.generator.stream(question, passages, qvec, resolved, live)
            return
        yield self._extractive(question, k, followup, within)

    def _extractive(
        self, question: str, k: int, followup: FollowUp | None, within: Collection[str] | None
    ) -> Answer:
        resolved = f"{followup.previous_question} {question}" if followup else question
        qvec = self.embedder.embed_query(question)
        search_vec = self.embedder.embed_query(resolved) if followup else qvec
        passages = self.retriever.retrieve(resolved, k, search_vec, within)
        return self.answerer.answer(question, passages, qvec, followup, resolved)

    def chat(self) -> ChatSession:
        """A new conversation that resolves follow-up questions against its history."""
        return ChatSession(self)

    def retrieve(self, question: str, k: int = 10, within: Collection[str] | None = None) -> list[Passage]:
        """The `k` best passages for `question`, best first (`within`: only those document ids)."""
        return self.retriever.retrieve(_check_question(question), k, within=within)

    def document_text(self, doc_id: str) -> str:
        """The extracted text of an indexed document (citation offsets index into it)."""
        return self.store.text(doc_id)

    def with_settings(self, **changes: object) -> Assistant:
        """A copy of this assistant with some answer settings changed (same index and model)."""
        return Assistant(self.store, self.embedder, replace(self.settings, **changes))  # type: ignore[arg-type]


def bundled_corpus_dir() -> Path:
    """The folder of the bundled knowledge base (package data)."""
    return Path(str(resources.files("rag") / "corpus"))


def bundled_index_dir(cache_dir: str | os.PathLike[str] | None, settings: IndexSettings) -> Path:
    """Where the bundled corpus's index lives: named by the corpus (its folder and content) and the settings.

    The folder is part of the name because citations carry source paths: two checkouts never share
    an index whose paths point into the other one.
    """
    base = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    digest = hashlib.sha256(repr(sorted(vars(settings).items())).encode())
    digest.update(str(bundled_corpus_dir().resolve()).encode())
    for p in sorted(bundled_corpus_dir().glob("*.md")):
        digest.update(p.name.encode() + p.read_bytes())
    return base / f"bundled-{digest.hexdigest()[:12]}"


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rag-assistant"


def _index_settings_of(store: IndexStore) -> IndexSettings:
    return IndexSettings(model=store.model, **store.chunking)


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question about the documents")
    return question.strip()
