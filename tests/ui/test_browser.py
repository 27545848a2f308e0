"""The chat in a real headless Chromium, driven by Playwright, against the real app on loopback.

Screenshots of each step go to `test-artifacts/` (git-ignored).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, write

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium is not installed (python3 dev.py test installs it)"
    ),
]


SERVER_DATA: dict[str, Path] = {}  # each test server's data folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from rag.assistant import Assistant, bundled_corpus_dir
    from ui.app import ChatApp, serve

    tmp = tmp_path_factory.mktemp("chat")
    shutil.copytree(bundled_corpus_dir(), tmp / "corpus")
    bot = Assistant.build([tmp / "corpus"], tmp / "index")
    port = free_port()
    demo = serve(ChatApp(bot, tmp / "data"), port=port, block=False)
    SERVER_DATA[f"http://127.0.0.1:{port}"] = tmp / "data"
    yield f"http://127.0.0.1:{port}"
    demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    yield page
    context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _ask(page: Any, question: str, expect: str) -> float:
    """Type a question, press Enter, wait for the complete answer; returns seconds taken."""
    bots = page.locator("#rag-chat [data-testid='bot']")
    before = bots.count()
    page.fill("#rag-question textarea", question)
    started = time.perf_counter()
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(
        """([n, expect]) => {
            const bots = document.querySelectorAll("#rag-chat [data-testid='bot']");
            return bots.length > n && bots[bots.length - 1].innerText.includes(expect);
        }""",
        arg=[before, expect],
        timeout=60_000,
    )
    elapsed = time.perf_counter() - started
    page.wait_for_timeout(300)
    return elapsed


def _last_bot(page: Any) -> str:
    return str(page.locator("#rag-chat [data-testid='bot']").last.inner_text())


def test_answer_sources_followup_refusal(page: Any) -> None:
    first = _ask(
        page, "How many comprehensive pilot zones for cross-border e-commerce does China have?", "[1]"
    )
    assert "165" in _last_bot(page)
    _shot(page, "01-answer")

    sources = page.locator("#rag-sources")
    assert any("165" in t for t in sources.locator(".rag-passage mark").all_inner_texts())
    assert "pilot-zones.md" in sources.inner_text()
    page.locator("#rag-sources summary").first.click()
    page.locator("#rag-sources a.rag-jump").first.click()
    assert page.locator("#rag-src-1-quote").is_visible()
    _shot(page, "02-source-document")

    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    _ask(page, "And how many cities did it expand to the next year?", "12")
    assert "widened to 12 more cities" in _last_bot(page)  # resolved from the turn before
    marks = page.locator("#rag-sources .rag-passage mark").all_inner_texts()
    assert any("12 more cities" in t for t in marks)  # the sources panel follows the latest answer
    _shot(page, "03-follow-up")

    _ask(page, "Who won the 2022 FIFA World Cup?", "Not found")
    assert "could not find this in the indexed documents" in _last_bot(page)
    _shot(page, "04-refusal")

    page.click("#rag-new")
    page.wait_for_function("document.querySelectorAll(\"#rag-chat [data-testid='bot']\").length === 0")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(
        json.dumps({"enter_to_complete_answer_s": round(first, 3)}) + "\n"
    )
    print(f"Enter -> complete answer on the bundled corpus: {first:.3f} s")


def _open_documents(page: Any) -> None:
    if not page.locator("#rag-upload").is_visible():
        page.locator("#rag-documents").get_by_text("Documents").first.click()


def _upload(page: Any, *paths: Path, expect: str = "Indexed") -> str:
    """Upload files in a fresh page and wait for the summary; returns it."""
    _open_documents(page)
    page.set_input_files("#rag-upload input[type=file]", [str(p) for p in paths])
    page.wait_for_function(
        "t => document.querySelector('#rag-upload-status').innerText.includes(t)", arg=expect, timeout=120_000
    )
    return str(page.locator("#rag-upload-status").inner_text())


def test_upload_then_ask(page: Any, tmp_path: Path) -> None:
    doc = write(
        tmp_path / "zebra-report.txt",
        "The Zebra Logistics Park opened in Ningbo in March 2026. It handles 40,000 parcels a day.\n",
    )
    _upload(page, doc)
    assert "zebra-report.txt" in page.locator("#rag-docs").inner_text()
    _ask(page, "How many parcels a day does the Zebra Logistics Park handle?", "40,000")
    assert "zebra-report.txt" in page.locator("#rag-sources").inner_text()
    _shot(page, "05-upload-answer")


def test_markup_in_documents_is_shown_as_text(page: Any, tmp_path: Path) -> None:
    payload = (
        "The Quokka Customs Hub has a motto printed as <script>window.__xss=1</script> on every crate. "
        'Its gate sign reads <img src=x onerror="window.__xss=2"> in large letters.\n'
    )
    doc = write(tmp_path / "quokka <b>hub</b>.md", payload)
    _upload(page, doc)
    _ask(page, "What motto does the Quokka Customs Hub print on every crate?", "Quokka")
    _shot(page, "06-markup-as-text")
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#rag-chat script, #rag-sources script").count() == 0
    shown = page.locator("#rag-chat").inner_text() + page.locator("#rag-sources").inner_text()
    assert "<script>window.__xss=1</script>" in shown
    assert '<img src=x onerror="window.__xss=2">' in shown


def test_dollar_signs_in_a_quote_stay_verbatim(page: Any, tmp_path: Path) -> None:
    doc = write(
        tmp_path / "heron-fees.txt",
        "The Heron Freight surcharge is computed as $$fee = 2 x weight$$ per parcel.\n",
    )
    _upload(page, doc)
    _ask(page, "How is the Heron Freight surcharge computed?", "Heron")
    assert "$$fee = 2 x weight$$" in page.locator("#rag-chat").inner_text()
    assert page.locator("#rag-chat .katex").count() == 0


def test_upload_shows_progress_while_indexing(page: Any, tmp_path: Path) -> None:
    paragraphs = [
        f"Depot {i} in the Yiwu free trade cluster ships {i * 7} parcels a day to buyers in Europe and Africa."
        for i in range(400)
    ]
    doc = write(tmp_path / "yiwu-depots.txt", "\n\n".join(paragraphs) + "\n")
    _open_documents(page)
    page.evaluate(
        """() => { window.__progress = [];
            setInterval(() => { const bar = document.querySelector('#rag-docs .progress-level');
                if (bar) window.__progress.push(bar.innerText); }, 50); }"""
    )
    page.set_input_files("#rag-upload input[type=file]", str(doc))
    bar = page.locator("#rag-docs .progress-level", has_text="Embedding")
    bar.wait_for(state="visible", timeout=60_000)
    bar.scroll_into_view_if_needed()
    _shot(page, "07-upload-progress")
    page.wait_for_function(
        "document.querySelector('#rag-upload-status').innerText.includes('Indexed 1 document')",
        timeout=180_000,
    )
    assert "yiwu-depots.txt" in page.locator("#rag-docs").inner_text()
    # the bar moves while the chunks are embedded, not only at the end
    texts = page.evaluate("window.__progress")
    seen = [float(m.group(1)) for t in texts if (m := re.match(r"Embedding - ([\d.]+)%", t))]
    assert len(set(seen)) >= 3 and seen == sorted(seen), sorted(set(texts))[:40]


def test_bad_uploads_get_a_clear_message_and_the_rest_go_in(page: Any, tmp_path: Path) -> None:
    bad_type = write(tmp_path / "prices.csv", "a,b\n1,2\n")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this file was cut off")
    empty = write(tmp_path / "empty.txt", "  \n")
    good = write(
        tmp_path / "otter-port.txt", "The Otter Bay bonded port cleared 9,100 parcels on its first day.\n"
    )
    summary = _upload(page, bad_type, broken, empty, good)
    toast = page.locator(".toast-body").first.inner_text()
    assert "Invalid file type: prices.csv" in toast and ".pdf" in toast
    _shot(page, "08-bad-uploads")
    assert "Indexed 1 document" in summary
    assert "Skipped broken.pdf: unreadable PDF" in summary
    assert "Skipped empty.txt" in summary
    docs = page.locator("#rag-docs").inner_text()
    assert "otter-port.txt" in docs and "broken.pdf" not in docs and "prices.csv" not in docs
    _ask(page, "How many parcels did the Otter Bay bonded port clear on its first day?", "9,100")


def test_nothing_added_is_said_plainly(page: Any, tmp_path: Path) -> None:
    summary = _upload(page, write(tmp_path / "blank.md", "\n\n"), expect="No documents were added")
    assert "Skipped blank.md" in summary


def test_remove_a_document(page: Any, tmp_path: Path) -> None:
    doc = write(tmp_path / "walrus-hub.txt", "The Walrus Point fulfilment hub employs 312 packers.\n")
    _upload(page, doc)
    question = "How many packers does the Walrus Point fulfilment hub employ?"
    _ask(page, question, "312")
    page.locator("#rag-remove-choice input").click()
    page.locator("[role=option][aria-label='walrus-hub.txt']").click()
    page.click("#rag-remove")
    page.wait_for_function(
        "document.querySelector('#rag-upload-status').innerText.includes('Removed walrus-hub.txt')"
    )
    assert "walrus-hub.txt" not in page.locator("#rag-docs").inner_text()
    assert "pilot-zones.md" in page.locator("#rag-docs").inner_text()
    _shot(page, "09-removed")
    _ask(page, question, "Not found")
    assert not list(tmp_path.parent.glob("**/uploads/walrus-hub.txt"))


def test_two_sessions_do_not_share_history(browser: Any, server: str) -> None:
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        p = context.new_page()
        p.goto(server)
        p.wait_for_selector("#rag-question textarea")
        pages.append(p)
    _ask(pages[0], "What AI tool did Alibaba release?", "Business Assistant")
    assert pages[1].locator("#rag-chat [data-testid='bot']").count() == 0
    for p in pages:
        p.context.close()


def test_gradio_client_api(server: str) -> None:
    from gradio_client import Client

    client = Client(server, verbose=False)
    answer = client.predict(
        "And how many cities did it expand to the next year?",
        ["When was the first comprehensive pilot zone set up?"],
        0,
        api_name="/ask",
    )
    assert answer["refused"] is False
    assert "12" in answer["citations"][0]["quote"] and answer["citations"][0]["n"] == 1


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The chat in llm mode, its LLM a local scripted OpenAI-compatible server."""
    from rag.assistant import Assistant, bundled_corpus_dir
    from rag.llm import LLMConfig
    from rag.settings import Settings
    from tests.llm_servers import ScriptedServer
    from ui.app import ChatApp, serve

    tmp = tmp_path_factory.mktemp("llm-chat")
    shutil.copytree(bundled_corpus_dir(), tmp / "corpus")
    Assistant.build([tmp / "corpus"], tmp / "index")
    with ScriptedServer("openai") as llm:
        settings = Settings(answer_mode="llm", llm=LLMConfig("openai", "scripted", llm.url, timeout=5))
        port = free_port()
        demo = serve(ChatApp(Assistant.load(tmp / "index", settings), tmp / "data"), port=port, block=False)
        yield f"http://127.0.0.1:{port}", llm
        demo.close()


