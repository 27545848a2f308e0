"""A user's LLM server, reached through llama-index's clients: any OpenAI-compatible API, or Ollama.

No model ships with the project. `LLMConfig` names the server; `ChatLLM` sends chat messages and
returns the reply whole or streamed, turning every failure (unreachable, timeout, HTTP error,
malformed reply) into one `LLMError` line that names the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from index.errors import InputError, RagError

BACKENDS = ("openai", "ollama")
DEFAULT_URLS = {"openai": "http://127.0.0.1:8000/v1", "ollama": "http://127.0.0.1:11434"}


class LLMError(RagError):
    """The LLM endpoint could not give an answer (the message says which endpoint and why)."""


@dataclass(frozen=True)
class LLMConfig:
    """Where the LLM is: `openai` (any OpenAI-compatible base URL: vLLM, llama.cpp server,
    LM Studio, OpenAI) or `ollama`; the model name; an optional API key; the timeout in seconds."""

    backend: str
    model: str
    base_url: str = ""
    api_key: str = ""
    timeout: float = 60.0
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(f"unknown LLM backend '{self.backend}'; choose one of {', '.join(BACKENDS)}")
        if not self.model.strip():
            raise InputError(f"the {self.backend} LLM needs a model name (e.g. RAG_LLM_MODEL=llama3.1)")
        if self.timeout <= 0:
            raise InputError(f"the LLM timeout must be greater than 0 seconds, not {self.timeout}")

    @property
    def url(self) -> str:
        return (self.base_url or DEFAULT_URLS[self.backend]).rstrip("/")

    def describe(self) -> str:
        return f"{self.backend} model '{self.model}' at {self.url}"


def config_from_env(env: Mapping[str, str]) -> LLMConfig | None:
    """The LLM named by RAG_LLM_BACKEND / RAG_LLM_MODEL / RAG_LLM_URL / RAG_LLM_API_KEY /
    RAG_LLM_TIMEOUT in `env` (the entry points pass `os.environ`), or None when no backend is set."""
    backend = env.get("RAG_LLM_BACKEND", "").strip()
    if not backend:
        return None
    timeout = env.get("RAG_LLM_TIMEOUT", "60")
    try:
        seconds = float(timeout)
    except ValueError:
        raise InputError(f"RAG_LLM_TIMEOUT must be a number of seconds, not '{timeout}'") from None
    return LLMConfig(
        backend=backend,
        model=env.get("RAG_LLM_MODEL", ""),
        base_url=env.get("RAG_LLM_URL", ""),
        api_key=env.get("RAG_LLM_API_KEY", "") or env.get("OPENAI_API_KEY", ""),
        timeout=seconds,
    )


Message = tuple[str, str]  # (role, content): role is system, user or assistant


class ChatLLM:
    """Chat with the configured server through llama-index's OpenAILike or Ollama client."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._llm: Any = None

    def chat(self, messages: Sequence[Message]) -> str:
        """The whole reply."""
        try:
            reply = self._client().chat(_messages(messages))
            return str(reply.message.content or "")
        except LLMError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """The reply in pieces as they arrive; a stream cut off before its end raises `LLMError`."""
        finished = False
        try:
            for chunk in self._client().stream_chat(_messages(messages)):
                finished = _is_last(chunk.raw)
                if chunk.delta:
                    yield str(chunk.delta)
        except Exception as exc:
            raise self._error(exc) from None
        if not finished:
            raise LLMError(f"the LLM ({self.config.describe()}) failed: the reply stopped midway")

    def _client(self) -> Any:
        if self._llm is None:
            c = self.config
            if c.backend == "openai":
                from llama_index.llms.openai_like import OpenAILike

                self._llm = OpenAILike(
                    model=c.model,
                    api_base=c.url,
                    api_key=c.api_key or "no-key",
                    is_chat_model=True,
                    timeout=c.timeout,
                    max_retries=0,
                    temperature=c.temperature,
                )
            else:
                from llama_index.llms.ollama import Ollama

                self._llm = Ollama(
                    model=c.model, base_url=c.url, request_timeout=c.timeout, temperature=c.temperature
                )
        return self._llm

    def _error(self, exc: Exception) -> LLMError:
        name = type(exc).__name__
        text = " ".join(str(exc).split())[:200]
        if "timeout" in name.lower() or "timed out" in text.lower():
            why = f"no reply within {self.config.timeout:g} s"
        elif "connect" in name.lower() or "connection" in text.lower():
            why = "cannot connect"
        else:
            why = f"{name}: {text}" if text else name
        return LLMError(f"the LLM ({self.config.describe()}) failed: {why}")


def _is_last(raw: Any) -> bool:
    """Whether a streamed chunk is the server's last: OpenAI sets a finish_reason, Ollama done."""
    if isinstance(raw, dict):
        return bool(raw.get("done"))
    choices = getattr(raw, "choices", None) or []
    return any(getattr(c, "finish_reason", None) for c in choices)


def _messages(messages: Sequence[Message]) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role=role, content=content) for role, content in messages]
