"""The browser chat: a Gradio app where every answer shows its evidence.

    rag chat [--index-dir DIR] [--host 127.0.0.1] [--port 7860]

One `ChatApp` per process holds the model and the index; each browser session has its own history
(answers in `gr.State`). Uploaded files are copied under the app's data folder and indexed incrementally.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag import (
    SUPPORTED_SUFFIXES,
    Answer,
    Assistant,
    BuildReport,
    Citation,
    InputError,
    Passage,
    RagError,
    file_name,
)
from rag.assistant import bundled_corpus_dir
from rag.export import conversation_json, conversation_markdown
from ui import render

MAX_UPLOAD_MB = 50
MAX_NAME_CHARS = 120
EXAMPLES = [
    "How many comprehensive pilot zones for cross-border e-commerce does China have?",
    "When was the first pilot zone set up?",
    "What was China's cross-border e-commerce trade worth in 2024?",
    "What did Zhou Rui propose at the Boao Forum?",
]
CSS = """
:root { --rag-card-bg: #ffffff; --rag-card-fg: #111827; --rag-muted: #4b5563; --rag-border: #e5e7eb;
  --rag-uncited-bg: #f9fafb; --rag-n: #1d4ed8; }
.dark { --rag-card-bg: #1f2937; --rag-card-fg: #f3f4f6; --rag-muted: #cbd5e1; --rag-border: #374151;
  --rag-uncited-bg: #111827; --rag-n: #93c5fd; }
.rag-sources { font-size: 14px; line-height: 1.45; }
.rag-empty { color: var(--rag-muted); padding: 8px; }
.rag-card { border: 1px solid var(--rag-border); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;
  background: var(--rag-card-bg); color: var(--rag-card-fg); }
.rag-uncited { background: var(--rag-uncited-bg); }
.rag-n { color: var(--rag-n); font-weight: 700; }
.rag-score { color: var(--rag-muted); font-size: 12px; margin-left: 6px; }
.rag-file { color: var(--rag-muted); font-size: 12px; word-break: break-all; margin: 2px 0 6px; }
.rag-passage { white-space: pre-wrap; }
.rag-passage mark, .rag-doc-text mark { background: #fde68a; color: #111827; padding: 0 2px; }
.rag-doc-text { white-space: pre-wrap; max-height: 260px; overflow-y: auto; border-top: 1px solid var(--rag-border);
  margin-top: 6px; padding-top: 6px; }
.rag-jump { font-size: 12px; color: var(--rag-n); }
.rag-flash { outline: 3px solid var(--rag-n); }
#rag-chat [data-testid='bot'] strong { cursor: pointer; }
.rag-refused-note { color: #92400e; background: #fffbeb; border: 1px solid #fcd34d; border-radius: 6px; padding: 6px 8px; }
"""

# Runs in the page's <head>. (1) The chat's copy button copies the message as the user reads it,
# not its escaped Markdown (the inverse of `render.as_markdown_text`, as `render.plain_text` does).
# (2) The theme chosen with the "Light / dark" button is kept in the browser and applied on load;
# without a choice the OS setting (or ?__theme=) decides, as Gradio does.
SEARCHING = "_Searching the documents…_"  # the answer's place while it is being found
HEAD = r"""<script>
(() => {
  let lastClick = null;
  document.addEventListener("click", (e) => {
    lastClick = e.target;
    // "Show the quote in the whole document": open the document and scroll there, in place (a
    // plain #anchor would leave the page, and reload it, whenever its address has a query string)
    const jump = e.target.closest && e.target.closest("#rag-sources a.rag-jump[href^='#']");
    const quote = jump && document.getElementById(jump.getAttribute("href").slice(1));
    if (quote) {
      e.preventDefault();
      const doc = quote.closest("details");
      if (doc) doc.open = true;
      quote.scrollIntoView({ block: "center" });
    }
    // a click on an answer's [n] marker: after its sources are shown, card n is brought into view
    const mark = e.target.closest && e.target.closest("#rag-chat [data-testid='bot'] strong");
    const n = mark && /^\[(\d+)\]$/.exec(mark.textContent.trim());
    window.ragCited = n ? Number(n[1]) : null;
  }, true);
  const clip = navigator.clipboard;
  if (clip && clip.writeText) {
    const write = clip.writeText.bind(clip);
    const plain = (t) => {
      const box = document.createElement("textarea");
      box.innerHTML = t.replaceAll(":&#47;&#47;", "://").replaceAll("**", "")
        .replace(/\\([\\`*_{}\[\]()#+\-.!|>~])/g, "$1");
      return box.value;
    };
    clip.writeText = (t) =>
      write(lastClick && lastClick.closest && lastClick.closest("#rag-chat") ? plain(String(t)) : t);
  }
  const apply = () => {
    const chosen = localStorage.getItem("rag-theme");
    const dark = chosen === "dark";
    if (chosen && document.body.classList.contains("dark") !== dark) document.body.classList.toggle("dark", dark);
  };
  const start = () => {
    apply();  // and again whenever Gradio sets its own theme class
    new MutationObserver(apply).observe(document.body, { attributes: true, attributeFilter: ["class"] });
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
</script>"""
SHOW_CITED_JS = """() => {
  const card = document.getElementById("rag-src-" + (window.ragCited || 1));
  window.ragCited = null;
  if (!card) return;
  card.scrollIntoView({ block: "nearest" });
  card.classList.add("rag-flash");
  setTimeout(() => card.classList.remove("rag-flash"), 1200);
}"""
TOGGLE_THEME_JS = """() => {
  const dark = !document.body.classList.contains("dark");
  document.body.classList.toggle("dark", dark);
  localStorage.setItem("rag-theme", dark ? "dark" : "light");
}"""


class ChatApp:
    """The process-wide state behind the UI: one assistant, and the folder uploads are copied to."""

    def __init__(self, bot: Assistant, data_dir: Path, temp_dir: Path | None = None) -> None:
        """`temp_dir`: where the web server leaves its copies of uploaded files (Gradio's upload
        folder by default); they are deleted once indexed or refused."""
        self.bot = bot
        self.data_dir = data_dir
        self.upload_dir = data_dir / "uploads"
        self.temp_dir = temp_dir
        self._common: tuple[int, Path] | None = None
        self._exports: tempfile.TemporaryDirectory[str] | None = None

    def record_feedback(self, question: str, answer: str, liked: bool | str) -> Path:
        """Append a thumbs up/down to `feedback.jsonl` in the data folder (one JSON object a line:
        time, question, answer text, liked), for later eval sets; returns the file."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "feedback.jsonl"
        row = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "question": question,
            "answer": answer,
            "liked": liked,
        }
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path

    def holds_bundled_corpus(self) -> bool:
        """Whether the index holds the bundled e-commerce corpus (by its files' names)."""
        bundled = {p.name for p in bundled_corpus_dir().iterdir() if p.suffix == ".md"}
        return bundled <= {d.file_name for d in self.bot.documents()}

    def original(self, key: str) -> Path | None:
        """The uploaded file behind `original_url`'s `key`: only a file in the uploads folder."""
        for d in self.bot.documents():
            if _key(d.doc_id) == key and self._uploaded(d.origin):
                return Path(d.origin)
        return None

    def _uploaded(self, origin: str) -> bool:
        path = Path(origin).resolve()
        return path.parent == self.upload_dir.resolve() and path.is_file()

    def original_url(self, c: Citation) -> str | None:
        """Where the page opens the file a citation quotes (at its page, for a PDF): uploaded
        files only, by a key that says nothing of the server's paths."""
        doc = self.bot.document(c.doc_id)
        if doc is None or not self._uploaded(doc.origin):
            return None
        return f"{ORIGINALS}/{_key(c.doc_id)}" + (f"#page={c.page}" if c.page else "")

    def document_texts(self, answer: Answer) -> dict[str, str]:
        """The texts of the documents an answer cites or read (those still in the index)."""
        texts = {}
        for doc_id in {c.doc_id for c in answer.citations} | {p.doc_id for p in answer.passages}:
            try:
                texts[doc_id] = self.bot.document_text(doc_id)
            except InputError:  # removed since the answer was given
                continue
        return texts

    def add_files(self, paths: list[str], progress: bool = True) -> tuple[BuildReport | None, list[str]]:
        """Copy uploads under the data folder, then index them; returns the report and refusals.

        An upload never replaces another file: a different file with the same name is kept
        beside it as "name (2).ext". The web server's temporary copies are deleted afterwards.
        """
        refused: list[str] = []
        saved: list[Path] = []
        try:
            for raw in paths:
                src = Path(raw)
                name = safe_name(src.name)
                if src.suffix.lower() not in SUPPORTED_SUFFIXES:
                    refused.append(
                        f"{name}: unsupported file type; supported: {', '.join(SUPPORTED_SUFFIXES)}"
                    )
                    continue
                if src.stat().st_size > MAX_UPLOAD_MB * 1024 * 1024:
                    refused.append(f"{name}: larger than {MAX_UPLOAD_MB} MB")
                    continue
                self.upload_dir.mkdir(parents=True, exist_ok=True)
                dest = _free_name(self.upload_dir, name, src)
                if not dest.exists():
                    shutil.copyfile(src, dest)
                saved.append(dest)
            if not saved:
                return None, refused
            report = self.bot.add(saved, progress=progress)
            kept = {d.origin for d in self.bot.documents()}
            for s in report.skipped:  # a file that could not be indexed is not kept either
                if Path(s.path) in saved and s.path not in kept:
                    Path(s.path).unlink(missing_ok=True)
            return report, refused
        finally:
            self._drop_temporary(paths)

    def _drop_temporary(self, paths: list[str]) -> None:
        temp = (self.temp_dir or _gradio_upload_dir()).resolve()
        for raw in paths:
            path = Path(raw).resolve()
            if temp in path.parents:
                path.unlink(missing_ok=True)
                if path.parent != temp and not any(path.parent.iterdir()):
                    path.parent.rmdir()

    def shown(self, path: str) -> str:
        """How a document's path is shown outside the server: relative to the data folder for
        uploads, else relative to the folder all the other documents share (with the record id of a
        .jsonl collection); never a server path."""
        head, sep, record = path.rpartition("#")
        file, suffix = (head, sep + record) if sep and head.lower().endswith(".jsonl") else (path, "")
        for base in (self.data_dir, self._common_folder()):
            try:
                return str(Path(file).relative_to(base)) + suffix
            except ValueError:
                continue
        return file_name(path)

    def _common_folder(self) -> Path:
        """The deepest folder holding every indexed document not uploaded here (cached per version)."""
        generation = self.bot.info().generation
        if self._common is None or self._common[0] != generation:
            origins = [
                d.origin for d in self.bot.documents() if not Path(d.origin).is_relative_to(self.data_dir)
            ]
            try:
                common = Path(os.path.commonpath(origins)) if origins else self.data_dir
            except ValueError:  # on different drives: no folder holds them all
                common = self.data_dir
            self._common = (generation, common if common.is_dir() else common.parent)
        return self._common[1]

    def public(self, answer: Answer) -> dict[str, Any]:
        """The answer as JSON for API clients, with document paths as `shown` gives them."""
        return self._scrub(answer.to_dict())

    def public_passage(self, passage: Passage) -> dict[str, Any]:
        """A passage as JSON for API clients, with document paths as `shown` gives them."""
        return self._scrub(passage.to_dict())

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: self.shown(v)
                if k in ("doc_id", "source", "origin") and isinstance(v, str)
                else self._scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return value

    def remove(self, source: str) -> str:
        """Remove a document from the index (and its uploaded copy, if it was uploaded here);
        returns its file name."""
        docs = [d for d in self.bot.documents() if d.source == source]
        if not docs:
            raise InputError(f"'{source}' is not in the index; pick a document from the list")
        self.bot.remove([d.doc_id for d in docs])
        origin = Path(docs[0].origin)
        if origin.parent == self.upload_dir and origin.suffix.lower() != ".jsonl":
            origin.unlink(missing_ok=True)
        return docs[0].file_name

    def browser_secret(self) -> str:
        """The key the browser's saved conversations are encrypted with: made once and kept in the
        data folder (readable by its owner only), so they survive a server restart."""
        path = self.data_dir / "browser-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text(encoding="utf-8").strip()

    def export(self, answers: list[Answer], session: str) -> tuple[Path, Path]:
        """The conversation as Markdown and JSON files (`rag.export`), paths as `shown` gives them;
        one pair per browser session, rewritten after each answer, in a folder removed at exit."""
        if self._exports is None:
            self._exports = tempfile.TemporaryDirectory(prefix="rag-exports-")
        folder = Path(self._exports.name) / (re.sub(r"[^A-Za-z0-9]", "", session) or "session")
        folder.mkdir(exist_ok=True)
        md, js = folder / "conversation.md", folder / "conversation.json"
        md.write_text(conversation_markdown(answers, self.shown), encoding="utf-8")
        js.write_text(conversation_json(answers, self.shown), encoding="utf-8")
        return md, js


def safe_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: no path parts, no odd characters, at most
    MAX_NAME_CHARS long with its extension kept."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .") or "upload"
    path = Path(base)
    suffix = path.suffix if len(path.suffix) <= 16 else ""
    stem = base[: len(base) - len(suffix)] if suffix else base
    return stem[: MAX_NAME_CHARS - len(suffix)].rstrip(" .") + suffix


def _free_name(folder: Path, name: str, src: Path) -> Path:
    """`folder/name`, or when another file has that name, the same file's copy if there is one,
    else the first free "stem (n).ext"."""
    dest = folder / name
    n = 1
    while dest.exists():
        if filecmp.cmp(dest, src, shallow=False):
            return dest  # the same file again: indexing it is a no-op
        n += 1
        dest = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
    return dest


MAX_SAVED = 20  # conversations a browser keeps
ORIGINALS = "/rag/original"  # where uploaded files are served from (`ChatApp.original`)


def _key(doc_id: str) -> str:
    return hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:24]


def _saved_answer(answer: Answer) -> dict[str, Any]:
    """An answer as the browser keeps it: without its retrieved passages (the citations stay)."""
    return {**answer.to_dict(), "passages": []}


def _past_choices(kept: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (f"{c.get('title', '')} ({str(c.get('updated', ''))[:16].replace('T', ' ')})", str(c["id"]))
        for c in kept
        if isinstance(c, dict) and "id" in c
    ]


def _message_text(content: Any) -> str:
    """A chat message's markdown: a string, or (as Gradio sends it back) a list of text parts."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _gradio_upload_dir() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


# -- the Gradio interface ------------------------------------------------------------------------


def _collections_line(collection: str, others: Sequence[tuple[str, str]]) -> str:
    if not collection:
        return ""
    links = " · ".join(f"[{render.as_markdown_text(n)}]({url})" for n, url in others)
    return f"\n\nCollection: **{render.as_markdown_text(collection)}**" + (
        f" · other collections: {links}" if links else ""
    )


def _subtitle(app: ChatApp) -> str:
    llm = app.bot.settings.llm
    if app.bot.settings.answer_mode == "llm" and llm is not None:
        return (
            f"Answers are written by {render.as_markdown_text(llm.describe())} from your documents; "
            "every citation is checked, and sentences the documents do not support are flagged."
        )
    return "Every sentence of an answer is quoted from a document and cited."


def build_ui(app: ChatApp, collection: str = "", others: Sequence[tuple[str, str]] = ()) -> Any:
    """The chat on `app`; with `collection`, its name in the header, with links to the chats of
    `others` (name, address)."""
    import gradio as gr

    with gr.Blocks(title="Document chat", analytics_enabled=False, fill_height=True) as demo:
        session = gr.State([])  # this browser session's answers, for follow-ups
        last_answer = gr.State(None)
        answered = gr.State({})  # chat message index -> its Answer, so any answer can show its sources
        # this browser's conversations (the latest MAX_SAVED), kept in its storage; and which is open
        storage = "rag-conversations" + (f"-{collection}" if collection and collection != "default" else "")
        saved = gr.BrowserState([], storage_key=storage, secret=app.browser_secret())
        open_id = gr.State("")
        gr.Markdown("## Ask your documents\n" + _subtitle(app) + _collections_line(collection, others))
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    show_label=False,  # a floating label would cover messages as the chat scrolls
                    height=460,
                    elem_id="rag-chat",
                    sanitize_html=True,
                    group_consecutive_messages=False,
                    latex_delimiters=[],  # quotes stay verbatim: "$$" in a document is text, not math
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the documents and press Enter",
                        show_label=False,
                        scale=5,
                        elem_id="rag-question",
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
                    stop = gr.Button("Stop", variant="stop", scale=1, elem_id="rag-stop")
                scope = gr.Dropdown(
                    choices=render.document_choices(app.bot.documents(), app.shown),
                    value=[],
                    multiselect=True,
                    label="Search only in (empty: all documents)",
                    elem_id="rag-scope",
                )
                with gr.Row():
                    new_chat = gr.Button("New conversation", size="sm", elem_id="rag-new")
                    theme = gr.Button("Light / dark", size="sm", elem_id="rag-theme")
                    export_md = gr.DownloadButton(
                        "Export Markdown", size="sm", interactive=False, elem_id="rag-export-md"
                    )
                    export_json = gr.DownloadButton(
                        "Export JSON", size="sm", interactive=False, elem_id="rag-export-json"
                    )
                    theme.click(None, js=TOGGLE_THEME_JS)
                past = gr.Dropdown(
                    choices=[],
                    value=None,
                    label="Past conversations (kept in this browser)",
                    elem_id="rag-past",
                )
                if (
                    app.holds_bundled_corpus()
                ):  # the examples ask about it; on other documents they would mislead
                    gr.Examples(EXAMPLES, inputs=question, label="Examples (bundled corpus)")
            with gr.Column(scale=2):
                sources = gr.HTML(render.sources_html(None, {}, True, False), elem_id="rag-sources")
        with gr.Accordion("Settings", open=False):
            top_k = gr.Slider(1, 20, value=app.bot.settings.top_k, step=1, label="Passages retrieved")
            show_scores = gr.Checkbox(value=True, label="Show retrieval scores")
            show_uncited = gr.Checkbox(value=False, label="Show passages retrieved but not cited")
        with gr.Accordion("Documents", open=False, elem_id="rag-documents"):
            upload = gr.File(
                label=f"Add documents ({' '.join(SUPPORTED_SUFFIXES)}; up to {MAX_UPLOAD_MB} MB each)",
                file_count="multiple",
                file_types=list(SUPPORTED_SUFFIXES),
                elem_id="rag-upload",
            )
            upload_status = gr.Markdown(elem_id="rag-upload-status")
            docs_table = gr.Dataframe(
                headers=["Title", "File", "Chunks"],
                value=render.documents_table(app.bot.documents(), app.shown),
                interactive=False,
                show_search="search",  # a long list is found by typing part of a title or file name
                elem_id="rag-docs",
            )
            with gr.Row():
                to_remove = gr.Dropdown(
                    choices=render.document_choices(app.bot.documents(), app.shown),
                    value=None,
                    label="Document to remove",
                    scale=4,
                    elem_id="rag-remove-choice",
                )
                remove_btn = gr.Button("Remove", variant="stop", scale=1, elem_id="rag-remove")

        def respond(
            text: str,
            history: list[dict[str, str]],
            sess: list[Answer],
            k: float,
            scores: bool,
            uncited: bool,
            only: list[str] | None,
            by_message: dict[int, Answer] | None,
        ) -> Iterator[tuple[Any, ...]]:
            history = list(history or [])
            if not text or not text.strip():
                yield history, "", sess, gr.skip(), gr.skip(), gr.skip()
                return
            history.append({"role": "user", "content": render.question_message(text)})
            history.append({"role": "assistant", "content": SEARCHING})
            yield history, "", sess, gr.skip(), gr.skip(), gr.skip()
            answer: Answer | None = None
            partial = ""
            try:
                within = [d.doc_id for d in app.bot.documents() if d.source in set(only)] if only else None
                for item in app.bot.chat(sess).stream(text, k=int(k), within=within):
                    if isinstance(item, Answer):
                        answer = item
                    else:  # an LLM's words as they arrive; the checked answer replaces them
                        partial += item
                        history[-1] = {"role": "assistant", "content": render.partial_message(partial)}
                        yield history, "", sess, gr.skip(), gr.skip(), gr.skip()
            except RagError as exc:
                history[-1] = {
                    "role": "assistant",
                    "content": "> **Error.** " + render.as_markdown_text(str(exc)),
                }
                yield history, "", sess, gr.skip(), gr.skip(), gr.skip()
                return
            assert answer is not None
            shown_answers = {**(by_message or {}), len(history) - 1: answer}
            html_sources = render.sources_html(
                answer, app.document_texts(answer), scores, uncited, app.shown, app.original_url
            )
            steps = 1 if answer.refused or answer.mode == "llm" else len(answer.citations)
            for i in range(1, steps + 1):  # stream sentence by sentence as the answer is laid out
                history[-1] = {"role": "assistant", "content": render.answer_message(answer, i)}
                yield (
                    history,
                    "",
                    sess,
                    (answer if i == steps else gr.skip()),
                    (html_sources if i == steps else gr.skip()),
                    (shown_answers if i == steps else gr.skip()),
                )

        def rerender(answer: Answer | None, scores: bool, uncited: bool) -> str:
            texts = app.document_texts(answer) if answer else {}
            return render.sources_html(answer, texts, scores, uncited, app.shown, app.original_url)

        def reset() -> tuple[Any, ...]:
            return [], [], None, render.sources_html(None, {}, True, False), "", {}, "", None

        def save(
            by_message: dict[int, Answer] | None,
            conversation: str,
            kept: list[dict[str, Any]] | None,
        ) -> tuple[Any, ...]:
            """Keep the open conversation in the browser (newest first); returns the saved list,
            the conversation's id and the menu of past conversations."""
            if not by_message:
                return gr.skip(), gr.skip(), gr.skip()
            conversation = conversation or uuid.uuid4().hex
            first = by_message[min(by_message)].question
            record = {
                "id": conversation,
                "title": first if len(first) <= 60 else first[:59] + "…",
                "updated": datetime.now(UTC).isoformat(timespec="seconds"),
                "answers": [_saved_answer(by_message[i]) for i in sorted(by_message)],
            }
            others = [c for c in kept or [] if isinstance(c, dict) and c.get("id") != conversation]
            kept = [record, *others][:MAX_SAVED]
            return kept, conversation, gr.update(choices=_past_choices(kept), value=conversation)

        def restore(conversation: str | None, kept: list[dict[str, Any]] | None) -> tuple[Any, ...]:
            """Open a saved conversation: its answers (for follow-ups and sources) and their messages."""
            record = next(
                (c for c in kept or [] if isinstance(c, dict) and c.get("id") == conversation), None
            )
            try:
                answers = [Answer.from_dict(a) for a in record["answers"]] if record else []
            except (KeyError, TypeError, ValueError):  # saved by another version: not worth an error
                answers = []
            if record is None or not answers:
                return (gr.skip(),) * 7 + (gr.update(choices=_past_choices(kept or [])),)
            history = []
            for a in answers:  # the messages as they were shown
                history.append({"role": "user", "content": render.question_message(a.question)})
                history.append({"role": "assistant", "content": render.answer_message(a)})
            latest = answers[-1]
            return (
                history,
                answers,
                {2 * i + 1: a for i, a in enumerate(answers)},
                record["id"],
                latest,
                render.sources_html(
                    latest, app.document_texts(latest), True, False, app.shown, app.original_url
                ),
                "",
                gr.update(choices=_past_choices(kept or []), value=record["id"]),
            )

        def reopen(kept: list[dict[str, Any]] | None) -> tuple[Any, ...]:
            """On page load: the conversation this browser had open last."""
            latest = next((c.get("id") for c in kept or [] if isinstance(c, dict)), None)
            return restore(latest, kept)

        def pick(
            by_message: dict[int, Answer], scores: bool, uncited: bool, selected: gr.SelectData
        ) -> tuple[Any, ...]:
            """A click on an answer (or one of its [n]) shows that answer's sources."""
            index = selected.index if isinstance(selected.index, int) else selected.index[0]
            answer = (by_message or {}).get(index)
            if answer is None:
                return gr.skip(), gr.skip()
            return answer, rerender(answer, scores, uncited)

        pick.__annotations__["selected"] = gr.SelectData  # resolved here, as for `feedback` below

        def exports(sess: list[Answer], request: gr.Request) -> tuple[Any, ...]:
            if not sess:
                return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
            md, js = app.export(sess, request.session_hash or "session")
            return gr.update(value=str(md), interactive=True), gr.update(value=str(js), interactive=True)

        exports.__annotations__["request"] = gr.Request

        def regenerate(
            history: list[dict[str, Any]],
            sess: list[Answer],
            k: float,
            scores: bool,
            uncited: bool,
            only: list[str] | None,
            by_message: dict[int, Answer] | None,
            retried: gr.RetryData,
        ) -> Iterator[tuple[Any, ...]]:
            """Ask the last question again (a new LLM answer in llm mode), in place of its answer."""
            index = retried.index if isinstance(retried.index, int) else retried.index[0]
            old = (by_message or {}).get(index + 1)
            text = old.question if old else render.plain_text(_message_text(history[index]["content"]))
            earlier = list(sess[:-1]) if old is not None and sess and sess[-1] == old else list(sess)
            kept = {i: a for i, a in (by_message or {}).items() if i < index}
            for out in respond(text, history[:index], earlier, k, scores, uncited, only, kept):
                yield (out[0], gr.skip(), *out[2:])  # what the user is typing meanwhile stays

        regenerate.__annotations__["retried"] = gr.RetryData

        def add(files: list[Any] | None, progress: Any = gr.Progress(track_tqdm=True)) -> tuple[Any, ...]:  # noqa: B008
            paths = [f if isinstance(f, str) else f.name for f in files or []]
            if not paths:
                return gr.skip(), gr.skip(), gr.skip(), None
            try:
                report, refused = app.add_files(paths)
            except RagError as exc:
                message = "**Could not add the files.** " + render.as_markdown_text(str(exc))
                return message, gr.skip(), gr.skip(), None
            docs = app.bot.documents()
            return (
                render.upload_summary(report, refused),
                render.documents_table(docs, app.shown),
                gr.update(choices=render.document_choices(docs, app.shown), value=None),
                None,
            )

        def remove(source: str | None) -> tuple[Any, ...]:
            if not source:
                return "Pick a document to remove.", gr.skip(), gr.skip()
            try:
                name = app.remove(source)
            except RagError as exc:
                return render.as_markdown_text(str(exc)), gr.skip(), gr.skip()
            docs = app.bot.documents()
            return (
                f"Removed {render.as_markdown_text(name)}.",
                render.documents_table(docs, app.shown),
                gr.update(choices=render.document_choices(docs, app.shown), value=None),
            )

        def api_ask(question: str, history: list[str] | None = None, k: int = 0) -> dict[str, Any]:
            """Answer `question` (after the earlier questions in `history`, of which the last
            `max_history` count); returns the answer as JSON, document paths relative to the data folder."""
            try:
                if k < 0:
                    raise InputError(f"k must be greater than 0 (or 0 for the default). Currently, k is {k}")
                chat = app.bot.chat()
                for earlier in (history or [])[-app.bot.settings.max_history :]:
                    chat.ask(earlier, k=k or None)
                return app.public(chat.ask(question, k=k or None))
            except RagError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

        outputs = [chatbot, question, session, last_answer, sources, answered]
        inputs = [question, chatbot, session, top_k, show_scores, show_uncited, scope, answered]
        asked = [
            question.submit(respond, inputs, outputs, api_visibility="private"),
            send.click(respond, inputs, outputs, api_visibility="private"),
            chatbot.retry(regenerate, inputs[1:], outputs, api_visibility="private"),
        ]

        def stopped(history: list[dict[str, Any]]) -> Any:
            """The unfinished answer, marked as stopped (it was never checked, so it cites nothing)."""
            last = history[-1] if history else None
            if not last or last.get("role") != "assistant":
                return gr.skip()
            text = _message_text(last["content"])
            if not (text.endswith(" ▌") or text == SEARCHING):
                return gr.skip()
            kept = "" if text == SEARCHING else text[: -len(" ▌")] + " "
            return [*history[:-1], {"role": "assistant", "content": kept + "_(stopped)_"}]

        stop.click(stopped, chatbot, chatbot, cancels=asked, api_visibility="private")  # type: ignore[arg-type]
        cleared = [chatbot, session, last_answer, sources, question, answered, open_id, past]
        new_chat.click(reset, None, cleared, api_visibility="private")
        session.change(exports, session, [export_md, export_json], api_visibility="private")
        # `answered` changes once per answer, when it is complete
        answered.change(save, [answered, open_id, saved], [saved, open_id, past], api_visibility="private")
        opened = [chatbot, session, answered, open_id, last_answer, sources, question, past]
        past.input(restore, [past, saved], opened, api_visibility="private")
        demo.load(reopen, saved, opened, api_visibility="private", show_progress="hidden")
        chatbot.select(
            pick, [answered, show_scores, show_uncited], [last_answer, sources], api_visibility="private"
        ).then(None, js=SHOW_CITED_JS)

        def feedback(history: list[dict[str, Any]], like: gr.LikeData) -> None:
            index = like.index if isinstance(like.index, int) else like.index[0]
            asked = [m for m in history[:index] if m.get("role") == "user"]
            question = render.plain_text(_message_text(asked[-1]["content"])) if asked else ""
            app.record_feedback(
                question, render.plain_text(_message_text(history[index]["content"])), like.liked
            )

        feedback.__annotations__["like"] = gr.LikeData  # resolved here: gradio is imported in this function
        chatbot.like(feedback, chatbot, None, api_visibility="private")
        # the chat's own trash icon starts a new conversation too: follow-ups and sources go with it
        chatbot.clear(reset, None, cleared, api_visibility="private")

        def refresh_documents() -> tuple[Any, ...]:
            docs = app.bot.documents()
            choices = render.document_choices(docs, app.shown)
            return (
                render.documents_table(docs, app.shown),
                gr.update(choices=choices),
                gr.update(choices=choices),
            )

        # every page load lists the documents as they are now (uploads since start, `rag index` runs)
        demo.load(refresh_documents, None, [docs_table, to_remove, scope], api_visibility="private")
        show_scores.change(
            rerender, [last_answer, show_scores, show_uncited], sources, api_visibility="private"
        )
        show_uncited.change(
            rerender, [last_answer, show_scores, show_uncited], sources, api_visibility="private"
        )
        refreshed = [docs_table, to_remove, scope]
        upload.upload(
            add,
            upload,
            [upload_status, docs_table, to_remove, upload],
            show_progress_on=docs_table,
            api_visibility="private",
        ).then(refresh_documents, None, refreshed, api_visibility="private")
        remove_btn.click(
            remove,
            to_remove,
            [upload_status, docs_table, to_remove],
            show_progress_on=upload_status,
            api_visibility="private",
        ).then(refresh_documents, None, refreshed, api_visibility="private")
        gr.api(api_ask, api_name="ask")
    return demo


def serve(app: ChatApp, host: str = "127.0.0.1", port: int | None = None, block: bool = True) -> Any:
    """Start the server (never opens a browser); returns the Blocks when `block` is False."""
    import gradio as gr
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.routing import APIRoute

    def original(key: str) -> Any:
        path = app.original(key)
        if path is None:
            return JSONResponse(
                {"error": "no uploaded document has that key; open it from a citation in the chat"}, 404
            )
        return FileResponse(path, filename=path.name, content_disposition_type="inline")

    demo = build_ui(app)
    demo.queue(default_concurrency_limit=4)
    demo.launch(
        app_kwargs={"routes": [APIRoute(ORIGINALS + "/{key}", original, methods=["GET"])]},
        server_name=host,
        server_port=port,
        inbrowser=False,
        share=False,
        prevent_thread_lock=not block,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        theme=gr.themes.Soft(),
        css=CSS,
        head=HEAD,
        footer_links=["api"],
        quiet=True,
    )
    return demo