def test_llm_answers_stream_then_show_checked_citations(browser: Any, llm_app: tuple[str, Any]) -> None:
    from tests.llm_servers import Script

    url, llm = llm_app
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    assert "every citation is checked" in page.locator("body").inner_text()

    llm.script(
        Script(
            template="China has 165 comprehensive pilot zones [{n:165}]. Ten of them are on the Moon [0].",
            piece_delay=0.4,
        )
    )
    page.fill("#rag-question textarea", "How many comprehensive pilot zones does China have?")
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(  # the model's words appear while they stream in
        """() => { const b = document.querySelectorAll("#rag-chat [data-testid='bot']");
                   return b.length && b[b.length - 1].innerText.includes("▌"); }""",
        timeout=30_000,
    )
    _shot(page, "10-llm-streaming")
    page.wait_for_function(  # then the checked answer replaces them
        """() => { const b = document.querySelectorAll("#rag-chat [data-testid='bot']");
                   return b.length && b[b.length - 1].innerText.includes("not supported by the documents"); }""",
        timeout=30_000,
    )
    page.wait_for_timeout(300)
    final = _last_bot(page)
    _shot(page, "11-llm-checked")
    assert "China has 165 comprehensive pilot zones. [1]" in final and "▌" not in final
    assert "Ten of them are on the Moon. ⚠️ (not supported by the documents)" in final
    assert "Moon [0]" not in final and "Moon. [0]" not in final
    assert "Dropped citation markers that name no passage: [0]." in final
    assert any("165" in t for t in page.locator("#rag-sources .rag-passage mark").all_inner_texts())

    llm.script(Script(status=500))  # the LLM fails: the extractive answer, with a one-line notice
    _ask(page, "What was China's cross-border e-commerce trade worth in 2024?", "extractive answer instead")
    failed = _last_bot(page)
    _shot(page, "12-llm-failed")
    assert "369 billion" in failed and "[1]" in failed
    assert "the LLM (openai model 'scripted' at http://127.0.0.1:" in failed, failed
    context.close()


