"""The Assistant: owns one index (its documents) and answers questions about it with citations."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from index.build import BuildReport, build_index, compact_index, remove_documents
from index.embed import Embedder, default_cache_dir, load_embedder
from index.errors import InputError, RagError
from index.find import find_files
from index.settings import IndexSettings
from index.store import MANIFEST
from index.stores import Store, open_store
from index.types import DocumentInfo, page_at
from rag.answer import ExtractiveAnswerer
from rag.chat import ChatSession
from rag.generate import GenerativeAnswerer
from rag.llm import ChatLLM
from rag.reader import Reader
from rag.rerank import CrossEncoderReranker, RerankingRetriever
from rag.retrieve import Retriever, make_retriever
from rag.settings import RETRIEVERS, Settings, check_retriever
from rag.types import Answer, FollowUp, IndexInfo, Passage, final_answer
from rag.verify import Verifier

Paths = Sequence[str | os.PathLike[str]] | str | os.PathLike[str]


@dataclass(frozen=True)
class _Loaded:
    """What answering needs from one version of the index; replaced whole when documents change."""

    stamp: tuple[int, int, int]  # the store's stamp (see `Store.stamp`) when this version was read
    store: Store
    retrievers: dict[str, Retriever]
    answerer: ExtractiveAnswerer
    generator: GenerativeAnswerer | None


class Assistant:
    """Answers questions about a folder of documents, citing the exact sentences it quotes.

    >>> from rag import Assistant
    >>> bot = Assistant.build(["docs/"], index_dir="my-index")   # build or update
    >>> reply = bot.ask("How many comprehensive pilot zones are there?")
    >>> reply.text, reply.refused, reply.citations[0].quote
    >>> bot.add(["new-report.pdf"]); bot.remove([doc_id]); bot.documents(); bot.info()
    >>> chat = bot.chat(); chat.ask("..."); chat.ask("a follow-up")
    """

    def __init__(self, store: Store, embedder: Embedder, settings: Settings | None = None) -> None:
        """An assistant on an open index. `settings.index` must name the index's model and chunking
        (`load` takes them from the index itself)."""
        self.settings = settings or Settings(index=_index_settings_of(store))
        store.check_compatible(embedder.name, self.settings.index.chunking())
        self.embedder = embedder
        self._write_lock = threading.Lock()
        self._loaded = self._load(store, store.stamp())
        self.report: BuildReport | None = None  # what `build` did, when this assistant came from it

    def _load(self, store: Store, stamp: tuple[int, int, int]) -> _Loaded:
        s = self.settings
        retrievers = {
            name: make_retriever(name, store, self.embedder, s.weight_bm25, s.rrf_k) for name in RETRIEVERS
        }
        if s.reranker:
            reranker = CrossEncoderReranker.load(s.reranker)
            retrievers = {n: RerankingRetriever(r, reranker, s.rerank_depth) for n, r in retrievers.items()}
        reader = Reader.load(s.reader) if s.reader else None
        answerer = ExtractiveAnswerer(
            self.embedder, store.text, store.labels, s, store.sentences.lookup, reader
        )
        generator = None
        if s.answer_mode == "llm" and s.llm is not None:
            verifier = Verifier(
                self.embedder, store.text, s.support_threshold, stored_vectors=store.sentences.lookup
            )
            generator = GenerativeAnswerer(ChatLLM(s.llm), verifier, answerer)
        return _Loaded(stamp, store, retrievers, answerer, generator)

    def _current(self) -> _Loaded:
        """The newest version of the index: when another process (`rag index`) saved a new one since
        the last question, it is loaded and used from now on; questions already running finish on
        the version they started with, whose files stay until they are done."""
        loaded = self._loaded
        stamp = loaded.store.stamp()
        if stamp == loaded.stamp or not self._write_lock.acquire(blocking=False):
            return loaded  # unchanged, or being reloaded by another question right now
        try:
            if self._loaded.stamp != stamp:
                self._reload()
            return self._loaded
        except RagError:  # a version that cannot be read (it should not happen): keep the one we have
            return loaded
        finally:
            self._write_lock.release()

    def _reload(self) -> None:
        store = self._loaded.store
        stamp = store.stamp()
        self._loaded = self._load(store.reopen(), stamp)

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        paths: Paths,
        index_dir: str | os.PathLike[str],
        settings: Settings | None = None,
        rebuild: bool = False,
        progress: bool = False,
        follow_links: bool = False,
    ) -> Assistant:
        """Index `paths` into `index_dir` (new, or updated incrementally) and return an assistant on it.
        `index_dir` is a folder, or a PostgreSQL database with pgvector: `postgresql://...[#schema]`.

        `report` on the returned assistant says what was indexed, unchanged, removed and skipped
        (unreadable files, files past `settings.limits`, links outside `paths` unless `follow_links`).
        """
        paths = _as_list(paths)
        settings = settings or Settings()
        find_files(paths, follow_links)  # a bad path fails fast, before the model is loaded
        embedder = load_embedder(settings.index.model, settings.index.batch_size)
        report = build_index(
            paths, index_dir, embedder, settings.index, rebuild, progress, settings.limits, follow_links
        )
        bot = cls(open_store(index_dir), embedder, settings)
        bot.report = report
        return bot

    @classmethod
    def load(cls, index_dir: str | os.PathLike[str], settings: Settings | None = None) -> Assistant:
        """Open an index built earlier (a folder or a `postgresql://` address). Its manifest names the embedding model and chunking, which
        replace `settings.index`; the other settings apply as given."""
        store = open_store(index_dir)
        settings = settings or Settings()
        settings = replace(settings, index=_index_settings_of(store, settings.index.batch_size))
        return cls(store, load_embedder(store.model, settings.index.batch_size), settings)

    @classmethod
    def cached(
        cls,
        paths: Paths,
        cache_dir: str | os.PathLike[str] | None = None,
        settings: Settings | None = None,
        progress: bool = False,
    ) -> Assistant:
        """The assistant on `paths`, indexed once into the cache folder (see `cached_index_dir`) and
        opened from there afterwards without reading the files again."""
        paths = _as_list(paths)
        settings = settings or Settings()
        index_dir = cached_index_dir(paths, settings.index, cache_dir)
        if (index_dir / MANIFEST).exists():
            return cls.load(index_dir, settings)
        return cls.build(paths, index_dir, settings, progress=progress)

    @classmethod
    def bundled(
        cls,
        cache_dir: str | os.PathLike[str] | None = None,
        settings: Settings | None = None,
        progress: bool = False,
    ) -> Assistant:
        """The assistant on the bundled cross-border e-commerce corpus; its index is built on first use."""
        return cls.cached([bundled_corpus_dir()], cache_dir, settings, progress)

    def with_settings(self, **changes: object) -> Assistant:
        """A second assistant on the same index and model with some answer settings changed
        (e.g. `answer_mode`, `reranker`); `ask` takes `k`, `within` and `retriever` per call."""
        return Assistant(self._loaded.store, self.embedder, replace(self.settings, **changes))  # type: ignore[arg-type]

    # -- documents -------------------------------------------------------------------------------

    def add(self, paths: Paths, progress: bool = False) -> BuildReport:
        """Index files and folders into this assistant's index: new and changed documents are
        embedded, documents whose files are gone from these paths are removed, unreadable files are
        skipped with a reason. Questions asked meanwhile are answered from the previous version."""
        paths = _as_list(paths)
        with self._write_lock:
            settings = _index_settings_of(self._loaded.store, self.settings.index.batch_size)
            report = build_index(
                paths,
                self._loaded.store.address,
                self.embedder,
                settings,
                False,
                progress,
                self.settings.limits,
            )
            self._reload()
        return report

    def remove(self, doc_ids: Collection[str]) -> list[str]:
        """Remove documents by id; returns the ids that were in the index."""
        with self._write_lock:
            removed = remove_documents(self._loaded.store.address, list(doc_ids))
            if removed:
                self._reload()
        return removed

    def compact(self) -> IndexInfo:
        """Write a folder index anew with no changes on top of its bases (a save writes only the
        changes until they pass a tenth of a base; see README, 'Index format'). Nothing is embedded."""
        with self._write_lock:
            store = compact_index(self._loaded.store.address)
            self._reload()  # lets go of the generation before, so that its files can go now
            store.collect_garbage()
        return self.info()

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents, by source."""
        return sorted(self._current().store.documents.values(), key=lambda d: d.source)

    def document(self, doc_id: str) -> DocumentInfo | None:
        """The indexed document `doc_id`, or None when it is not (or no longer) in the index."""
        return self._current().store.documents.get(doc_id)

    def documents_named(self, names: Collection[str]) -> list[str]:
        """The ids of the documents `names` name: each a document id, a source, or a file name
        (every document of that file). An unknown name is an InputError listing some valid ones."""
        docs = self.documents()
        ids: list[str] = []
        for name in names:
            found = [d.doc_id for d in docs if name in (d.doc_id, d.source, d.file_name)]
            if not found:
                known = ", ".join(sorted({d.file_name for d in docs})[:8])
                raise InputError(f"no document named '{name}' in the index; try one of: {known}")
            ids += [i for i in found if i not in ids]
        return ids

    def document_text(self, doc_id: str) -> str:
        """The extracted text of an indexed document (citation offsets index into it)."""
        return self._current().store.text(doc_id)

    def info(self) -> IndexInfo:
        """Where the index is, what built it and how much it holds."""
        store = self._current().store
        return IndexInfo(
            path=store.location,
            model=store.model,
            dimension=store.dimension,
            chunk_size=store.chunking["chunk_size"],
            chunk_overlap=store.chunking["chunk_overlap"],
            documents=len(store.documents),
            chunks=store.n_chunks,
            generation=store.generation,
        )

    # -- questions -------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int | None = None,
        within: Collection[str] | None = None,
        retriever: str | None = None,
    ) -> Answer:
        """Answer `question` from the documents, or refuse when they do not support an answer.

        Per call: `k` passages are read (default `settings.top_k`), `within` limits the search to
        those document ids, `retriever` picks hybrid, dense or bm25 (default `settings.retriever`).
        Follow-up questions go through `chat()`.
        """
        return final_answer(self.stream(question, k, within, retriever, live=False))

    def stream(
        self,
        question: str,
        k: int | None = None,
        within: Collection[str] | None = None,
        retriever: str | None = None,
        followup: FollowUp | None = None,
        live: bool = True,
    ) -> Iterator[str | Answer]:
        """Like `ask`, but in llm mode (with `live`) yields the LLM's text as it arrives; the last
        item is always the checked `Answer`, which replaces that text. `followup` is the earlier
        turn a follow-up leans on (`chat()` fills it in)."""
        question = check_question(question, self.settings.max_question_chars)
        k = _check_k(k or self.settings.top_k)
        loaded = self._current()
        for item in self._stream(loaded, question, k, within, retriever, followup, live):
            yield _with_pages(item, loaded.store) if isinstance(item, Answer) else item

    def _stream(
        self,
        loaded: _Loaded,
        question: str,
        k: int,
        within: Collection[str] | None,
        retriever: str | None,
        followup: FollowUp | None,
        live: bool,
    ) -> Iterator[str | Answer]:
        search = loaded.retrievers[check_retriever(retriever or self.settings.retriever)]
        if loaded.generator is not None:
            resolved, failure = loaded.generator.standalone(question, followup)
            if failure:  # the LLM already failed on the rewrite: do not wait for it a second time
                answer = self._extractive(loaded, search, question, k, followup, within)
                yield replace(answer, notice=f"{failure}; showing the extractive answer instead.")
                return
            qvec = self.embedder.embed_query(resolved)
            passages = search.retrieve(resolved, k, qvec, within)
            yield from loaded.generator.stream(question, passages, qvec, resolved, live)
            return
        yield self._extractive(loaded, search, question, k, followup, within)

    def _extractive(
        self,
        loaded: _Loaded,
        search: Retriever,
        question: str,
        k: int,
        followup: FollowUp | None,
        within: Collection[str] | None,
    ) -> Answer:
        resolved = followup.joined(question) if followup else question
        qvec = self.embedder.embed_query(question)
        search_vec = self.embedder.embed_query(resolved) if followup else qvec
        passages = search.retrieve(resolved, k, search_vec, within)
        return loaded.answerer.answer(question, passages, qvec, followup, resolved)

    def chat(self, history: list[Answer] | None = None) -> ChatSession:
        """A conversation that resolves follow-up questions against its history (new, or the
        answers of one going on: they are kept by reference)."""
        return ChatSession(self, history)

    def retrieve(
        self,
        question: str,
        k: int = 10,
        within: Collection[str] | None = None,
        retriever: str | None = None,
    ) -> list[Passage]:
        """The `k` best passages for `question`, best first (`within`: only those document ids)."""
        search = self._current().retrievers[check_retriever(retriever or self.settings.retriever)]
        question = check_question(question, self.settings.max_question_chars)
        return search.retrieve(question, _check_k(k), within=within)


