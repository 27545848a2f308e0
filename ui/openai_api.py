"""The OpenAI-compatible endpoint: `POST /v1/chat/completions` and `GET /v1/models`.

`model` names a collection (`default` unless the server has others); `messages` is the whole
conversation, and follow-ups are resolved from it without asking the earlier questions again. The
answer's text (with `[n]` markers) is `choices[0].message.content`; the extension field
`choices[0].message.rag` (in a stream: the last chunk's `choices[0].delta.rag`) carries

    {"refused": bool, "confidence": float, "resolved_question": str, "notice": str,
     "citations": [{"n", "doc_id", "source", "title", "quote", "start", "end", "page", "score"}]}

Request extensions (`extra_body` in the openai package): `documents` (ids, sources or file names:
search only those) and `k` (passages to read).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag import Answer
from rag.chat import history_from_turns
from ui.keys import KeyRing, presented_key
from ui.library import Library, documents_named, turns_from_messages

OWNER = "rag-assistant"


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    rag: dict[str, Any] | None = Field(None, description="an assistant message's `rag` extension, sent back")


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ...: accepted and ignored
    model: str = Field("default", description="the collection to answer from")
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    documents: list[str] | None = Field(
        None, description="search only these documents (ids, sources or file names)"
    )
    k: int | None = Field(None, ge=1, le=100, description="passages to read (default: the server's)")


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: a string, or the text parts of a list of parts."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if p.get("type", "text") == "text")
    return content or ""


def extension(public: dict[str, Any]) -> dict[str, Any]:
    """The `rag` field of a reply, from the answer as `ChatApp.public` gives it."""
    keep = ("refused", "confidence", "resolved_question", "notice", "unmatched_terms", "mode")
    return {**{k: public[k] for k in keep}, "citations": public["citations"]}


def router(library: Library, keys: KeyRing) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

    @api.get("/models", summary="The collections, as OpenAI models")
    def models(request: Request) -> dict[str, Any]:
        key = presented_key(request.headers)
        names = [n for n in library.names() if keys.allows(key, n)]
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": OWNER} for n in names],
        }

    @api.post("/chat/completions", summary="Answer the last user message from a collection, with citations")
    async def completions(body: CompletionRequest, request: Request) -> Any:
        keys.check(presented_key(request.headers), body.model)
        turns, question = turns_from_messages([(m.role, text_of(m.content), m.rag) for m in body.messages])

        def work() -> tuple[Answer, dict[str, Any]]:
            app = library.get(body.model)
            chat = app.bot.chat(history_from_turns(turns))
            answer = chat.ask(question, k=body.k, within=documents_named(app, body.documents))
            return answer, app.public(answer)

        answer, public = await library.run(work)
        reply_id = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            return StreamingResponse(
                _chunks(reply_id, body.model, answer, extension(public)), media_type="text/event-stream"
            )
        return {
            "id": reply_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text, "rag": extension(public)},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(question, answer),
        }

    return api


def _chunks(reply_id: str, model: str, answer: Answer, rag: dict[str, Any]) -> Iterator[str]:
    """The answer as server-sent events: the role, the text a few words at a time, then the `rag`
    extension with the finish reason, and `[DONE]`."""
    created = int(time.time())

    def event(delta: dict[str, Any], finish: str | None = None) -> str:
        chunk = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*", answer.text):
        yield event({"content": piece})
    yield event({"rag": rag}, "stop")
    yield "data: [DONE]\n\n"


def _usage(question: str, answer: Answer) -> dict[str, int]:
    """Words, standing in for tokens (nothing here counts model tokens)."""
    asked, said = len(question.split()), len(answer.text.split())
    return {"prompt_tokens": asked, "completion_tokens": said, "total_tokens": asked + said}
