"""The eval-set format: one question per JSON line.

    {"id": "q1", "question": "...", "answers": ["165", "165 zones"], "answerable": true,
     "evidence": ["pilot-zones.md", "had reached 165"], "history": [{"role": "user", "content": "..."}]}

- `answers`: acceptable answer strings (any one counts), or a list of lists when an answer has
  several parts (every part must appear; each inner list holds that part's variants). Empty when
  the question is unanswerable.
- `answerable`: whether the documents answer it (default: `answers` is not empty).
- `evidence` (optional): document ids or file names of gold documents, and/or strings that a cited
  quote must contain.
- `history` (optional): earlier turns, `{"role": "user"|"assistant", "content": ...}`; the user
  turns are asked first, in the same conversation, so the question is asked as a follow-up.
- `relevant` (optional): graded relevance `{doc_id: grade}` for retrieval metrics (overrides the
  document evidence).
- `within` (optional): search only these document ids (a per-question corpus, as in RGB).
- `group` (optional): a label metrics are also reported by (e.g. HasAns / NoAns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.load import json_lines
from rag import InputError

Answers = tuple[str, ...] | tuple[tuple[str, ...], ...]
_FIELDS = {"id", "question", "answers", "answerable", "evidence", "history", "relevant", "within", "group"}


@dataclass(frozen=True)
class EvalItem:
    """One eval question, its gold answers and evidence."""

    id: str
    question: str
    answers: Answers = ()
    answerable: bool = True
    evidence: tuple[str, ...] = ()
    history: tuple[Mapping[str, str], ...] = ()
    relevant: Mapping[str, int] = field(default_factory=dict)
    within: tuple[str, ...] | None = None
    group: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answers": [list(a) if isinstance(a, tuple) else a for a in self.answers],
            "answerable": self.answerable,
        }
        for name in ("evidence", "history", "relevant", "within", "group"):
            value = getattr(self, name)
            if value:
                d[name] = (
                    list(value) if isinstance(value, tuple) else dict(value) if name == "relevant" else value
                )
        return d


def parse_item(raw: Mapping[str, Any], where: str = "item") -> EvalItem:
    """An `EvalItem` from one decoded JSON line; a bad field raises InputError naming it."""
    unknown = set(raw) - _FIELDS
    if unknown:
        raise InputError(f"{where}: unknown field(s) {sorted(unknown)}; valid fields: {sorted(_FIELDS)}")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: 'question' must be a non-empty string")
    answers = _answers(raw.get("answers", []), where)
    answerable = raw.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: 'answerable' must be true or false, not {answerable!r}")
    history = raw.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in history
    ):
        raise InputError(
            f"{where}: 'history' must be a list of {{'role': 'user'|'assistant', 'content': str}}"
        )
    relevant = raw.get("relevant", {})
    if not isinstance(relevant, dict) or not all(isinstance(g, int) for g in relevant.values()):
        raise InputError(f"{where}: 'relevant' must map document ids to integer grades")
    within = raw.get("within")
    return EvalItem(
        id=str(raw.get("id", where)),
        question=question.strip(),
        answers=answers,
        answerable=answerable,
        evidence=tuple(_strings(raw.get("evidence", []), "evidence", where)),
        history=tuple(history),
        relevant={str(k): v for k, v in relevant.items()},
        within=None if within is None else tuple(_strings(within, "within", where)),
        group=str(raw.get("group", "")),
    )


def read_evalset(path: str | Path) -> list[EvalItem]:
    """Read an eval set (JSON lines); errors name the file, the line and the field."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"eval set '{path}' does not exist; give a .jsonl file or a built-in set name")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for lineno, raw, error in json_lines(p.read_text(encoding="utf-8")):
        where = f"{p.name} line {lineno}"
        if error:
            raise InputError(f"{where}: not valid JSON ({error}); one JSON object per line")
        if not isinstance(raw, dict):
            raise InputError(f"{where}: expected a JSON object")
        item = parse_item(raw, where)
        if item.id in seen:
            raise InputError(f"{where}: duplicate id '{item.id}'; ids must be unique")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InputError(f"eval set '{path}' has no questions")
    return items


def _answers(value: Any, where: str) -> Answers:
    if not isinstance(value, list):
        raise InputError(f"{where}: 'answers' must be a list of strings or a list of lists of strings")
    if value and all(isinstance(v, list) for v in value):
        return tuple(tuple(_strings(v, "answers", where)) for v in value)
    return tuple(_strings(value, "answers", where))


def _strings(value: Any, name: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InputError(f"{where}: '{name}' must be a list of strings")
    return [str(v) for v in value]
