"""llm mode through the Python API: the real MiniLM model and FAISS, and a local scripted LLM server
(OpenAI chat completions or Ollama chat) in place of the user's LLM."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import InputError
from rag import Assistant
from rag.llm import LLMConfig
from rag.settings import Settings
from rag.types import REFUSAL_TEXT, Answer
from tests.conftest import write
from tests.llm_servers import Script, ScriptedServer

pytestmark = [pytest.mark.integration]

DOCS = {
    "zones.txt": "Hangzhou opened the first comprehensive pilot zone in 2015. "
    "In 2016 the programme added 12 more cities, among them Tianjin and Shanghai.",
    "trade.txt": "China's cross-border e-commerce trade reached about 369 billion US dollars in 2024. "
    "That was 10.8% more than the year before.",
    "temu.txt": "Temu, the shopping app owned by PDD, runs a fully managed model for its merchants.",
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("llm-mode")
    for name, text in DOCS.items():
        write(root / "docs" / name, text)
    Assistant.build([root / "docs"], root / "index")
    return root / "index"


@pytest.fixture(params=["openai", "ollama"])
def server(request: pytest.FixtureRequest) -> Iterator[ScriptedServer]:
    with ScriptedServer(request.param) as s:
        yield s


def _bot(index_dir: Path, server: ScriptedServer, timeout: float = 10.0) -> Assistant:
    llm = LLMConfig(server.protocol, "test-model", server.url, timeout=timeout)
    return Assistant.load(index_dir, Settings(answer_mode="llm", llm=llm, top_k=3))


def _quotes_at_offsets(bot: Assistant, answer: Answer) -> None:
    numbers = [c.n for c in answer.citations]
    assert list(dict.fromkeys(numbers)) == list(range(1, len(set(numbers)) + 1))
    for c in answer.citations:
        assert bot.document_text(c.doc_id)[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text


def _reply(index_dir: Path, server: ScriptedServer, template: str, question: str) -> tuple[Assistant, Answer]:
    """Ask `question` of an assistant whose LLM answers `template` (its `{n:WORD}` filled in)."""
    server.script(Script(template=template))
    bot = _bot(index_dir, server)
    return bot, bot.ask(question)


def test_good_citations(index_dir: Path, server: ScriptedServer) -> None:
    bot, answer = _reply(
        index_dir,
        server,
        "China's cross-border e-commerce trade reached about 369 billion US dollars in 2024 [{n:369}]. "
        "Hangzhou opened the first pilot zone in 2015 [{n:Hangzhou}].",
        "What was the trade worth in 2024, and where was the first zone?",
    )
    assert answer.mode == "llm" and not answer.refused and answer.notice == ""
    assert [s.supported for s in answer.sentences] == [True, True]
    assert [s.sources for s in answer.sentences] == [(1,), (2,)]  # renumbered by first use
    assert answer.citations[0].doc_id.endswith("trade.txt")
    assert answer.citations[1].doc_id.endswith("zones.txt")
    assert "369 billion" in answer.citations[0].quote and "Hangzhou" in answer.citations[1].quote
    _quotes_at_offsets(bot, answer)
    prompt = server.requests[-1]["messages"]
    assert "only facts stated in the passages" in prompt[0]["content"]
    assert "<passages>" in prompt[1]["content"] and "Question:" in prompt[1]["content"]


def test_out_of_range_markers_are_dropped_and_the_sentence_rechecked(
    index_dir: Path, server: ScriptedServer
) -> None:
    server.script(Script(["Temu runs a fully managed model for its merchants [0][99]."]))
    bot = _bot(index_dir, server)
    answer = bot.ask("Which model does Temu use?")
    assert "[0]" not in answer.text and "[99]" not in answer.text
    assert "Dropped citation markers that name no passage: [0] [99]." in answer.notice
    (sentence,) = answer.sentences
    assert sentence.supported and sentence.attached and sentence.sources == (1,)
    assert answer.citations[0].doc_id.endswith("temu.txt")
    _quotes_at_offsets(bot, answer)


def test_wrong_passage_and_invented_claim_are_flagged(index_dir: Path, server: ScriptedServer) -> None:
    _, answer = _reply(
        index_dir,
        server,
        "Temu runs a fully managed model for its merchants [{n:Hangzhou}]. "
        "The Moon base exported 40 tons of cheese in 1999 [{n:Temu}].",
        "Which model does Temu use?",
    )
    wrong, invented = answer.sentences
    assert not wrong.supported and wrong.sources == ()
    assert not invented.supported and invented.sources == ()
    assert answer.citations == () and "[" not in answer.text
    assert "2 sentence(s) not supported by the passages." in answer.notice


def test_not_found_is_a_refusal(index_dir: Path, server: ScriptedServer) -> None:
    server.script(Script(["NOT_FOUND"]))
    answer = _bot(index_dir, server).ask("Who won the 2022 FIFA World Cup?")
    assert answer.refused and answer.text == REFUSAL_TEXT and answer.citations == ()


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (Script(status=500), "failed"),
        (Script(["late"], delay=3.0), "no reply within 1 s"),
    ],
)
def test_llm_failure_falls_back_to_the_extractive_answer(
    index_dir: Path, server: ScriptedServer, script: Script, why: str
) -> None:
    server.script(script)
    started = time.perf_counter()
    answer = _bot(index_dir, server, timeout=1.0).ask("Which model does Temu use?")
    assert time.perf_counter() - started < 10
    assert answer.mode == "extractive" and not answer.refused
    assert "fully managed" in answer.citations[0].quote
    assert why in answer.notice and answer.notice.endswith("showing the extractive answer instead.")


def test_a_stream_cut_midway_falls_back(index_dir: Path, server: ScriptedServer) -> None:
    server.script(Script(["Temu runs ", "a fully ", "managed model [1]."], cut_after=2))
    items = list(_bot(index_dir, server).stream("Which model does Temu use?"))
    assert items[:2] == ["Temu runs ", "a fully "]  # what the chat showed while it streamed
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "extractive"
    assert "the reply stopped midway" in final.notice


def test_streamed_pieces_are_replaced_by_the_checked_answer(index_dir: Path, server: ScriptedServer) -> None:
    server.script(Script(template="Temu runs a fully managed model for its merchants [{n:Temu}] [7]."))
    items = list(_bot(index_dir, server).stream("Which model does Temu use?"))
    pieces, final = items[:-1], items[-1]
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces) and "[7]" in "".join(map(str, pieces))
    assert isinstance(final, Answer) and final.text.endswith("[1]") and "[7]" not in final.text


def test_follow_up_is_rewritten_by_the_llm_before_retrieval(index_dir: Path, server: ScriptedServer) -> None:
    server.script(
        Script(template="Hangzhou opened the first comprehensive pilot zone in 2015 [{n:Hangzhou}]."),
        Script(["How many more cities did the pilot zone programme add in 2016?"]),  # the rewrite
        Script(template="In 2016 the programme added 12 more cities [{n:Tianjin}]."),
    )
    chat = _bot(index_dir, server).chat()
    chat.ask("Where was the first pilot zone?")
    answer = chat.ask("And how many cities did it add the next year?")
    assert answer.resolved_question == "How many more cities did the pilot zone programme add in 2016?"
    rewrite_prompt = server.requests[1]["messages"][1]["content"]
    assert "Where was the first pilot zone?" in rewrite_prompt and "Hangzhou" in rewrite_prompt
    assert "12 more cities" in answer.citations[0].quote and answer.sentences[0].supported


def test_a_follow_up_with_the_llm_down_waits_for_one_timeout(index_dir: Path, server: ScriptedServer) -> None:
    server.script(
        Script(template="Hangzhou opened the first comprehensive pilot zone in 2015 [{n:Hangzhou}].")
    )
    chat = _bot(index_dir, server, timeout=1.0).chat()
    chat.ask("Where was the first pilot zone?")
    server.script(Script(["late"], delay=3.0))
    answer = chat.ask("And how many cities did it add the next year?")
    assert len(server.requests) == 2  # the rewrite timed out; the answer did not ask again
    assert answer.mode == "extractive" and "12 more cities" in answer.text
    assert "no reply within 1 s" in answer.notice
    assert answer.notice.endswith("showing the extractive answer instead.")


def test_llm_mode_needs_an_llm() -> None:
    with pytest.raises(InputError, match="answer mode 'llm' needs an LLM: set RAG_LLM_BACKEND"):
        Settings(answer_mode="llm")
    with pytest.raises(InputError, match="unknown answer mode 'chatty'; choose one of extractive, llm"):
        Settings(answer_mode="chatty")