def _with_pages(answer: Answer, store: Store) -> Answer:
    """`answer` with the page of each quote from a PDF."""
    if not any(store.documents[c.doc_id].pages for c in answer.citations if c.doc_id in store.documents):
        return answer
    cited = tuple(
        replace(c, page=page_at(store.documents[c.doc_id].pages, c.start))
        if c.doc_id in store.documents
        else c
        for c in answer.citations
    )
    return replace(answer, citations=cited)


def check_question(question: str, max_chars: int = Settings.max_question_chars) -> str:
    """The question without surrounding white space; an InputError when there is nothing to ask
    or it is longer than `max_chars`."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question about the documents")
    question = question.strip()
    if len(question) > max_chars:
        raise InputError(
            f"the question is {len(question):,} characters long, over the {max_chars:,} limit "
            "(RAG_MAX_QUESTION_CHARS); ask something shorter"
        )
    return question


def bundled_corpus_dir() -> Path:
    """The folder of the bundled knowledge base (package data)."""
    return Path(str(resources.files("rag") / "corpus"))


def bundled_index_dir(
    cache_dir: str | os.PathLike[str] | None = None, settings: Settings | None = None, progress: bool = False
) -> Path:
    """The folder of the bundled corpus's index, built on first use (nothing is opened otherwise)."""
    settings = settings or Settings()
    index_dir = cached_index_dir([bundled_corpus_dir()], settings.index, cache_dir)
    if not (index_dir / MANIFEST).exists():
        Assistant.bundled(cache_dir, settings, progress)
    return index_dir


def cached_index_dir(
    paths: Sequence[str | os.PathLike[str]], settings: IndexSettings, cache_dir: str | os.PathLike[str] | None
) -> Path:
    """The cache folder's index for these files: named by the settings and by each file's path and content.

    Paths are part of the name because citations carry source paths: two checkouts never share an
    index whose paths point into the other one.
    """
    base = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    digest = hashlib.sha256(repr(sorted(vars(settings).items())).encode())
    for path in sorted(find_files(paths)[0]):
        digest.update(str(path).encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return base / f"index-{digest.hexdigest()[:16]}"


def _as_list(paths: Paths) -> list[str | os.PathLike[str]]:
    return [paths] if isinstance(paths, str | os.PathLike) else list(paths)


def _index_settings_of(store: Store, batch_size: int = IndexSettings.batch_size) -> IndexSettings:
    return IndexSettings(model=store.model, batch_size=batch_size, **store.chunking)


def _check_k(k: int) -> int:
    if k < 1:
        raise InputError(f"k must be greater than 0. Currently, k is {k}")
    return k
