"""The public `Assistant` API end to end, with the real MiniLM model and FAISS: build and load an
index, ask, stream, chat and retrieve with per-call options, and add, remove and describe documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import REFUSAL_TEXT, Answer, Assistant, IndexInfo, InputError, Settings
from tests.conftest import write

pytestmark = pytest.mark.integration

ZONES = (
    "# Pilot zones\n\nHangzhou opened the first comprehensive pilot zone in 2015. "
    "In 2016 the programme was widened to 12 more cities.\n"
)
TRADE = "Cross-border e-commerce trade reached $369 billion in 2024, up 10.8% on the year.\n"
PORT = "The Otter Bay bonded port cleared 9,100 parcels on its first day of operation.\n"


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    write(tmp_path / "docs" / "zones.md", ZONES)
    write(tmp_path / "docs" / "trade.txt", TRADE)
    return tmp_path / "docs"


def _quotes_hold(bot: Assistant, answer: Answer) -> None:
    for c in answer.citations:
        assert bot.document_text(c.doc_id)[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text


def test_build_load_ask_and_describe(docs: Path, tmp_path: Path) -> None:
    bot = Assistant.build([docs], tmp_path / "idx")
    assert bot.report is not None and len(bot.report.documents_added) == 2
    info = bot.info()
    assert info == IndexInfo(
        path=str(tmp_path / "idx"),
        model="sentence-transformers/all-MiniLM-L6-v2",
        dimension=384,
        chunk_size=128,
        chunk_overlap=19,
        documents=2,
        chunks=2,
        generation=info.generation,
    )
    assert [(d.file_name, d.title, d.n_chunks) for d in bot.documents()] == [
        ("trade.txt", "", 1),
        ("zones.md", "Pilot zones", 1),
    ]
    first = bot.documents()[0]
    assert bot.document(first.doc_id) == first and bot.document("no-such-id") is None

    answer = bot.ask("Which city opened the first pilot zone?")
    assert not answer.refused and "Hangzhou" in answer.citations[0].quote
    assert answer.citations[0].file_name == "zones.md"
    _quotes_hold(bot, answer)
    refusal = bot.ask("Who won the 2022 FIFA World Cup?")
    assert refusal.refused and refusal.text == REFUSAL_TEXT and refusal.citations == ()

    again = Assistant.load(tmp_path / "idx", Settings(top_k=1))
    assert again.info() == info and again.report is None
    assert len(again.ask("How much was cross-border trade worth in 2024?").passages) == 1  # settings.top_k


def test_per_call_options_change_nothing_else(docs: Path, tmp_path: Path) -> None:
    bot = Assistant.build([docs], tmp_path / "idx")
    question = "How much was cross-border e-commerce trade worth in 2024?"
    trade = next(d.doc_id for d in bot.documents() if d.file_name == "trade.txt")
    zones = next(d.doc_id for d in bot.documents() if d.file_name == "zones.md")

    assert len(bot.ask(question, k=1).passages) == 1 and len(bot.ask(question).passages) == 2
    within = bot.ask(question, within=[zones])
    assert {p.doc_id for p in within.passages} == {zones} and "369" not in within.text
    for retriever in ("hybrid", "dense", "bm25"):
        answer = bot.ask(question, retriever=retriever)
        assert "$369 billion" in answer.citations[0].quote, retriever
        assert bot.retrieve(question, k=1, retriever=retriever)[0].doc_id == trade
    assert bot.settings == Settings(index=bot.settings.index)  # nothing was changed by the calls

    items = list(bot.stream(question))  # extractive: the stream is the one checked answer
    assert len(items) == 1 and isinstance(items[0], Answer) and "369" in items[0].text

    with pytest.raises(InputError, match="question is empty"):
        bot.ask("  ")
    with pytest.raises(InputError, match="k must be greater than 0. Currently, k is -1"):
        bot.retrieve(question, k=-1)
    with pytest.raises(InputError, match="unknown retriever 'sparse'; choose one of hybrid, dense, bm25"):
        bot.ask(question, retriever="sparse")


def test_chat_keeps_its_own_history(docs: Path, tmp_path: Path) -> None:
    bot = Assistant.build([docs], tmp_path / "idx")
    chat = bot.chat()
    chat.ask("When was the first comprehensive pilot zone opened?")
    follow = chat.ask("And how many more cities joined it the next year?")
    assert "12 more cities" in follow.citations[0].quote
    assert follow.resolved_question.startswith("When was the first comprehensive pilot zone opened?")
    assert len(chat.history) == 2 and bot.chat().history == []


def test_add_and_remove_documents(docs: Path, tmp_path: Path) -> None:
    bot = Assistant.build([docs], tmp_path / "idx")
    question = "How many parcels did the Otter Bay bonded port clear on its first day?"
    before = bot.info()
    assert bot.ask(question).refused

    port = write(tmp_path / "more" / "port.txt", PORT)
    report = bot.add([port])
    assert len(report.documents_added) == 1 and report.documents_total == 3
    after = bot.info()
    assert after.documents == 3 and after.generation > before.generation
    answer = bot.ask(question)
    assert not answer.refused and "9,100 parcels" in answer.citations[0].quote
    _quotes_hold(bot, answer)
    assert bot.add([port]).documents_added == ()  # unchanged: nothing embedded again

    with pytest.raises(InputError, match="does not exist"):
        bot.add([tmp_path / "missing.txt"])
    assert bot.info() == after  # a bad path changes nothing

    doc_id = next(d.doc_id for d in bot.documents() if d.file_name == "port.txt")
    assert bot.remove([doc_id, "no-such-document"]) == [doc_id]
    assert [d.file_name for d in bot.documents()] == ["trade.txt", "zones.md"]
    assert bot.ask(question).refused
    with pytest.raises(InputError, match="is not in index"):
        bot.document_text(doc_id)
    assert bot.remove(["no-such-document"]) == []
    assert Assistant.load(tmp_path / "idx").info().documents == 2  # the change is on disk


_COLD_ASK = """
import json, sys
from rag import Assistant, Settings
for reader in (None, "bundled"):
    answer = Assistant.load(sys.argv[1], Settings(reader=reader)).ask("Which city opened the first pilot zone?")
