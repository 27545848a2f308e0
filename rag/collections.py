"""Collections: named document sets in one data folder, each its own index.

    <home>/collections/<name>/index/     the collection's index
    <home>/collections/<name>/uploads/   files added through the chat or the API

`home` is `--home` or `$RAG_HOME` for the CLI, else `$XDG_DATA_HOME/rag-assistant`, else `~/.local/share/rag-assistant`.
The collection `default` holds the bundled e-commerce corpus until documents are indexed into it.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

from index.errors import InputError
from index.store import MANIFEST
from rag.assistant import Assistant, Paths, bundled_index_dir
from rag.settings import Settings

DEFAULT = "default"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class CollectionNotFound(InputError):
    """A collection that is not there (the message names the ones that are)."""


def default_home() -> Path:
    """The data folder collections live in when none is given (the CLI takes `$RAG_HOME` first)."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "rag-assistant"


def check_name(name: str) -> str:
    """`name` when it can name a collection; an InputError saying what a name may hold otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"'{name}' cannot name a collection: use 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (e.g. 'hr', 'sales-2026')"
        )
    return name


class Collections:
    """The collections of one data folder, each opened once and shared by everyone who asks.

    >>> lib = Collections()
    >>> lib.build("hr", ["policies/"])          # `rag index policies/ --collection hr`
    >>> lib.open("hr").ask("How many days of leave?")
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        settings: Settings | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """`settings`: how the assistants answer (each index keeps its own model and chunking);
        `cache_dir`: where the bundled corpus's index is cached (see `Assistant.bundled`)."""
        self.home = Path(home).expanduser() if home else default_home()
        self.settings = settings or Settings()
        self.cache_dir = cache_dir
        self._open: dict[str, Assistant] = {}
        self._lock = threading.Lock()

    def folder(self, name: str) -> Path:
        """The collection's folder: its index, its uploads, its chat's feedback."""
        return self.home / "collections" / check_name(name)

    def index_dir(self, name: str) -> Path:
        return self.folder(name) / "index"

    def exists(self, name: str) -> bool:
        return (self.index_dir(name) / MANIFEST).exists()

    def names(self) -> list[str]:
        """The collections there are, `default` first (it is always there: the bundled corpus
        stands in until documents are indexed into it)."""
        root = self.home / "collections"
        found = (
            sorted(p.parent.parent.name for p in root.glob(f"*/index/{MANIFEST}")) if root.is_dir() else []
        )
        return [DEFAULT, *(n for n in found if n != DEFAULT and _NAME.fullmatch(n))]

    def check(self, name: str) -> str:
        """`name` when it is a collection; an InputError naming the ones there are otherwise."""
        if name not in self.names():
            raise CollectionNotFound(
                f"no collection named '{name}'; the collections are: {', '.join(self.names())} "
                f"(create one with `rag index PATH --collection {name}`)"
            )
        return name

    def open(self, name: str = DEFAULT) -> Assistant:
        """The assistant on collection `name`, opened once per process (the embedding model and
        reader are shared by all); `default` is first made from the bundled corpus if missing."""
        with self._lock:
            if name not in self._open:
                self.check(name)
                if name == DEFAULT and not self.exists(DEFAULT):
                    self._copy_bundled()
                self._open[name] = Assistant.load(self.index_dir(name), self.settings)
            return self._open[name]

    def build(self, name: str, paths: Paths, progress: bool = False, rebuild: bool = False) -> Assistant:
        """Index `paths` into collection `name` (made when new, updated incrementally otherwise)."""
        index_dir = self.index_dir(name)
        bot = Assistant.build(paths, index_dir, self.settings, rebuild=rebuild, progress=progress)
        with self._lock:
            self._open.pop(name, None)  # the next `open` reads the new version
        return bot

    def _copy_bundled(self) -> None:
        """The bundled corpus's index (built once in the cache) copied into `default`, for uploads
        to change without touching the copy `rag ask` reads."""
        source = bundled_index_dir(self.cache_dir, self.settings)
        target = self.index_dir(DEFAULT)
        staging = target.with_name(target.name + ".copying")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns("*.lock"))
        staging.rename(target)
