"""What one `rag serve` process offers: its collections, each with one assistant and one upload folder."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from rag import DocumentInfo, InputError
from rag.chat import Turn
from rag.collections import DEFAULT, CollectionNotFound, Collections
from ui.app import ChatApp

T = TypeVar("T")


class Library:
    """The collections of a data folder (`Collections`), or one index opened by its folder
    (served as `default`); each is opened on first use and shared by the chat, the API and MCP."""

    def __init__(
        self,
        collections: Collections | None = None,
        single: ChatApp | None = None,
        workers: int | None = None,
    ) -> None:
        """`workers`: questions answered at once (default: one per CPU core); the others wait their
        turn in order, which keeps the slowest answer near the average under load."""
        if (collections is None) == (single is None):
            raise ValueError("give either `collections` or `single`")
        self.collections = collections
        self._apps: dict[str, ChatApp] = {DEFAULT: single} if single is not None else {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 1, thread_name_prefix="rag-answer"
        )

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` (answering, searching) on one of the workers, first come first served."""
        return await asyncio.wrap_future(self._pool.submit(work))

    def names(self) -> list[str]:
        return self.collections.names() if self.collections is not None else [DEFAULT]

    def get(self, name: str = DEFAULT) -> ChatApp:
        """The collection `name`; CollectionNotFound (naming the valid ones) when there is none."""
        if self.collections is None:
            if name != DEFAULT:
                raise CollectionNotFound(
                    f"no collection named '{name}'; this server has one collection: {DEFAULT} "
                    "(start it without --index-dir or --db to serve the collections of its data folder)"
                )
            return self._apps[DEFAULT]
        with self._lock:
            if name not in self._apps:
                bot = self.collections.open(name)  # checks the name
                self._apps[name] = ChatApp(bot, self.collections.folder(name))
            return self._apps[name]


def document_id(app: ChatApp, doc: DocumentInfo) -> str:
    """A document's id as the API and MCP show it: its path relative to the collection's data
    folder or to its indexed folder (`ChatApp.shown`), never a server path."""
    return app.shown(doc.doc_id)


def documents_named(app: ChatApp, names: Collection[str] | None) -> list[str] | None:
    """The internal ids of the documents `names` give (ids as `document_id` shows them, sources or
    file names); None when `names` is empty or None (every document)."""
    if not names:
        return None
    docs = app.bot.documents()
    shown = {document_id(app, d): d.doc_id for d in docs}
    ids: list[str] = []
    rest = [n for n in names if n not in shown]
    ids += [shown[n] for n in names if n in shown]
    if rest:
        ids += [i for i in app.bot.documents_named(rest) if i not in ids]
    return ids


def document_dict(app: ChatApp, doc: DocumentInfo) -> dict[str, object]:
    """A document as the API and MCP list it."""
    return {
        "id": document_id(app, doc),
        "source": app.shown(doc.source),
        "title": doc.title,
        "file_name": doc.file_name,
        "chunks": doc.n_chunks,
        "characters": doc.n_chars,
        "pages": len(doc.pages),
        "metadata": doc.metadata,
    }


def turns_from_messages(
    messages: Sequence[tuple[str, str, dict[str, object] | None]],
) -> tuple[list[Turn], str]:
    """The earlier turns and the question of a conversation given as (role, text, `rag` extension
    of an assistant message or None) triples, oldest first; the last must be the user's question.
    System messages are ignored."""
    said = [(role, text, ext) for role, text, ext in messages if role in ("user", "assistant")]
    if not said or said[-1][0] != "user":
        raise InputError("the last message must be the user's question (role 'user')")
    turns: list[Turn] = []
    for role, text, ext in said[:-1]:
        if role == "user":
            turns.append(Turn(text))
        elif turns:
            last = turns[-1]
            turns[-1] = Turn(last.question, text, refused=bool((ext or {}).get("refused", False)))
    return turns, said[-1][1]
