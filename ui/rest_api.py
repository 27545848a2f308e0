"""The REST API under `/api/v1` (its OpenAPI spec: `/openapi.json`, browsable at `/docs`).

Errors are JSON, `{"error": {"message": ..., "type": ...}}`, the message naming the problem and
the remedy. Documents are named by the `id` the listing gives (or a source or a file name).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from rag import Answer, InputError
from rag.chat import Turn, history_from_turns
from rag.export import conversation_json, conversation_markdown
from ui.keys import KeyRing, presented_key
from ui.library import Library, document_dict, documents_named

VERSION = "1"


class EarlierTurn(BaseModel):
    question: str
    answer: str = ""
    refused: bool = False


class AskRequest(BaseModel):
    question: str = Field(..., description="the question", examples=["When was the first pilot zone set up?"])
    history: list[EarlierTurn] = Field(default_factory=list, description="earlier turns, oldest first")
    documents: list[str] | None = Field(None, description="search only these documents")
    k: int | None = Field(None, ge=1, le=100, description="passages to read (default: the server's)")


class RetrieveRequest(BaseModel):
    question: str
    documents: list[str] | None = None
    k: int = Field(10, ge=1, le=100)


class ExportRequest(BaseModel):
    answers: list[dict[str, Any]] = Field(..., description="answers as `ask` returned them, oldest first")


def router(library: Library, keys: KeyRing) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["REST"])

    def allowed(request: Request, collection: str, write: bool = False) -> None:
        keys.check(presented_key(request.headers), collection, write)

    @api.get("/health", summary="Whether the server is up (no key needed)")
    def health() -> dict[str, Any]:
        return {"status": "ok", "api_version": VERSION}

    @api.get("/collections", summary="The collections this key may use")
    def collections(request: Request) -> list[dict[str, Any]]:
        key = presented_key(request.headers)
        keys.check(key)
        return [_info(library, n) for n in library.names() if keys.allows(key, n)]

    @api.get("/collections/{collection}", summary="What a collection holds and how it was indexed")
    def collection_info(collection: str, request: Request) -> dict[str, Any]:
        allowed(request, collection)
        return _info(library, collection)

    @api.get("/collections/{collection}/documents", summary="The documents of a collection")
    def documents(collection: str, request: Request) -> list[dict[str, Any]]:
        allowed(request, collection)
        app = library.get(collection)
        return [document_dict(app, d) for d in app.bot.documents()]

    @api.post("/collections/{collection}/documents", summary="Add (upload) documents; needs write rights")
    def add(collection: str, request: Request, files: list[UploadFile] = File(...)) -> dict[str, Any]:  # noqa: B008
        allowed(request, collection, write=True)
        app = library.get(collection)
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
            paths = []
            for i, f in enumerate(files):
                folder = Path(tmp) / str(i)  # each upload keeps its own name
                folder.mkdir()
                path = folder / (Path(f.filename or "upload").name or "upload")
                with path.open("wb") as out:
                    shutil.copyfileobj(f.file, out)
                paths.append(str(path))
            report, refused = app.add_files(paths, progress=False)
        docs = {d.doc_id: d for d in app.bot.documents()}
        return {
            "added": [
                document_dict(app, docs[i]) for i in (report.documents_added if report else ()) if i in docs
            ],
            "unchanged": report.documents_unchanged if report else 0,
            "skipped": [f"{Path(s.path).name}: {s.reason}" for s in (report.skipped if report else ())],
            "refused": refused,
            "documents": len(docs),
        }

    @api.delete(
        "/collections/{collection}/documents/{document:path}", summary="Remove a document; needs write rights"
    )
    def remove(collection: str, document: str, request: Request) -> dict[str, Any]:
        allowed(request, collection, write=True)
        app = library.get(collection)
        ids = documents_named(app, [document]) or []
        removed = app.bot.remove(ids)
        return {"removed": len(removed), "documents": len(app.bot.documents())}

    @api.post("/collections/{collection}/ask", summary="Answer a question with citations, or refuse")
    async def ask(collection: str, body: AskRequest, request: Request) -> dict[str, Any]:
        allowed(request, collection)
        turns = [Turn(t.question, t.answer, refused=t.refused) for t in body.history]

        def work() -> dict[str, Any]:
            app = library.get(collection)
            chat = app.bot.chat(history_from_turns(turns))
            return app.public(chat.ask(body.question, k=body.k, within=documents_named(app, body.documents)))

        return await library.run(work)

    @api.post("/collections/{collection}/retrieve", summary="The best passages for a question, best first")
    async def retrieve(collection: str, body: RetrieveRequest, request: Request) -> list[dict[str, Any]]:
        allowed(request, collection)

        def work() -> list[dict[str, Any]]:
            app = library.get(collection)
            passages = app.bot.retrieve(body.question, body.k, documents_named(app, body.documents))
            return [app.public_passage(p) for p in passages]

        return await library.run(work)

    @api.post("/export", summary="A conversation (answers as `ask` returned them) as Markdown or JSON")
    def export(
        body: ExportRequest,
        request: Request,
        format: Literal["markdown", "json"] = Query("markdown"),
    ) -> PlainTextResponse:
        keys.check(presented_key(request.headers))
        try:
            answers = [Answer.from_dict(a) for a in body.answers]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"answer {exc!s} is missing or malformed: send the answers exactly as `ask` returned them"
            ) from None
        if format == "json":
            return PlainTextResponse(conversation_json(answers), media_type="application/json")
        return PlainTextResponse(conversation_markdown(answers), media_type="text/markdown")

    return api


def _info(library: Library, name: str) -> dict[str, Any]:
    info = library.get(name).bot.info()
    return {
        "name": name,
        "documents": info.documents,
        "chunks": info.chunks,
        "model": info.model,
        "dimension": info.dimension,
        "chunk_size": info.chunk_size,
        "chunk_overlap": info.chunk_overlap,
        "generation": info.generation,
    }
