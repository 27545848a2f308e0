"""The `rag` command: index documents, ask questions, inspect an index.

Environment variables are read here, at the entry point, and nowhere else:
RAG_INDEX_DIR (default index folder), RAG_CACHE_DIR (where the bundled index is built),
RAG_MODEL (embedding model name or path), RAG_RERANKER (CrossEncoder for `rag ask`),
RAG_ANSWER_MODE (extractive or llm), RAG_LLM_BACKEND / RAG_LLM_MODEL / RAG_LLM_URL /
RAG_LLM_API_KEY / RAG_LLM_TIMEOUT (the LLM for llm mode), RAG_DEBUG=1 (show tracebacks).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from evals import cli as eval_cli
from index.errors import RagError
from index.settings import IndexSettings
from rag.assistant import Assistant
from rag.llm import config_from_env
from rag.settings import Settings
from rag.types import Answer


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input or index, 130 interrupted)."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.command_line = "rag " + shlex.join(argv if argv is not None else sys.argv[1:])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code: int = args.func(args)
        return code
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index on disk is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, no traceback
        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about your documents; every answer cites its sources."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update an index from files and folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (searched recursively)")
    p.add_argument(
        "--index-dir", default=os.environ.get("RAG_INDEX_DIR"), required="RAG_INDEX_DIR" not in os.environ
    )
    p.add_argument("--rebuild", action="store_true", help="start from an empty index")
    p.add_argument(
        "--model", default=os.environ.get("RAG_MODEL"), help="sentence-transformers model name or path"
    )
    p.add_argument("--chunk-size", type=int, default=None, help="tokens per chunk")
    p.add_argument("--chunk-overlap", type=int, default=None, help="tokens shared by neighbouring chunks")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_index)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument(
        "--index-dir", default=os.environ.get("RAG_INDEX_DIR"), help="default: the bundled e-commerce corpus"
    )
    p.add_argument("-k", "--top-k", type=int, default=None, help="passages to read (default 6)")
    p.add_argument(
        "--retriever", choices=("hybrid", "dense", "bm25"), help="how passages are found (default: hybrid)"
    )
    p.add_argument(
        "--reranker",
        default=os.environ.get("RAG_RERANKER"),
        help="CrossEncoder folder or name that re-orders the passages (default: none)",
    )
    _mode_argument(p)
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=_ask)

    p = sub.add_parser("chat", help="serve the browser chat (Gradio) on this machine")
    p.add_argument(
        "--index-dir", default=os.environ.get("RAG_INDEX_DIR"), help="default: the bundled e-commerce corpus"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("RAG_PORT", "7860")))
    p.add_argument(
        "--data-dir",
        default=os.environ.get("RAG_DATA_DIR"),
        help="where uploaded files are kept (default: beside the index, in <index-dir>.data)",
    )
    _mode_argument(p)
    p.set_defaults(func=_chat)

    p = eval_cli.add_parser(sub)
    _mode_argument(p)
    p.set_defaults(llm=lambda: config_from_env(os.environ))

    p = sub.add_parser("info", help="describe an index: model, chunking, documents")
    p.add_argument("--index-dir", default=os.environ.get("RAG_INDEX_DIR"))
    p.set_defaults(func=_info)
    return parser


def _mode_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mode",
        choices=("extractive", "llm"),
        default=os.environ.get("RAG_ANSWER_MODE") or "extractive",
        help="extractive (quotes, no LLM; default) or llm (your LLM server, see RAG_LLM_*)",
    )


def _answer_settings(bot: Assistant, mode: str) -> Assistant:
    """`bot` in the chosen answer mode, with the LLM the environment names."""
    if mode == "extractive":
        return bot
    return bot.with_settings(answer_mode=mode, llm=config_from_env(os.environ))


def _index(args: argparse.Namespace) -> int:
    defaults = IndexSettings()
    index_settings = IndexSettings(
        model=args.model or defaults.model,
        chunk_size=args.chunk_size or defaults.chunk_size,
        chunk_overlap=defaults.chunk_overlap if args.chunk_overlap is None else args.chunk_overlap,
    )
    bot = Assistant.build(
        args.paths,
        args.index_dir,
        Settings(index=index_settings),
        rebuild=args.rebuild,
        progress=not args.quiet,
    )
    assert bot.report is not None
    print(bot.report.summary())
    return 0


def _open(index_dir: str | None) -> Assistant:
    if index_dir:
        return Assistant.load(index_dir)
    return Assistant.bundled(os.environ.get("RAG_CACHE_DIR"), progress=sys.stderr.isatty())


def _ask(args: argparse.Namespace) -> int:
    if not args.question.strip():
        raise RagError("the question is empty; type a question about the documents")
    bot = _open(args.index_dir)
    if args.top_k is not None:
        bot = bot.with_settings(top_k=args.top_k)
    if args.retriever:
        bot = bot.with_settings(retriever=args.retriever)
    if args.reranker:
        bot = bot.with_settings(reranker=args.reranker)
    bot = _answer_settings(bot, args.mode)
    answer = bot.ask(args.question)
    print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False) if args.json else format_answer(answer))
    return 0


def _chat(args: argparse.Namespace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ui.app import ChatApp, serve

    bot = _answer_settings(_open(args.index_dir), args.mode)
    data_dir = (
        Path(args.data_dir) if args.data_dir else bot.store.path.with_name(bot.store.path.name + ".data")
    )
    print(f"Serving the chat on http://{args.host}:{args.port} (index: {bot.store.path}); Ctrl-C stops it.")
    serve(ChatApp(bot, data_dir), host=args.host, port=args.port)
    return 0


def _info(args: argparse.Namespace) -> int:
    bot = _open(args.index_dir)
    store = bot.store
    print(f"index: {store.path}\nmodel: {store.model} (dimension {store.dimension})")
    print(f"chunking: {store.chunking}\ndocuments: {len(store.documents)}, chunks: {len(store.chunks)}")
    for info in sorted(store.documents.values(), key=lambda d: d.source)[:50]:
        print(f"  {info.source}  ({info.n_chunks} chunks){'  ' + info.title if info.title else ''}")
    if len(store.documents) > 50:
        print(f"  ... and {len(store.documents) - 50} more")
    return 0


def format_answer(answer: Answer) -> str:
    """An answer for a terminal: the text, then each cited source with its quote and offsets."""
    lines = [textwrap.fill(answer.text, width=100)]
    unsupported = [s.text for s in answer.sentences if not s.supported]
    if unsupported:
        lines.append("Not supported by the documents (check before relying on it):")
        lines += [
            textwrap.fill(s, width=100, initial_indent="  - ", subsequent_indent="    ") for s in unsupported
        ]
    if answer.notice:
        lines.append(f"note: {answer.notice}")
    if answer.unmatched_terms:
        lines.append(answer.unmatched_note)
    if answer.citations:
        lines.append("")
        shown: set[int] = set()
        for c in answer.citations:
            if c.n not in shown:
                shown.add(c.n)
                lines.append(f"[{c.n}] {c.title + ' — ' if c.title else ''}{c.source}")
            lines.append(f"    chars {c.start}-{c.end}, score {c.score:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
