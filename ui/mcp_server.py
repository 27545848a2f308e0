"""The MCP server (the official `mcp` SDK): tools `search`, `ask` and `list_documents`, and each
document's text as a resource `rag://<collection>/documents/<key>`.

    rag mcp [--collection NAME | --index-dir DIR]      # stdio, for desktop agents
    rag serve                                          # streamable HTTP at /mcp, beside the API
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import Resource

from rag import RagError
from rag.collections import DEFAULT
from ui.keys import AccessDenied, KeyRing, presented_key
from ui.library import Library, document_dict, documents_named

INSTRUCTIONS = (
    "Answers questions from the user's documents. `ask` gives a short answer whose every sentence "
    "cites a passage, or says the documents do not hold the answer; `search` gives the passages "
    "themselves with exact character offsets. Collections are named document sets; "
    "`list_documents` names a collection's documents and their resource URIs."
)


def resource_uri(collection: str, doc_id: str) -> str:
    """The resource of a document: by a key that says nothing of the server's paths."""
    return f"rag://{collection}/documents/{hashlib.sha256(doc_id.encode()).hexdigest()[:24]}"


class RagMCP(MCPServer[Any]):
    """`MCPServer` whose resource list is the documents of the collections every key may read."""

    def __init__(self, library: Library, keys: KeyRing) -> None:
        super().__init__("rag-assistant", instructions=INSTRUCTIONS, log_level="WARNING")
        self.library = library
        self.keys = keys

    async def list_resources(self) -> list[Resource]:
        listed = await super().list_resources()
        for name in self.library.names():
            if not self.keys.open_to_all(name):
                continue  # listed only through `list_documents`, with a key that may see them
            app = self.library.get(name)
            for d in app.bot.documents():
                listed.append(
                    Resource(
                        uri=resource_uri(name, d.doc_id),
                        name=document_dict(app, d)["id"],  # type: ignore[arg-type]
                        title=d.title or d.file_name,
                        mime_type="text/plain",
                    )
                )
        return listed


@contextmanager
def told(error: type[Exception]) -> Iterator[None]:
    """A bad question, collection, document or key reaches the client as `error` with its
    message (the SDK hides the message of any other exception, as it should a crash's)."""
    try:
        yield
    except (RagError, AccessDenied) as exc:
        raise error(str(exc)) from exc


def build_mcp(library: Library, keys: KeyRing) -> RagMCP:
    server = RagMCP(library, keys)

    def allowed(ctx: Context[Any, Any] | None, collection: str) -> None:
        headers = ctx.headers if ctx is not None else None
        if headers is not None:  # over HTTP; stdio is the user's own process
            keys.check(presented_key(headers), collection)

    @server.tool()
    def search(
        query: str,
        collection: str = DEFAULT,
        k: int = 5,
        documents: list[str] | None = None,
        ctx: Context[Any, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The k passages of the collection that best match `query`, best first, each with its
        document, its exact character offsets in that document's text and its score. `documents`
        (ids, sources or file names) limits the search to those documents."""
        with told(ToolError):
            allowed(ctx, collection)
            app = library.get(collection)
            passages = app.bot.retrieve(query, k, documents_named(app, documents))
            return [app.public_passage(p) for p in passages]

    @server.tool()
    def ask(
        question: str,
        collection: str = DEFAULT,
        documents: list[str] | None = None,
        ctx: Context[Any, Any] | None = None,
    ) -> dict[str, Any]:
        """A short answer to `question` from the collection's documents: `text` with [n] markers,
        `citations` (n, document, quote, start/end offsets, page), or `refused: true` when the
        documents do not hold the answer."""
        with told(ToolError):
            allowed(ctx, collection)
            app = library.get(collection)
            answer = app.public(app.bot.ask(question, within=documents_named(app, documents)))
        keep = ("text", "refused", "confidence", "citations", "notice", "unmatched_terms")
        return {k: answer[k] for k in keep}

    @server.tool()
    def list_documents(
        collection: str = DEFAULT, ctx: Context[Any, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The documents of a collection, each with its id (for `documents=` in `search` and
        `ask`), title, size and the URI of its text as a resource."""
        allowed(ctx, collection)
        app = library.get(collection)
        return [
            {**document_dict(app, d), "uri": resource_uri(collection, d.doc_id)} for d in app.bot.documents()
        ]

    @server.tool()
    def list_collections(ctx: Context[Any, Any] | None = None) -> list[str]:
        """The collections (named document sets) there are to search."""
        headers = ctx.headers if ctx is not None else None
        key = presented_key(headers) if headers is not None else None
        return [n for n in library.names() if headers is None or keys.allows(key, n)]

    @server.resource("rag://{collection}/documents/{key}", mime_type="text/plain")
    def document(collection: str, key: str, ctx: Context[Any, Any] | None = None) -> str:
        """A document's extracted text (citation offsets index into it)."""
        with told(ResourceError):
            allowed(ctx, collection)
            app = library.get(collection)
            for d in app.bot.documents():
                if resource_uri(collection, d.doc_id).endswith("/" + key):
                    return app.bot.document_text(d.doc_id)
        raise ResourceError(
            f"no document with key '{key}' in '{collection}'; list them with `list_documents`"
        )

    return server
