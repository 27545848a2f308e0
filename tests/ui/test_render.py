"""The text the browser shows: escaping, and what an upload reports."""

from __future__ import annotations

import pytest

from rag import Answer, BuildReport, Citation, DocumentInfo, Skipped
from ui import render

pytestmark = pytest.mark.unit


def _report(added: int, unchanged: int = 0, skipped: tuple[Skipped, ...] = ()) -> BuildReport:
    return BuildReport(
        index_dir="idx",
        files_read=added + unchanged + len(skipped),
        documents_added=tuple(f"d{i}" for i in range(added)),
        documents_unchanged=unchanged,
        documents_removed=(),
        skipped=skipped,
        chunks_added=3 * added,
        chunks_total=10,
        documents_total=4,
        seconds=1.25,
    )


def test_markdown_text_is_literal() -> None:
    assert render.as_markdown_text("<b>*x*</b>") == "&lt;b&gt;\\*x\\*&lt;/b&gt;"
    # no auto-link: it would show the escaping backslashes of the URL
    assert (
        render.as_markdown_text("at http://127.0.0.1:8000/v1") == "at http:&#47;&#47;127\\.0\\.0\\.1:8000/v1"
    )


def test_upload_summary_counts_and_reasons() -> None:
    text = render.upload_summary(_report(2, skipped=(Skipped("/up/bad_[1].pdf", "unreadable PDF"),)), [])
    assert text.splitlines() == [
        "Indexed 2 document(s), 6 chunks, in 1.2 s.",
        "- Skipped bad\\_\\[1\\]\\.pdf: unreadable PDF",
    ]


def test_upload_summary_says_when_nothing_went_in() -> None:
    text = render.upload_summary(
        _report(0, skipped=(Skipped("/up/empty.txt", "empty file"),)), ["x.exe: unsupported file type"]
    )
    assert text.startswith("**No documents were added.**")
    assert "Skipped empty\\.txt: empty file" in text and "Not added: x\\.exe: unsupported file type" in text
    assert render.upload_summary(None, ["a.csv: unsupported"]).startswith("**No documents were added.**")


def test_upload_summary_unchanged_file() -> None:
    assert render.upload_summary(_report(0, unchanged=1), []) == (
        "Already indexed and unchanged: 1 document(s)."
    )


def _doc(source: str, origin: str, title: str = "", n_chunks: int = 1) -> DocumentInfo:
    return DocumentInfo(source, source, origin, title, "hash", n_chunks, 10)


def test_documents_list_and_remove_choices_show_file_names_unless_they_repeat() -> None:
    docs = [
        _doc("/a/x.md", "/a/x.md", "X", 2),
        _doc("/b/y.md", "/b/y.md"),
        _doc("/c/y.md", "/c/y.md"),
        _doc("/d/c#1.jsonl#7", "/d/c#1.jsonl", "T"),
    ]
    assert render.document_choices(docs) == [
        ("x.md", "/a/x.md"),
        ("/b/y.md", "/b/y.md"),
        ("/c/y.md", "/c/y.md"),
        ("c#1.jsonl", "/d/c#1.jsonl#7"),
    ]
    assert render.documents_table(docs)[:2] == [["X", "/a/x.md", "2"], ["y.md", "/b/y.md", "1"]]


def test_a_citation_names_its_file() -> None:
    jsonl = Citation(1, "7", "/d/c#1.jsonl#7", "", "q", 0, 1, 0.5)
    plain = Citation(1, "/d/notes#2.md", "/d/notes#2.md", "", "q", 0, 1, 0.5)
    assert (jsonl.file_name, plain.file_name) == ("c#1.jsonl", "notes#2.md")


def test_a_refusal_names_what_no_passage_mentions() -> None:
    from rag import REFUSAL_TEXT

    answer = Answer("Zones in <2030>?", REFUSAL_TEXT, True, (), (), "Zones in <2030>?", 0.12, ("<2030>",))
    panel = render.sources_html(answer, {}, show_scores=False, show_uncited=False)
    assert "evidence score 0.12, below the refusal threshold" in panel
    assert "None of the documents found mention &lt;2030&gt;." in panel
    assert render.answer_message(answer).startswith("> **Not found.**")
    assert "mention" not in render.answer_message(answer)


def test_an_answer_says_which_names_no_document_mentions() -> None:
    quote = "The count of pilot zones reached 165 by early 2024."
    cite = Citation(1, "z.md", "z.md", "Zones", quote, 0, len(quote), 0.7)
    answer = Answer("Zones in 2030?", f"{quote} [1]", False, (cite,), (), "Zones in 2030?", 0.4, ("2030",))
    assert render.answer_message(answer).endswith(
        "> ℹ️ None of the documents found mention: 2030\\. Check that the answer fits the question\\."
    )
    assert "mention" not in render.answer_message(answer, sentences=0)  # not while it is being shown


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("report <2024>\x07.pdf", "report _2024_.pdf"),
        ("a" * 300 + ".docx", "a" * 115 + ".docx"),
        ("  ..  ", "upload"),
    ],
)
def test_upload_names_stay_in_the_folder_and_keep_their_extension(name: str, safe: str) -> None:
    from ui.app import MAX_NAME_CHARS, safe_name

    assert safe_name(name) == safe and len(safe_name(name)) <= MAX_NAME_CHARS


def test_the_passage_around_a_quote_starts_and_ends_at_a_word_and_scores_are_never_negative() -> None:
    text = ("alpha beta gamma delta " * 40) + "The quoted sentence is here." + (" epsilon zeta eta" * 40)
    start = text.index("The quoted")
    quote = Citation(1, "d", "/srv/data/d.txt", "", "The quoted sentence is here.", start, start + 28, -0.2)
    answer = Answer("q", "The quoted sentence is here. [1]", False, (quote,), (), "q", 0.9)
    panel = render.sources_html(
        answer, {"d": text}, show_scores=True, show_uncited=False, shown=lambda s: "d.txt"
    )
    passage = panel.split('<div class="rag-passage">')[1].split("</div>")[0]
    body = passage.removeprefix("… ").removesuffix(" …")
    assert body.split(" ")[0] in ("alpha", "beta", "gamma", "delta")
    assert body.split(" ")[-1] in ("epsilon", "zeta", "eta")
    assert "score 0.00" in panel and "/srv/data" not in panel and "d.txt" in panel


def test_plain_text_undoes_the_chat_markdown_escaping() -> None:
    text = "cross-border e-commerce, set up in 2015. See https://x.y/a_b (1) #tag <b>*</b>"
    assert render.plain_text(render.as_markdown_text(text)) == text
    assert render.plain_text(render.as_markdown_text("It was 165.") + " **\\[1\\]**") == "It was 165. [1]"


def test_a_refusal_never_shows_a_negative_evidence_score() -> None:
    from rag import REFUSAL_TEXT

    answer = Answer("Who won?", REFUSAL_TEXT, True, (), (), "Who won?", -0.29)
    assert "evidence score 0.00, below" in render.sources_html(answer, {}, True, False)
