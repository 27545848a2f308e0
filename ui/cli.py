"""The `rag` command: index documents, ask questions, serve the chat and the API, inspect an index.

Environment variables are read here, at the entry point, and nowhere else:
RAG_INDEX_DIR (default index folder), RAG_CACHE_DIR (where the bundled index is built),
RAG_MODEL (embedding model name or path), RAG_RERANKER (CrossEncoder for `rag ask`),
RAG_ANSWER_MODE (extractive or llm), RAG_LLM_BACKEND / RAG_LLM_MODEL / RAG_LLM_URL /
RAG_LLM_API_KEY / RAG_LLM_TIMEOUT (the LLM for llm mode), RAG_DATA_DIR, RAG_PORT,
RAG_HOME (where collections live), RAG_COLLECTION, RAG_API_KEYS (keys `rag serve` accepts),
RAG_DEBUG=1 (show tracebacks).

`rag eval ...` is the evals' own command (`python -m evals ...`), run in place of this one: the
chat and the evals are siblings, and neither imports the other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from rag import RETRIEVERS, Answer, Assistant, IndexSettings, InputError, Settings, check_question, db
from rag.assistant import bundled_index_dir
from rag.collections import DEFAULT, Collections
from rag.entry import add_mode_argument, limit_settings, mode_settings, run_command
from ui.app import ChatApp
from ui.keys import KeyRing
from ui.library import Library


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input or index, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["eval"]:
        _run_evals(argv[1:])
    args = _parser().parse_args(argv)
    code: int = run_command(lambda: args.func(args))
    return code


def _run_evals(argv: list[str]) -> None:
    """Replace this process with `python -m evals ARGS` (same environment, same exit code)."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "evals", *argv])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about your documents; every answer cites its sources."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    env = os.environ

    p = sub.add_parser("index", help="build or update an index from files and folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (searched recursively)")
    _where_arguments(p, "index into this folder", "index into this collection (default: 'default')")
    p.add_argument("--rebuild", action="store_true", help="start from an empty index")
    p.add_argument("--model", default=env.get("RAG_MODEL"), help="sentence-transformers model name or path")
    p.add_argument("--chunk-size", type=int, default=None, help="tokens per chunk")
    p.add_argument("--chunk-overlap", type=int, default=None, help="tokens shared by neighbouring chunks")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--follow-links", action="store_true", help="also read links that lead outside the folders given"
    )
    p.add_argument("--strict", action="store_true", help="exit with status 1 when any file is skipped")
    p.set_defaults(func=_index)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    _where_arguments(p)
    p.add_argument("-k", "--top-k", type=int, default=None, help="passages to read (default 6)")
    p.add_argument("--retriever", choices=RETRIEVERS, help="how passages are found (default: hybrid)")
    p.add_argument(
        "--doc",
        action="append",
        metavar="NAME",
        help="search only this document (a file name, source or id; repeat for several)",
    )
    p.add_argument(
        "--reranker",
        default=env.get("RAG_RERANKER"),
        help="CrossEncoder folder or name that re-orders the passages (default: none)",
    )
    add_mode_argument(p, env)
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=_ask)

    p = sub.add_parser("chat", help="serve the browser chat (Gradio) on this machine")
    _where_arguments(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=int(env.get("RAG_PORT", "7860")))
    p.add_argument(
        "--data-dir",
        default=env.get("RAG_DATA_DIR"),
        help="where uploaded files are kept (default: beside the index, in <index-dir>.data)",
    )
    add_mode_argument(p, env)
    p.set_defaults(func=_chat)

    p = sub.add_parser(
        "serve", help="serve the chat, the OpenAI-compatible API, the REST API and MCP on one port"
    )
    _where_arguments(p, collection_help="the collection the browser chat shows (default: 'default')")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=int(env.get("RAG_PORT", "8000")))
    p.add_argument(
        "--api-key",
        action="append",
        metavar="KEY[@COLLECTION+...][:read]",
        help="require this key (repeat for several; default: RAG_API_KEYS); see README, 'Keys'",
    )
    p.add_argument("--data-dir", default=env.get("RAG_DATA_DIR"), help="with --index-dir: where uploads go")
    add_mode_argument(p, env)
    p.set_defaults(func=_serve)

    p = sub.add_parser("mcp", help="serve MCP over stdio, for desktop agents (Claude Desktop, Cursor...)")
    _where_arguments(p)
    add_mode_argument(p, env)
    p.set_defaults(func=_mcp)

    # parsed by the evals' own command (see _run_evals); listed here for `rag --help`
    sub.add_parser("eval", help="run an eval set and write a report (`rag eval --help` for more)")

    p = sub.add_parser("db", help="PostgreSQL: start or stop an embedded server, upgrade an index's schema")
    p.add_argument("action", choices=("start", "stop", "upgrade"))
    p.add_argument("--db", default=env.get("RAG_DB"), metavar="URL", help="upgrade: the database")
    p.add_argument(
        "--dir",
        default=None,
        help="start / stop: the embedded server's data folder (default: <home>/postgres)",
    )
    p.add_argument(
        "--home", default=env.get("RAG_HOME"), help="the data folder (default: ~/.local/share/rag-assistant)"
    )
    p.set_defaults(func=_db)

    p = sub.add_parser("migrate", help="copy an index folder into PostgreSQL (nothing is embedded again)")
    p.add_argument("--index-dir", required=True, help="the folder index to copy")
    p.add_argument("--db", default=env.get("RAG_DB"), required="RAG_DB" not in env, metavar="URL")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_migrate)

    p = sub.add_parser(
        "compact", help="write a folder index anew, folding in the changes saved since each base"
    )
    _where_arguments(p)
    p.set_defaults(func=_compact)

    p = sub.add_parser("info", help="describe an index: model, chunking, documents; list the collections")
    _where_arguments(p)
    p.set_defaults(func=_info)
    return parser


