"""The MCP server driven by the `mcp` SDK's own client: over stdio (`rag mcp`, as a desktop agent
starts it) and over streamable HTTP (`rag serve`, at /mcp, behind its API keys)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.ui.serving import ADMIN, HR_ONLY, ROOT, key_of, make_home, rag_serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]
Session = Any


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("mcp") / "home"
    make_home(home)
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[str]:
    with rag_serve(home, "--api-key", ADMIN, "--api-key", HR_ONLY) as url:
        yield url


@asynccontextmanager
async def over_stdio(home: Path) -> AsyncIterator[Session]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ui.cli", "mcp", "--home", str(home)],
        cwd=str(ROOT),
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def over_http(url: str, key: str = ADMIN) -> AsyncIterator[Session]:
    from mcp import ClientSession
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key_of(key)}"})
    async with (
        http,
        streamable_http_client(url + "/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def run(connect: Callable[[], Any], check: Callable[[Session], Awaitable[None]]) -> None:
    async def main() -> None:
        async with connect() as session:
            await check(session)

    asyncio.run(main())


async def tools_search_ask_and_resources(session: Session) -> None:
    tools = {t.name for t in (await session.list_tools()).tools}
    assert {"search", "ask", "list_documents", "list_collections"} <= tools
    found = await session.call_tool("search", {"query": "paid leave days", "collection": "hr", "k": 2})
    passages = found.structured_content["result"]
    assert passages[0]["doc_id"] == "leave.md" and "27 days" in passages[0]["text"]
    assert passages[0]["end"] > passages[0]["start"]
    answered = await session.call_tool("ask", {"question": "When was the first pilot zone set up?"})
    answer = answered.structured_content
    assert "2015" in answer["text"] and answer["citations"][0]["doc_id"] == "pilot-zones.md"
    refused = await session.call_tool("ask", {"question": "What is the GDP of Mars in 2023?"})
    assert refused.structured_content["refused"] is True
    listed = (await session.call_tool("list_documents", {"collection": "hr"})).structured_content["result"]
    leave = next(d for d in listed if d["id"] == "leave.md")
    text = (await session.read_resource(leave["uri"])).contents[0].text
    assert "27 days of paid leave" in text
    resources = (await session.list_resources()).resources
    assert leave["uri"] in {str(r.uri) for r in resources}


def test_stdio_lists_tools_searches_asks_and_reads_a_document(home: Path) -> None:
    run(lambda: over_stdio(home), tools_search_ask_and_resources)


def test_http_lists_tools_searches_asks_and_reads_a_document(server: str) -> None:
    run(lambda: over_http(server), tools_search_ask_and_resources)


def test_http_needs_a_key_and_holds_it_to_its_collections(server: str) -> None:
    import httpx

    bare = httpx.post(server + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert bare.status_code == 401 and "API key" in bare.json()["error"]["message"]

    async def only_hr(session: Session) -> None:
        assert (await session.call_tool("list_collections", {})).structured_content["result"] == ["hr"]
        denied = await session.call_tool("ask", {"question": "When was the first pilot zone set up?"})
        assert denied.is_error and "may not use the collection 'default'" in denied.content[0].text
        resources = (await session.list_resources()).resources
        assert not any("/default/" in str(r.uri) for r in resources)  # `default` is not open to every key

    run(lambda: over_http(server, HR_ONLY), only_hr)
