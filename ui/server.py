"""`rag serve`: one FastAPI server, one loaded model and index, for every way in.

    /                       the browser chat (Gradio), on one collection
    /v1/chat/completions    OpenAI-compatible (ui/openai_api.py); /v1/models lists the collections
    /api/v1/...             the REST API (ui/rest_api.py); spec at /openapi.json, browsable at /docs
    /mcp                    the MCP server over streamable HTTP (ui/mcp_server.py)

With API keys (ui/keys.py) every request but /api/v1/health and the API docs needs one; the chat
asks for it once on a sign-in page and keeps it in an HttpOnly cookie.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import IndexNotFoundError, InputError, RagError
from rag.collections import DEFAULT, CollectionNotFound
from ui.app import CSS, HEAD, MAX_UPLOAD_MB, ORIGINALS, build_ui
from ui.keys import COOKIE, AccessDenied, KeyRing, presented_key
from ui.library import Library
from ui.mcp_server import build_mcp
from ui.openai_api import router as openai_router
from ui.rest_api import router as rest_router

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
OPEN_PATHS = ("/api/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/rag/login")
API_PREFIXES = ("/v1/", "/api/", "/mcp")
LOGIN = "/rag/login"
CHATS = "/c"  # the chats of the collections other than the one at /


def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    """An error as the OpenAI API shapes it (its clients read `error.message`); the REST API too."""
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": status}}, status)


def create_app(
    library: Library, keys: KeyRing, chat_collection: str = DEFAULT, host: str = "127.0.0.1"
) -> FastAPI:
    """The server's ASGI app: the API, MCP and the chat on `chat_collection`, behind `keys`."""
    import gradio as gr

    library.get(chat_collection)  # loads the model and index now, not on the first question
    # every collection there is at start has its chat: `chat_collection` at /, the others at /c/<name>/
    places = {name: "/" if name == chat_collection else f"{CHATS}/{name}/" for name in library.names()}
    mcp = build_mcp(library, keys)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=host)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = FastAPI(
        title="rag-assistant",
        version="1",
        summary="Answers from your documents, every claim cited; or an honest refusal.",
        lifespan=lifespan,
    )
    _add_error_handlers(app)
    app.include_router(openai_router(library, keys))
    app.include_router(rest_router(library, keys))

    @app.get(LOGIN, include_in_schema=False)
    def login_page(next: str = "/") -> HTMLResponse:
        return HTMLResponse(_login_html("", _local(next)))

    @app.post(LOGIN, include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        key = str(form.get("key", "")).strip()
        goal = _local(str(form.get("next", "/")))
        collection = chat_of(goal, chat_collection)
        if not (keys.allows(key, collection) if collection else keys.find(key)):
            problem = "That key is not valid for this chat; check it and try again."
            return HTMLResponse(_login_html(problem, goal), 401)
        done = RedirectResponse(goal, status_code=303)
        done.set_cookie(COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return done

    @app.get(ORIGINALS + "/{key}", include_in_schema=False)
    def original(key: str, request: Request) -> Response:
        presented = presented_key(request.headers, request.cookies)
        for name in places:
            path = library.get(name).original(key)
            if path is not None and keys.allows(presented, name):
                return FileResponse(path, filename=path.name, content_disposition_type="inline")
        return error(404, "no uploaded document has that key; open it from a citation in the chat")

    @app.api_route(
        "/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    @app.api_route(
        "/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def nowhere(rest: str, request: Request) -> JSONResponse:  # not the chat's: it is mounted at /
        return error(
            404,
            f"there is no {request.method} {request.url.path}; the API is listed at /docs",
            "not_found_error",
        )

    app.router.routes.extend(mcp_app.routes)
    for name, place in sorted(places.items(), key=lambda p: p[1] == "/"):  # "/" last: it takes the rest
        others = [(n, p) for n, p in places.items() if n != name]
        demo = build_ui(library.get(name), name if len(places) > 1 else "", others)
        demo.queue(default_concurrency_limit=4)
        app = gr.mount_gradio_app(
            app,
            demo,
            path=place.rstrip("/") or "/",
            footer_links=["api"],
            max_file_size=f"{MAX_UPLOAD_MB}mb",
            theme=gr.themes.Soft(),
            css=CSS,
            head=HEAD,
        )
    app.add_middleware(KeyCheck, keys=keys, chat_collection=chat_collection)
    return app


class KeyCheck:
    """ASGI middleware: with keys, a request without a valid one never reaches the app. API paths
    get a 401 JSON error; the chat's page sends the browser to the sign-in page."""

    def __init__(self, app: ASGIApp, keys: KeyRing, chat_collection: str) -> None:
        self.app = app
        self.keys = keys
        self.chat_collection = chat_collection

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or not self.keys.enabled:
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if path in OPEN_PATHS:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cookies = {k: m.value for k, m in SimpleCookie(headers.get("cookie", "")).items()}
        api = path.startswith(API_PREFIXES)
        key = presented_key(headers, None if api else cookies)
        try:
            self.keys.check(key, None if api else chat_of(path, self.chat_collection))
        except AccessDenied as denied:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            wants_page = not api and scope.get("method") == "GET" and "text/html" in headers.get("accept", "")
            response = (
                RedirectResponse(f"{LOGIN}?{urlencode({'next': path})}", 303)
                if wants_page
                else error(denied.status, str(denied), "authentication_error")
            )
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def chat_of(path: str, chat_collection: str) -> str | None:
    """The collection whose chat `path` belongs to (None: an uploaded file, which any valid key may
    ask for and whose route checks its collection)."""
    if path.startswith(CHATS + "/"):
        return path.split("/")[2]
    return None if path.startswith(ORIGINALS) else chat_collection


def _local(path: str) -> str:
    """`path` when it is a path on this server (never another site's address), else "/"."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AccessDenied)
    async def denied(_: Request, exc: AccessDenied) -> JSONResponse:
        return error(
            exc.status, str(exc), "authentication_error" if exc.status == 401 else "permission_error"
        )

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        if isinstance(exc, CollectionNotFound | IndexNotFoundError):
            return error(404, str(exc), "not_found_error")
        if isinstance(exc, InputError):
            return error(400, str(exc))
        return error(500, str(exc), "server_error")

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return error(422, f"the request is not valid: {problems}; see /docs for the expected shape")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(
            exc.status_code,
            str(exc.detail),
            "not_found_error" if exc.status_code == 404 else "invalid_request_error",
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return error(
            500, f"unexpected {type(exc).__name__}: {exc}; the server log has the details", "server_error"
        )


def _login_html(problem: str, goal: str) -> str:
    note = f'<p role="alert" style="color:#b91c1c">{html.escape(problem)}</p>' if problem else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · rag-assistant</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:420px;margin:12vh auto;padding:0 16px">
<h1 style="font-size:22px">Sign in to the document chat</h1>
<p>This server needs an API key. Ask whoever runs it for one.</p>{note}
<form method="post" action="{LOGIN}"><input type="hidden" name="next" value="{html.escape(goal)}">
<label for="key">API key</label><br>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus
 style="width:100%;padding:8px;margin:6px 0 12px;font-size:16px">
<button type="submit" style="padding:8px 16px;font-size:16px">Sign in</button></form></body></html>"""


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the server until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")
