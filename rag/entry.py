"""What the command-line entry points (`rag`, `rag eval`) share: one-line errors, exit codes, `--mode`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from index.errors import InputError, RagError
from index.limits import Limits
from rag.llm import config_from_env
from rag.settings import ANSWER_MODES


def run_command(command: Callable[[], int]) -> int:
    """Run `command`; returns its exit code, or 2 for bad input or a bad index, 130 when
    interrupted and 1 for anything unexpected, each told as one line on stderr.

    `RAG_DEBUG=1` in the environment shows the traceback of an unexpected error instead.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return command()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # whoever read the output stopped reading (`rag info | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(
            "interrupted; the index keeps what was saved before (run the same command to finish)",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:  # the last line of defence: one line, no traceback
        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)", file=sys.stderr)
        return 1


def add_mode_argument(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """`--mode extractive|llm`, its default from RAG_ANSWER_MODE in `env`."""
    parser.add_argument(
        "--mode",
        choices=ANSWER_MODES,
        default=env.get("RAG_ANSWER_MODE") or "extractive",
        help="extractive (quotes, no LLM; default) or llm (your LLM server, see RAG_LLM_*)",
    )


def mode_settings(mode: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The `Settings` fields for answer mode `mode`, with the LLM the RAG_LLM_* variables of `env`
    name, and the sentence scorer RAG_READER names ("bundled", a reader folder, or "rules")."""
    out: dict[str, Any] = {"answer_mode": mode, "llm": config_from_env(env) if mode == "llm" else None}
    reader = env.get("RAG_READER")
    if reader:
        out["reader"] = None if reader == "rules" else reader
    return out


def limit_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The `Settings` fields for the limits (README, "Limits and safety") set in `env`:
    RAG_MAX_* and RAG_EXTRACT_* for indexing, RAG_MAX_QUESTION_CHARS and RAG_MAX_HISTORY for asking."""
    out: dict[str, Any] = {"limits": Limits.from_env(env)}
    for name, field in (("RAG_MAX_QUESTION_CHARS", "max_question_chars"), ("RAG_MAX_HISTORY", "max_history")):
        raw = env.get(name, "").strip()
        if raw:
            try:
                out[field] = int(raw)
            except ValueError:
                raise InputError(f"{name} must be a whole number, not '{raw}'") from None
    return out