heavy = [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]
print(json.dumps({"quote": answer.citations[0].quote if answer.citations else "", "heavy": heavy}))
"""


def test_the_query_path_imports_neither_torch_nor_sentence_transformers(docs: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    Assistant.build([docs], tmp_path / "index")  # exports the ONNX embedding model on first use
    done = subprocess.run(
        [sys.executable, "-c", _COLD_ASK, str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["heavy"] == [] and "Hangzhou" in found["quote"]


def test_a_quote_from_a_pdf_carries_its_page(docs: Path, tmp_path: Path) -> None:
    from tests.docs import make_pdf

    make_pdf(
        docs / "report.pdf",
        [
            "The annual report covers the Otter Bay bonded port.",
            "",  # a page without text (a figure)
            "The Otter Bay bonded port cleared 9,100 parcels on its first day of operation.",
        ],
    )
    bot = Assistant.build([docs], tmp_path / "idx")
    answer = bot.ask("How many parcels did the Otter Bay port clear on its first day?")
    assert not answer.refused and "9,100" in answer.citations[0].quote
    assert answer.citations[0].page == 3 and answer.citations[0].place.startswith("page 3, chars ")
    _quotes_hold(bot, answer)
    reloaded = Assistant.load(tmp_path / "idx")
    assert (
        reloaded.ask("How many parcels did the Otter Bay port clear on its first day?").citations[0].page == 3
    )
    other = bot.ask("Which city opened the first pilot zone?")  # a Markdown file: no pages
    assert (
        other.citations and other.citations[0].page is None and other.citations[0].place.startswith("chars")
    )
