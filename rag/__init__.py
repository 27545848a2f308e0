"""Retrieval-augmented answers with exact citations.

from rag import Assistant
bot = Assistant.load("my-index")
reply = bot.ask("How many comprehensive pilot zones are there?")
"""

from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    InputError,
    ModelLoadError,
    RagError,
)
from rag.assistant import Assistant
from rag.chat import ChatSession
from rag.settings import Settings
from rag.types import REFUSAL_TEXT, Answer, Citation, Passage

__all__ = [
    "REFUSAL_TEXT",
    "Answer",
    "Assistant",
    "ChatSession",
    "Citation",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InputError",
    "ModelLoadError",
    "Passage",
    "RagError",
    "Settings",
]
