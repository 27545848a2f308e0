"""Local HTTP servers that speak the OpenAI chat-completions and Ollama chat protocols, for tests.

They answer with scripted replies; the product never ships them. Each request takes the next
`Script` from the server's queue (or the last one again), and every request body is recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """One scripted reply: its text in pieces (streamed one by one), or a failure."""

    pieces: list[str] = field(default_factory=list)
    status: int = 200  # e.g. 500 for a server error
    delay: float = 0.0  # seconds before answering (beyond the client's timeout: a timeout)
    cut_after: int | None = None  # stream this many pieces, then drop the connection
    piece_delay: float = 0.0  # seconds between streamed pieces
    # or a reply written from the request: reply(prompt) -> text, `{n:WORD}` placeholders filled in
    # with the number of the passage that contains WORD (see `passage_number`)
    template: str | None = None

    @classmethod
    def text(cls, text: str, pieces: int = 4) -> Script:
        words = text.split(" ")
        size = max(1, len(words) // pieces)
        chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        return cls([c + (" " if i < len(chunks) - 1 else "") for i, c in enumerate(chunks)])


class ScriptedServer:
    """A loopback server for one protocol ("openai" or "ollama"); use as a context manager."""

    def __init__(self, protocol: str, scripts: list[Script] | None = None) -> None:
        self.protocol = protocol
        self.scripts = list(scripts or [])
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        base = f"http://{host!s}:{port}"
        return base + "/v1" if self.protocol == "openai" else base

    def script(self, *scripts: Script) -> None:
        with self._lock:
            self.scripts = list(scripts)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any]) -> Script:
        with self._lock:
            self.requests.append(body)
            if len(self.scripts) > 1:
                return self.scripts.pop(0)
            return self.scripts[0] if self.scripts else Script(["OK"])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if server.protocol == "ollama" and self.path == "/api/show":  # model details
                    self._send(200, {"model_info": {"test.context_length": 8192}, "details": {}})
                    return
                if self.path not in ("/v1/chat/completions", "/api/chat"):
                    self._send(404, {"error": f"no route {self.path}"})
                    return
                script = server._next(body)
                if script.template is not None:
                    text = fill(script.template, _prompt(body))
                    script = replace(script, pieces=Script.text(text).pieces, template=None)
                if script.delay:
                    time.sleep(script.delay)
                if script.status != 200:
                    self._send(script.status, {"error": {"message": "scripted failure"}})
                    return
                stream = bool(body.get("stream", server.protocol == "ollama"))
                if not stream:
                    self._send(200, server._whole(body, "".join(script.pieces)))
                    return
                self.send_response(200)
                ctype = "text/event-stream" if server.protocol == "openai" else "application/x-ndjson"
                self.send_header("Content-Type", ctype)
                self.send_header("Connection", "close")
                self.end_headers()
                for i, chunk in enumerate(server._chunks(body, script)):
                    if script.cut_after is not None and i >= script.cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # drop the connection mid-stream
                        return
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if script.piece_delay:
                        time.sleep(script.piece_delay)
                self.close_connection = True

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _whole(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        model = body.get("model", "m")
        if self.protocol == "openai":
            message = {"role": "assistant", "content": text}
            reply = _openai(model, "chat.completion", {"message": message, "finish_reason": "stop"})
            return reply | {"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        return _ollama(model, text, done=True)

    def _chunks(self, body: dict[str, Any], script: Script) -> Iterator[bytes]:
        model = body.get("model", "m")
        openai = self.protocol == "openai"
        for piece in script.pieces:
            if openai:
                chunk = _openai(
                    model, "chat.completion.chunk", {"delta": {"content": piece}, "finish_reason": None}
                )
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            else:
                yield (json.dumps(_ollama(model, piece, done=False)) + "\n").encode()
        if openai:
            last = _openai(model, "chat.completion.chunk", {"delta": {}, "finish_reason": "stop"})
            yield f"data: {json.dumps(last)}\n\n".encode()
            yield b"data: [DONE]\n\n"
        else:
            yield (json.dumps(_ollama(model, "", done=True)) + "\n").encode()


def _openai(model: str, kind: str, choice: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat completion (or chunk of one) with a single choice."""
    return {
        "id": "chatcmpl-test",
        "object": kind,
        "created": 0,
        "model": model,
        "choices": [{"index": 0, **choice}],
    }


def _ollama(model: str, text: str, done: bool) -> dict[str, Any]:
    """An Ollama /api/chat reply (or piece of one)."""
    reply = {
        "model": model,
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": done,
    }
    return reply | {"done_reason": "stop"} if done else reply


def _prompt(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def passage_number(prompt: str, word: str) -> int:
    """The number the prompt gives to the passage that contains `word`."""
    for m in re.finditer(r'<passage n="(\d+)"[^>]*>(.*?)</passage>', prompt, re.DOTALL):
        if word in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"no passage in the prompt contains {word!r}")


def fill(template: str, prompt: str) -> str:
    """Replace each `{n:WORD}` with the number of the passage containing WORD."""
    return re.sub(r"\{n:([^}]+)\}", lambda m: str(passage_number(prompt, m.group(1))), template)