def test_a_second_page_load_lists_documents_added_since_the_server_started(
    browser: Any, server: str, tmp_path: Path
) -> None:
    doc = write(tmp_path / "late" / "heron-depot.txt", "The Heron depot opened in May 2026.\n")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    first = context.new_page()
    first.goto(server)
    first.wait_for_selector("#rag-question textarea")
    _upload(first, doc)  # added by one page...
    second = context.new_page()
    second.goto(server)  # ...listed on the next page load
    second.wait_for_selector("#rag-question textarea")
    _open_documents(second)
    second.wait_for_function(
        "(document.querySelector('#rag-docs')?.innerText || '').includes('uploads/heron-depot.txt')",
        timeout=30_000,
    )
    listed = second.locator("#rag-docs").inner_text()
    assert "pilot-zones.md" in listed and str(tmp_path.parent) not in listed  # no server paths
    context.close()


def test_the_trash_icon_starts_a_new_conversation(page: Any) -> None:
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    assert page.locator("#rag-sources .rag-card").count() >= 1
    page.locator("#rag-chat button[aria-label='Clear']").first.click()
    page.wait_for_function("document.querySelectorAll(\"#rag-chat [data-testid='bot']\").length === 0")
    page.wait_for_function("document.querySelector('#rag-sources').innerText.includes('Sources appear here')")
    # no hidden history is left: an elliptical follow-up has nothing to lean on, so it is refused
    _ask(page, "In which year?", "could not find")


