"""Retrieval-augmented answers with exact citations: the library the CLI, the chat and the evals use.

from rag import Assistant
bot = Assistant.load("my-index")
reply = bot.ask("How many comprehensive pilot zones are there?")

What callers need of the indexing layer (its errors, settings and report types) is re-exported here,
so that they talk to `rag` only.
"""

from index.build import BuildReport
from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
    ModelLoadError,
    RagError,
)
from index.find import SUPPORTED_SUFFIXES
from index.limits import Limits
from index.settings import IndexSettings
from index.types import DocumentInfo, Skipped, file_name
from rag.assistant import Assistant, check_question
from rag.chat import ChatSession
from rag.settings import ANSWER_MODES, RETRIEVERS, Settings
from rag.types import REFUSAL_TEXT, Answer, Citation, IndexInfo, Passage

__all__ = [
    "ANSWER_MODES",
    "REFUSAL_TEXT",
    "RETRIEVERS",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "Assistant",
    "BuildReport",
    "ChatSession",
    "Citation",
    "DocumentInfo",
    "IndexCorruptError",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexWriteError",
    "InputError",
    "Limits",
    "ModelLoadError",
    "Passage",
    "RagError",
    "Settings",
    "Skipped",
    "check_question",
    "file_name",
]