def _where_arguments(
    p: argparse.ArgumentParser,
    index_help: str = "an index folder (default: the bundled e-commerce corpus)",
    collection_help: str = "a collection of the data folder (see --home)",
) -> None:
    """`--index-dir DIR`, `--db URL` or `--collection NAME` (one of them), and `--home`."""
    env = os.environ
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index-dir", default=env.get("RAG_INDEX_DIR"), help=index_help)
    where.add_argument(
        "--db",
        default=env.get("RAG_DB"),
        metavar="URL",
        help="a PostgreSQL database with pgvector, postgresql://...[#schema] (see README, 'PostgreSQL')",
    )
    where.add_argument(
        "--collection", default=env.get("RAG_COLLECTION"), metavar="NAME", help=collection_help
    )
    p.add_argument(
        "--home",
        default=env.get("RAG_HOME"),
        help="the data folder collections live in (default: ~/.local/share/rag-assistant)",
    )


def _index(args: argparse.Namespace) -> int:
    defaults = IndexSettings()
    index_settings = IndexSettings(
        model=args.model or defaults.model,
        chunk_size=args.chunk_size or defaults.chunk_size,
        chunk_overlap=defaults.chunk_overlap if args.chunk_overlap is None else args.chunk_overlap,
    )
    settings = Settings(index=index_settings, **limit_settings(os.environ))
    index_dir = args.db or args.index_dir or Collections(args.home).index_dir(args.collection or DEFAULT)
    bot = Assistant.build(
        args.paths,
        index_dir,
        settings,
        rebuild=args.rebuild,
        progress=not args.quiet,
        follow_links=args.follow_links,
    )
    assert bot.report is not None
    print(bot.report.summary())
    return 1 if args.strict and bot.report.skipped else 0


def _open(args: argparse.Namespace, settings: Settings) -> Assistant:
    if args.collection:
        return _collections(args, settings).open(args.collection)
    if args.db or args.index_dir:
        return Assistant.load(args.db or args.index_dir, settings)
    return Assistant.bundled(os.environ.get("RAG_CACHE_DIR"), settings, progress=sys.stderr.isatty())


def _ask(args: argparse.Namespace) -> int:
    settings = Settings(
        reranker=args.reranker, **mode_settings(args.mode, os.environ), **limit_settings(os.environ)
    )
    question = check_question(args.question, settings.max_question_chars)  # before the model loads
    bot = _open(args, settings)
    within = bot.documents_named(args.doc) if args.doc else None
    answer = bot.ask(question, k=args.top_k, within=within, retriever=args.retriever)
    print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False) if args.json else format_answer(answer))
    return 0


