"""The project's exceptions. Every message names the bad value and what to do about it."""

from __future__ import annotations


class RagError(Exception):
    """Base class: anything the CLI and UI show to a person as one line."""


class InputError(RagError):
    """A path, question or setting given by the user is not usable."""


class IndexNotFoundError(RagError):
    """There is no index where one was expected."""


class IndexCorruptError(RagError):
    """The index folder exists but cannot be read."""


class IndexMismatchError(RagError):
    """The index was built with another model, chunking or format version."""


class ModelLoadError(RagError):
    """The embedding model cannot be loaded or failed its integrity check."""


class IndexWriteError(RagError):
    """The index could not be saved (disk full, permissions); the previous version is unchanged."""
