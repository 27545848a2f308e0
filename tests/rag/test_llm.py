"""The LLM client (llama-index's OpenAILike and Ollama) against local scripted servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from index.errors import InputError
from rag.llm import ChatLLM, LLMConfig, LLMError
from tests.llm_servers import Script, ScriptedServer

pytestmark = pytest.mark.unit

MESSAGES = [("system", "Answer from the passages."), ("user", "How many pilot zones are there?")]


@pytest.fixture(params=["openai", "ollama"])
def server(request: pytest.FixtureRequest) -> Iterator[ScriptedServer]:
    with ScriptedServer(request.param) as s:
        yield s


def _llm(server: ScriptedServer, timeout: float = 10.0) -> ChatLLM:
    return ChatLLM(LLMConfig(server.protocol, "test-model", server.url, "secret", timeout))


def test_whole_and_streamed_replies(server: ScriptedServer) -> None:
    server.script(Script.text("China has 165 comprehensive pilot zones [1]."))
    llm = _llm(server)
    assert llm.chat(MESSAGES) == "China has 165 comprehensive pilot zones [1]."
    pieces = list(llm.stream(MESSAGES))
    assert len(pieces) > 1 and "".join(pieces) == "China has 165 comprehensive pilot zones [1]."
    first = server.requests[0]
    assert first["model"] == "test-model"
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["messages"][1]["content"] == "How many pilot zones are there?"


def test_server_error_is_one_line(server: ScriptedServer) -> None:
    server.script(Script(status=500))
    with pytest.raises(LLMError, match=rf"the LLM \({server.protocol} model 'test-model' at .*\) failed"):
        _llm(server).chat(MESSAGES)


def test_timeout_names_the_limit(server: ScriptedServer) -> None:
    server.script(Script(["late"], delay=2.0))
    with pytest.raises(LLMError, match=r"no reply within 0.5 s"):
        _llm(server, timeout=0.5).chat(MESSAGES)


def test_a_stream_cut_midway_raises(server: ScriptedServer) -> None:
    server.script(Script(["China has ", "165 ", "zones."], cut_after=1))
    got: list[str] = []
    with pytest.raises(LLMError):
        for piece in _llm(server).stream(MESSAGES):
            got.append(piece)
    assert got == ["China has "]


def test_unreachable_endpoint() -> None:
    llm = ChatLLM(LLMConfig("openai", "m", "http://127.0.0.1:9/v1", timeout=2.0))
    with pytest.raises(LLMError, match="cannot connect"):
        llm.chat(MESSAGES)


def test_config_is_validated() -> None:
    with pytest.raises(InputError, match="unknown LLM backend 'gpt'; choose one of openai, ollama"):
        LLMConfig("gpt", "m")
    with pytest.raises(InputError, match="needs a model name"):
        LLMConfig("ollama", " ")
    with pytest.raises(InputError, match="timeout must be greater than 0"):
        LLMConfig("openai", "m", timeout=0)
    assert LLMConfig("ollama", "llama3.1").url == "http://127.0.0.1:11434"
