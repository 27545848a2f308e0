"""A conversation as a file to keep: Markdown to read, JSON for programs; every citation goes with it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from rag.cite import one_line
from rag.types import Answer

FORMAT = "rag-assistant conversation"
VERSION = 1


def conversation_dict(answers: Sequence[Answer], shown: Callable[[str], str] = str) -> dict[str, Any]:
    """The conversation's turns: question, answer text, refusal, confidence and citations (source
    as `shown` gives it, title, quote and its character offsets in the document)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "turns": [
            {
                "question": a.question,
                "resolved_question": a.resolved_question,
                "answer": a.text,
                "refused": a.refused,
                "confidence": round(a.confidence, 4),
                "mode": a.mode,
                "citations": [
                    {
                        "n": c.n,
                        "doc_id": shown(c.doc_id),
                        "source": shown(c.source),
                        "title": c.title,
                        "quote": c.quote,
                        "start": c.start,
                        "end": c.end,
                        "page": c.page,
                    }
                    for c in a.citations
                ],
            }
            for a in answers
        ],
    }


def conversation_json(answers: Sequence[Answer], shown: Callable[[str], str] = str) -> str:
    return json.dumps(conversation_dict(answers, shown), ensure_ascii=False, indent=2) + "\n"


def conversation_markdown(answers: Sequence[Answer], shown: Callable[[str], str] = str) -> str:
    """Each question, its answer with `[n]` markers, then the sources it cites, quote by quote."""
    lines = ["# Conversation", ""]
    for a in answers:
        lines += [f"**Question:** {one_line(a.question)}", ""]
        if a.refused:
            lines += [f"**Answer:** _Not found._ {one_line(a.text)}", ""]
        else:
            lines += [f"**Answer:** {one_line(a.text)}", ""]
        for c in a.citations:
            where = f"{c.title} ({shown(c.source)})" if c.title else shown(c.source)
            lines.append(f'- [{c.n}] {where}, {c.place}: "{one_line(c.quote)}"')
        if a.citations:
            lines.append("")
    return "\n".join(lines)