def test_sources_show_no_server_paths(page: Any, server: str) -> None:
    _ask(page, "What was China's cross-border e-commerce trade worth in 2024?", "[1]")
    panel = page.locator("#rag-sources").inner_text()
    assert ".md" in panel and "/tmp/" not in panel and "site-packages" not in panel


_CONTRAST = """(selector) => {
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
        for (; el; el = el.parentElement) {
            const c = getComputedStyle(el).backgroundColor;
            if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c;
        }
        return 'rgb(255, 255, 255)';
    };
    const el = document.querySelector(selector);
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(background(el)));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _themed(browser: Any, server: str, theme: str, width: int = 1280, height: int = 800) -> tuple[Any, Any]:
    """A new browser context whose OS setting and address both ask for `theme`, and its page."""
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=theme)
    page = context.new_page()
    page.goto(f"{server}/?__theme={theme}")
    page.wait_for_selector("#rag-question textarea")
    return context, page


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_sources_are_readable_in_both_themes(browser: Any, server: str, theme: str) -> None:
    context, page = _themed(browser, server, theme)
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
    _shot(page, f"10-sources-{theme}")
    for selector in (
        "#rag-sources .rag-passage",
        "#rag-sources .rag-file",
        "#rag-sources mark",
        "#rag-sources .rag-n",
    ):
        ratio = page.evaluate(_CONTRAST, selector)
        assert ratio >= 4.5, f"{selector} in {theme} mode: contrast {ratio:.2f}, WCAG AA asks 4.5"
    context.close()


def test_the_document_list_is_searchable(page: Any) -> None:
    _open_documents(page)
    docs = page.locator("#rag-docs")
    page.wait_for_function(
        "(document.querySelector('#rag-docs')?.innerText || '').includes('boao-forum-2025.md')"
    )
    page.locator("#rag-docs input[placeholder='Search...']").fill("pilot-zones")
    page.wait_for_function("!document.querySelector('#rag-docs').innerText.includes('boao-forum-2025.md')")
    assert "pilot-zones.md" in docs.inner_text()


def test_a_question_can_be_limited_to_chosen_documents(page: Any) -> None:
    page.locator("#rag-scope input").click()
    page.locator("[role=option][aria-label='about-the-sources.md']").click()
    page.keyboard.press("Escape")
    _ask(page, "How many comprehensive pilot zones for cross-border e-commerce does China have?", "")
    page.wait_for_function(
        """() => { const bots = document.querySelectorAll("#rag-chat [data-testid='bot']");
            const last = bots[bots.length - 1].innerText;
            return !last.includes('Searching the documents') && (last.includes('[1]') || last.includes('could not find')); }"""
    )
    assert "pilot-zones.md" not in page.locator("#rag-sources").inner_text()
    assert "165" not in _last_bot(page)


def test_thumbs_up_and_down_are_stored_for_later_evals(page: Any, server: str) -> None:
    question = "When was the first comprehensive pilot zone set up?"
    _ask(page, question, "2015")
    bot = page.locator("#rag-chat [data-testid='bot']").last
    bot.hover()
    page.locator("#rag-chat button[aria-label='Like']").last.click()
    page.locator("#rag-chat button[aria-label='Dislike']").last.click()
    feedback = SERVER_DATA[server] / "feedback.jsonl"
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and len(feedback.read_text().splitlines() if feedback.exists() else []) < 2
    ):
        time.sleep(0.1)
    rows = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert [r["liked"] for r in rows[-2:]] == [True, False]
    assert (
        rows[-1]["question"] == question and "2015." in rows[-1]["answer"] and "\\" not in rows[-1]["answer"]
    )


def test_copy_gives_the_text_as_shown_not_its_markdown(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    bot = page.locator("#rag-chat [data-testid='bot']").last
    bot.hover()
    page.locator("#rag-chat button[aria-label='Copy message']").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == _last_bot(page).strip()
    assert "2015." in copied and "[1]" in copied and "\\" not in copied and "**" not in copied
    context.close()


def test_the_theme_toggle_switches_and_is_remembered(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    assert not page.evaluate("document.body.classList.contains('dark')")
    page.click("#rag-theme")
    assert page.evaluate("document.body.classList.contains('dark')")
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    for selector in ("#rag-sources .rag-passage", "#rag-sources mark"):
        assert page.evaluate(_CONTRAST, selector) >= 4.5
    page.reload()
    page.wait_for_selector("#rag-question textarea")
    page.wait_for_timeout(300)
    assert page.evaluate("document.body.classList.contains('dark')")  # the choice is kept
    page.click("#rag-theme")
    assert not page.evaluate("document.body.classList.contains('dark')")
    context.close()


def test_every_answer_keeps_its_sources_and_its_markers_open_them(page: Any) -> None:
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    first = page.locator("#rag-sources .rag-passage mark").first.inner_text()
    _ask(page, "What did Zhou Rui propose at the Boao Forum?", "Zhou")
    assert first not in page.locator("#rag-sources").inner_text()
    page.locator("#rag-chat [data-testid='bot']").first.locator("strong", has_text="[1]").click()
    page.wait_for_function(
        "(quote) => document.querySelector('#rag-sources').innerText.includes(quote)",
        arg=first,
        timeout=10_000,
    )
    page.wait_for_selector("#rag-src-1.rag-flash", timeout=5_000)  # the cited card is brought into view
    page.locator("#rag-chat [data-testid='bot']").last.click()
    page.wait_for_function(
        "(quote) => !document.querySelector('#rag-sources').innerText.includes(quote)",
        arg=first,
        timeout=10_000,
    )


def test_the_conversation_exports_as_markdown_and_json_with_its_citations(page: Any) -> None:
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    _ask(page, "Who won the 2022 FIFA World Cup?", "Not found")
    page.wait_for_selector("#rag-export-json:not([disabled])", timeout=10_000)
    with page.expect_download() as got:
        page.click("#rag-export-json")
    turns = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))["turns"]
    assert [t["question"] for t in turns] == [
        "When was the first comprehensive pilot zone set up?",
        "Who won the 2022 FIFA World Cup?",
    ]
    assert turns[1]["refused"] and not turns[1]["citations"]
    cited = turns[0]["citations"][0]
    assert "2015" in cited["quote"] and cited["end"] - cited["start"] == len(cited["quote"])
    assert not Path(cited["source"]).is_absolute()  # no server paths
    with page.expect_download() as got:
        page.click("#rag-export-md")
    markdown = Path(got.value.path()).read_text(encoding="utf-8")
    assert "**Question:** When was the first comprehensive pilot zone set up?" in markdown
    assert f"[1] {cited['title']}" in markdown and "_Not found._" in markdown


def test_regenerate_replaces_the_last_answer_and_stop_ends_a_slow_one(
    browser: Any, llm_app: tuple[str, Any]
) -> None:
    from tests.llm_servers import Script

    url, llm = llm_app
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    llm.script(Script(template="China has 165 comprehensive pilot zones [{n:165}]."))
    _ask(page, "How many comprehensive pilot zones does China have?", "165 comprehensive")
    bots = page.locator("#rag-chat [data-testid='bot']")
    assert bots.count() == 1
    llm.script(Script(template="There are 165 such zones in China [{n:165}]."))
    bots.last.hover()
    page.locator("#rag-chat button[aria-label='Retry']").last.click()
    page.wait_for_function(
        """() => { const b = document.querySelectorAll("#rag-chat [data-testid='bot']");
                   return b.length === 1 && b[0].innerText.includes("There are 165 such zones"); }""",
        timeout=30_000,
    )
    assert page.locator("#rag-chat [data-testid='user']").count() == 1

    llm.script(Script(template="China has 165 comprehensive pilot zones [{n:165}]. " * 4, piece_delay=0.5))
    page.fill("#rag-question textarea", "How many comprehensive pilot zones does China have?")
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(
        """() => { const b = document.querySelectorAll("#rag-chat [data-testid='bot']");
                   return b.length === 2 && b[1].innerText.includes("▌"); }""",
        timeout=30_000,
    )
    page.click("#rag-stop")
    page.wait_for_function(
        """() => { const b = document.querySelectorAll("#rag-chat [data-testid='bot']");
                   return b[1].innerText.includes("(stopped)"); }""",
        timeout=10_000,
    )
    page.wait_for_timeout(4_000)  # the stream would have finished and been checked by now
    final = _last_bot(page)
    assert "(stopped)" in final and "▌" not in final and "pilot zones. [1]" not in final
    context.close()


def test_a_phone_sized_screen_shows_everything_without_sideways_scrolling(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector("#rag-question textarea")
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    boxes = page.evaluate(
        """() => Object.fromEntries(["#rag-chat", "#rag-ask", "#rag-sources .rag-card"].map((s) => {
              const r = document.querySelector(s).getBoundingClientRect();
              return [s, { left: r.left, right: r.right, top: r.top + scrollY, bottom: r.bottom + scrollY }];
           }))"""
    )
    for selector, box in boxes.items():
        assert box["left"] >= 0 and box["right"] <= 390, f"{selector} leaves the screen: {box}"
    assert boxes["#rag-sources .rag-card"]["top"] >= boxes["#rag-chat"]["bottom"]  # stacked under the chat
    _shot(page, "13-phone")
    context.close()


def test_conversations_survive_a_reload_and_past_ones_can_be_reopened(page: Any) -> None:
    _ask(page, "When was the first comprehensive pilot zone set up?", "2015")
    _ask(page, "And how many cities did it expand to the next year?", "12")
    page.wait_for_timeout(500)
    page.reload()
    page.wait_for_selector("#rag-question textarea")
    page.wait_for_function(  # the open conversation comes back, with the last answer's sources
        """() => document.querySelectorAll("#rag-chat [data-testid='bot']").length === 2
                 && document.querySelector('#rag-sources .rag-card') !== null""",
        timeout=10_000,
    )
    _ask(page, "Which cities were among them?", "Tianjin")  # its history still resolves follow-ups
    page.click("#rag-new")
    page.wait_for_function("() => !document.querySelector(\"#rag-chat [data-testid='bot']\")")
    _ask(page, "What was China's cross-border e-commerce trade worth in 2024?", "billion")
    page.wait_for_timeout(500)
    page.reload()
    page.wait_for_selector("#rag-question textarea")
    page.wait_for_function(
        "() => document.querySelectorAll(\"#rag-chat [data-testid='bot']\").length === 1", timeout=10_000
    )
    page.locator("#rag-past input").click()
    page.locator(
        "[role=option]", has_text="When was the first comprehensive pilot zone set up?"
    ).first.click()
    page.wait_for_function(
        "() => document.querySelectorAll(\"#rag-chat [data-testid='bot']\").length === 3", timeout=10_000
    )
    assert "Tianjin" in _last_bot(page)


def test_a_pdf_citation_names_its_page_and_opens_the_file_there(
    page: Any, server: str, tmp_path: Path
) -> None:
    from tests.docs import make_pdf

    pdf = make_pdf(
        tmp_path / "walrus-annual.pdf",
        ["Walrus Point annual report.", "", "Walrus Point employs 312 packers across two shifts."],
    )
    _upload(page, pdf)
    _ask(page, "How many packers does Walrus Point employ?", "312")
    card = page.locator("#rag-sources .rag-card").first
    assert "walrus-annual.pdf, page 3" in card.inner_text()
    link = card.locator("a.rag-open")
    assert link.inner_text() == "Open the file at page 3"
    href = str(link.get_attribute("href"))
    assert re.fullmatch(r"/rag/original/[0-9a-f]{24}#page=3", href)  # no server path in the address
    got = page.request.get(server + href.split("#")[0])
    assert got.status == 200 and got.body() == pdf.read_bytes()
    assert "application/pdf" in got.headers["content-type"] and "inline" in got.headers["content-disposition"]
    missing = page.request.get(server + "/rag/original/" + "0" * 24)
    assert missing.status == 404 and "no uploaded document" in missing.json()["error"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_screen_renders_in_both_themes(browser: Any, server: str, theme: str) -> None:
    context, page = _themed(browser, server, theme, 1400, 900)
    _ask(page, "What did Zhou Rui propose at the Boao Forum?", "Zhou")
    _shot(page, f"screen-chat-{theme}")
    page.locator("#rag-sources .rag-jump").first.click()  # opens the whole document at the quote
    page.wait_for_selector("#rag-src-1-quote", state="visible")
    assert page.url == f"{server}/?__theme={theme}"  # in place: the page was not left
    page.wait_for_timeout(300)
    _shot(page, f"screen-source-document-{theme}")
    _ask(page, "Who won the 2022 FIFA World Cup?", "Not found")
    _shot(page, f"screen-refusal-{theme}")
    page.get_by_text("Settings").first.click()
    _open_documents(page)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"screen-documents-{theme}.png"), full_page=True)
    assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
    context.close()


def test_a_second_file_of_the_same_name_is_kept_beside_the_first(page: Any, tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "history.md", "# Ferry history\n\nThe Otter ferry first sailed in 1931.\n")
    second = write(tmp_path / "b" / "history.md", "# Mill history\n\nThe Walrus mill closed in 1977.\n")
    _upload(page, first)
    page.set_input_files("#rag-upload input[type=file]", [str(second)])
    page.wait_for_function(
        "() => document.querySelector('#rag-docs').innerText.includes('history (2).md')", timeout=120_000
    )
    table = page.locator("#rag-docs").inner_text()
    assert "Ferry history" in table and "Mill history" in table  # both documents, neither replaced
    _ask(page, "When did the Otter ferry first sail?", "1931")
    _ask(page, "When did the Walrus mill close?", "1977")


def test_rag_serve_chat_asks_for_a_key_once_then_answers(browser: Any, tmp_path: Path) -> None:
    from tests.ui.serving import ADMIN, key_of, rag_serve

    with rag_serve(tmp_path / "home", "--api-key", ADMIN) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(url)
        assert page.url.endswith("/rag/login?next=%2F")
        page.fill("#key", "sk-wrong-key-0000")
        page.click("button[type=submit]")
        assert "not valid" in page.locator("[role=alert]").inner_text()
        page.fill("#key", key_of(ADMIN))
        page.click("button[type=submit]")
        page.wait_for_selector("#rag-question textarea")
        _ask(page, "When was the first pilot zone set up?", "[1]")
        assert "2015" in _last_bot(page)
        _shot(page, "serve-chat-signed-in")
        page.reload()  # the key is kept (HttpOnly cookie): no second sign-in
        page.wait_for_selector("#rag-question textarea")
        context.close()
