"""HTML and chat text for the browser. Every piece of document text, file name and question is escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from rag import Answer, BuildReport, Citation, DocumentInfo, Passage
from rag.cite import one_line

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")
_CONTEXT_CHARS = 600  # passage context shown around a quote


def as_markdown_text(text: str) -> str:
    """`text` shown literally by a markdown renderer: no HTML, no markdown formatting.

    "://" becomes an HTML entity for its slashes, so that no URL is auto-linked (an auto-link would
    show the escaping backslashes inside it).
    """
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))
    return escaped.replace("://", ":&#47;&#47;")


def plain_text(message: str) -> str:
    """The text a chat message shows, from its markdown (`as_markdown_text` undone, bold marks dropped)."""
    text = message.replace(":&#47;&#47;", "://").replace("**", "")
    return html.unescape(re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~])", r"\1", text))


def question_message(question: str) -> str:
    return as_markdown_text(question)


def answer_message(answer: Answer, sentences: int | None = None) -> str:
    """The chat bubble for an answer; `sentences` limits it while it is being streamed.

    A generated (llm mode) answer shows each sentence with its checked citations, and flags the
    sentences no cited passage supports. A notice (e.g. why the LLM's answer was replaced) follows.
    """
    if answer.refused:
        text = "> **Not found.** " + as_markdown_text(answer.text)
    elif answer.mode == "llm":
        parts = []
        for s in answer.sentences:
            marks = "".join(f" **\\[{n}\\]**" for n in s.sources)
            flag = "" if s.supported else " ⚠️ _(not supported by the documents)_"
            parts.append(as_markdown_text(one_line(s.text)) + marks + flag)
        text = " ".join(parts)
    else:
        cites = answer.citations if sentences is None else answer.citations[:sentences]
        text = " ".join(f"{as_markdown_text(one_line(c.quote))} **\\[{c.n}\\]**" for c in cites)
    if sentences is None or sentences >= len(answer.citations):
        if answer.notice:
            text += "\n\n> ℹ️ " + as_markdown_text(answer.notice)
        if answer.unmatched_terms and not answer.refused:  # a refusal says it in the sources panel
            text += "\n\n> ℹ️ " + as_markdown_text(answer.unmatched_note)
    return text


def partial_message(text: str) -> str:
    """The LLM's text while it streams in, before it is checked."""
    return as_markdown_text(one_line(text)) + " ▌"


def sources_html(
    answer: Answer | None,
    document_text: dict[str, str],
    show_scores: bool,
    show_uncited: bool,
    shown: Callable[[str], str] = str,
    opener: Callable[[Citation], str | None] = lambda c: None,
) -> str:
    """The sources panel: each cited source, its passage with the quote highlighted, the whole
    document. `shown` turns a document's source into what the page may show (no server paths);
    `opener` gives the address that opens a cited file (at its page), where there is one."""
    if answer is None:
        return '<div class="rag-sources rag-empty">Sources appear here. Click an answer, or its [n], to see its sources again.</div>'
    parts = ['<div class="rag-sources">']
    if answer.refused:
        missing = (
            f" None of the documents found mention {html.escape(', '.join(answer.unmatched_terms))}."
            if answer.unmatched_terms
            else ""
        )
        parts.append(
            '<p class="rag-refused-note">No passage supports an answer '
            f"(evidence score {_score(answer.confidence)}, below the refusal threshold).{missing}</p>"
        )
    seen: set[int] = set()
    for c in answer.citations:
        if c.n in seen:
            continue
        seen.add(c.n)
        quotes = [q for q in answer.citations if q.n == c.n]
        parts.append(_source_card(c, quotes, document_text.get(c.doc_id, ""), show_scores, shown, opener(c)))
    if show_uncited or answer.refused:
        cited = {c.doc_id for c in answer.citations}
        others = [p for p in answer.passages if p.doc_id not in cited]
        if others:
            parts.append('<h4 class="rag-uncited-title">Retrieved but not cited</h4>')
            parts += [_passage_card(p, show_scores, shown) for p in others]
    parts.append("</div>")
    return "\n".join(parts)


def _source_card(
    c: Citation,
    quotes: list[Citation],
    text: str,
    show_scores: bool,
    shown: Callable[[str], str],
    url: str | None = None,
) -> str:
    title = html.escape(c.title or c.file_name)
    score = f' <span class="rag-score">score {_score(c.score)}</span>' if show_scores else ""
    first, last = min(q.start for q in quotes), max(q.end for q in quotes)
    lo = max(first - _CONTEXT_CHARS // 2, 0)
    hi = min(last + _CONTEXT_CHARS // 2, len(text))
    if lo > 0:  # the context starts and ends at a word boundary, never mid-word
        cut = re.search(r"\s", text[lo:first])
        lo = lo + cut.end() if cut else first
    if hi < len(text):
        cut = re.search(r"\s\S*$", text[last:hi])
        hi = last + cut.start() if cut else last
    passage = _highlight(text, quotes, lo, hi, anchor=None)
    full = _highlight(text, quotes, 0, len(text), anchor=f"rag-src-{c.n}-quote")
    where = f" at page {c.page}" if c.page else ""
    opens = (
        f' · <a class="rag-jump rag-open" href="{html.escape(url)}" target="_blank" rel="noopener">'
        f"Open the file{where}</a>"
        if url
        else ""
    )
    return (
        f'<div class="rag-card" id="rag-src-{c.n}">'
        f'<div class="rag-card-head"><span class="rag-n">[{c.n}]</span> <b>{title}</b>{score}</div>'
        f'<div class="rag-file">{html.escape(shown(c.source))}{f", page {c.page}" if c.page else ""}</div>'
        f'<div class="rag-passage">{"… " if lo else ""}{passage}{" …" if hi < len(text) else ""}</div>'
        f'<details class="rag-doc"><summary>Whole document</summary>'
        f'<div class="rag-doc-text">{full}</div></details>'
        f'<a class="rag-jump" href="#rag-src-{c.n}-quote">Show the quote in the whole document</a>{opens}'
        "</div>"
    )


def _passage_card(p: Passage, show_scores: bool, shown: Callable[[str], str]) -> str:
    title = html.escape(p.title or p.file_name)
    score = f' <span class="rag-score">score {_score(p.score)}</span>' if show_scores else ""
    return (
        f'<div class="rag-card rag-uncited"><div class="rag-card-head"><b>{title}</b>{score}</div>'
        f'<div class="rag-file">{html.escape(shown(p.source))}</div>'
        f'<div class="rag-passage">{html.escape(p.text)}</div></div>'
    )


def _highlight(text: str, quotes: list[Citation], lo: int, hi: int, anchor: str | None) -> str:
    out: list[str] = []
    pos = lo
    for i, q in enumerate(sorted(quotes, key=lambda q: q.start)):
        if q.start < pos or q.end > hi:
            continue
        out.append(html.escape(text[pos : q.start]))
        ident = f' id="{anchor}"' if anchor and i == 0 else ""
        out.append(f"<mark{ident}>{html.escape(text[q.start : q.end])}</mark>")
        pos = q.end
    out.append(html.escape(text[pos:hi]))
    return "".join(out)


def _score(score: float) -> str:
    """A retrieval score as shown: cosine similarity below 0 means "unrelated", shown as 0.00."""
    return f"{max(score, 0.0):.2f}"


def documents_table(documents: list[DocumentInfo], shown: Callable[[str], str] = str) -> list[list[str]]:
    """Rows for the documents list: title, file (as `shown` gives it), chunks."""
    return [[d.title or d.file_name, shown(d.source), str(d.n_chunks)] for d in documents]


def document_choices(
    documents: list[DocumentInfo], shown: Callable[[str], str] = str
) -> list[tuple[str, str]]:
    """(label, source) pairs for document menus: the file name, or the source (as `shown` gives
    it) when names repeat."""
    names = [d.file_name for d in documents]
    return [
        (name if names.count(name) == 1 else shown(d.source), d.source)
        for name, d in zip(names, documents, strict=True)
    ]


def upload_summary(report: BuildReport | None, refused: list[str]) -> str:
    """What an upload did, as markdown: documents indexed, unchanged, skipped (with why), refused."""
    lines: list[str] = []
    if report is not None:
        if report.documents_added:
            lines.append(
                f"Indexed {len(report.documents_added)} document(s), {report.chunks_added} chunks, "
                f"in {report.seconds:.1f} s."
            )
        if report.documents_unchanged:
            lines.append(f"Already indexed and unchanged: {report.documents_unchanged} document(s).")
        lines += [
            f"- Skipped {as_markdown_text(Path(s.path).name)}: {as_markdown_text(s.reason)}"
            for s in report.skipped
        ]
    lines += [f"- Not added: {as_markdown_text(r)}" for r in refused]
    if report is None or not (report.documents_added or report.documents_unchanged):
        lines.insert(0, "**No documents were added.**")
    return "\n".join(lines)