def _chat(args: argparse.Namespace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ui.app import ChatApp, serve

    settings = Settings(**mode_settings(args.mode, os.environ), **limit_settings(os.environ))
    if args.collection:
        collections = _collections(args, settings)
        bot = collections.open(args.collection)
        print(
            f"Serving the chat on http://{args.host}:{args.port} (collection: {args.collection}); Ctrl-C stops it."
        )
        serve(ChatApp(bot, collections.folder(args.collection)), host=args.host, port=args.port)
        return 0
    if args.db:
        bot = Assistant.load(args.db, settings)
        print(
            f"Serving the chat on http://{args.host}:{args.port} (index: {bot.info().path}); Ctrl-C stops it."
        )
        serve(ChatApp(bot, _db_data_dir(args)), host=args.host, port=args.port)
        return 0
    if args.index_dir:
        index_dir = Path(args.index_dir).expanduser()
    else:  # the bundled index (built on first use), opened below through the chat's own copy only
        index_dir = bundled_index_dir(os.environ.get("RAG_CACHE_DIR"), settings, sys.stderr.isatty())
    data_dir = Path(args.data_dir) if args.data_dir else index_dir.with_name(index_dir.name + ".data")
    if not args.index_dir:  # uploads go to the chat's own copy, never the bundled index `rag ask` reads
        index_dir = own_copy(index_dir, data_dir)
    bot = Assistant.load(index_dir, settings)
    print(f"Serving the chat on http://{args.host}:{args.port} (index: {index_dir}); Ctrl-C stops it.")
    serve(ChatApp(bot, data_dir), host=args.host, port=args.port)
    return 0


def own_copy(index_dir: Path, data_dir: Path) -> Path:
    """The chat's own copy of an index (made once, under its data folder), for uploads to change."""
    copy = data_dir / "index"
    if not (copy / "manifest.json").exists():
        shutil.copytree(index_dir, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock"))
    return copy


def _db_data_dir(args: argparse.Namespace) -> Path:
    """Where the chat keeps files uploaded into an index in a database."""
    return (
        Path(args.data_dir) if getattr(args, "data_dir", None) else Collections(args.home).home / "db-uploads"
    )


def _collections(args: argparse.Namespace, settings: Settings) -> Collections:
    return Collections(args.home, settings, os.environ.get("RAG_CACHE_DIR"))


def _library(args: argparse.Namespace, settings: Settings) -> tuple[Library, str]:
    """What `rag serve` and `rag mcp` offer, and the collection the chat shows."""
    if args.db:
        return Library(single=ChatApp(Assistant.load(args.db, settings), _db_data_dir(args))), DEFAULT
    if args.index_dir:
        index_dir = Path(args.index_dir).expanduser()
        data_dir = (
            Path(args.data_dir)
            if getattr(args, "data_dir", None)
            else index_dir.with_name(index_dir.name + ".data")
        )
        return Library(single=ChatApp(Assistant.load(index_dir, settings), data_dir)), DEFAULT
    collections = _collections(args, settings)
    name = args.collection or DEFAULT
    collections.check(name)
    return Library(collections), name


def _serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ui.server import create_app, serve

    keys = KeyRing.from_options(args.api_key, os.environ)
    settings = Settings(**mode_settings(args.mode, os.environ), **limit_settings(os.environ))
    library, chat = _library(args, settings)
    app = create_app(library, keys, chat, args.host)
    where = f"http://{args.host}:{args.port}"
    print(
        f"Serving on {where}: chat {where}/ (collection {chat}), OpenAI API {where}/v1, REST API {where}/api/v1 (docs {where}/docs), MCP {where}/mcp"
    )
    print(
        f"collections: {', '.join(library.names())}; "
        + (f"{len(keys.keys)} API key(s) required" if keys.enabled else "no API key required")
    )
    if not keys.enabled and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host} without API keys: anyone who reaches this port can read and change the documents; give --api-key",
            file=sys.stderr,
        )
    serve(app, args.host, args.port)
    return 0


def _mcp(args: argparse.Namespace) -> int:
    from ui.mcp_server import build_mcp

    settings = Settings(**mode_settings(args.mode, os.environ), **limit_settings(os.environ))
    library, chat = _library(args, settings)
    library.get(chat)  # load now: the first tool call answers at once
    build_mcp(library, KeyRing()).run("stdio")
    return 0


def _db(args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir else Collections(args.home).home / "postgres"
    if args.action == "start":
        url = db.start(folder)
        print(f"PostgreSQL with pgvector runs with its data in {folder}; stop it with `rag db stop`.")
        print(f"Index into it with: rag index PATH... --db '{url}'  (or export RAG_DB='{url}')")
    elif args.action == "stop":
        print(f"Stopped the server in {folder}." if db.stop(folder) else f"No server runs in {folder}.")
    else:
        if not args.db:
            raise InputError("give the database to upgrade: rag db upgrade --db postgresql://...")
        before, after = db.upgrade(*db.split_address(args.db))
        print(f"{db.redact(args.db)}: schema version {before} -> {after}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    with tqdm(unit="documents", disable=args.quiet) as bar:
        documents, chunks = db.copy_to_db(args.index_dir, args.db, bar.update)
    print(f"Copied {documents} documents ({chunks} chunks) from {args.index_dir} into {db.redact(args.db)}.")
    return 0


def _compact(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    info = _open(args, Settings()).compact()
    print(
        f"compacted {info.path}: {info.documents} documents, {info.chunks} chunks, generation {info.generation} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    bot = _open(args, Settings())
    info = bot.info()
    print(f"index: {info.path}\nmodel: {info.model} (dimension {info.dimension})")
    print(f"chunking: chunk_size {info.chunk_size}, chunk_overlap {info.chunk_overlap}")
    print(f"documents: {info.documents}, chunks: {info.chunks}")
    documents = bot.documents()
    for d in documents[:50]:
        print(f"  {d.source}  ({d.n_chunks} chunks){'  ' + d.title if d.title else ''}")
    if len(documents) > 50:
        print(f"  ... and {len(documents) - 50} more")
    print(f"collections (in {Collections(args.home).home}): {', '.join(Collections(args.home).names())}")
    return 0


def format_answer(answer: Answer) -> str:
    """An answer for a terminal: the text, then each cited source with its quotes' offsets."""
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
        for n in dict.fromkeys(c.n for c in answer.citations):
            quotes = [c for c in answer.citations if c.n == n]
            first = quotes[0]
            lines.append(f"[{n}] {first.title + ' — ' if first.title else ''}{first.source}")
            lines += [f"    {c.place}, score {c.score:.2f}" for c in quotes]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
