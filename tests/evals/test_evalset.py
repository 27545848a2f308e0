"""The eval-set format: parsing, validation errors that name the line and field, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.evalset import EvalItem, parse_item, read_evalset
from rag import InputError
from tests.conftest import write

pytestmark = pytest.mark.unit


def test_parse_full_item_and_round_trip(tmp_path: Path) -> None:
    raw = {
        "id": "q1",
        "question": " And the next year? ",
        "answers": ["12", "twelve"],
        "evidence": ["pilot-zones.md", "12 more cities"],
        "history": [
            {"role": "user", "content": "When did it start?"},
            {"role": "assistant", "content": "2015"},
        ],
        "group": "follow-up",
    }
    item = parse_item(raw)
    assert item.question == "And the next year?" and item.answerable and item.answers == ("12", "twelve")
    parts = parse_item({"id": "q2", "question": "Medals?", "answers": [["silver"], ["bronze", "Bronze"]]})
    assert parts.answers == (("silver",), ("bronze", "Bronze"))
    none = parse_item({"id": "q3", "question": "Unknowable?", "answers": []})
    assert none.answerable is False
    write(tmp_path / "set.jsonl", "".join(json.dumps(i.to_dict()) + "\n" for i in (item, parts, none)))
    assert read_evalset(tmp_path / "set.jsonl") == [item, parts, none]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"id": "x", "answers": []}', "'question' must be a non-empty string"),
        ('{"id": "x", "question": "q", "answer": ["a"]}', "unknown field(s) ['answer']"),
        ('{"id": "x", "question": "q", "answerable": "yes"}', "'answerable' must be true or false"),
        ('{"id": "x", "question": "q", "history": [{"role": "bot", "content": "hi"}]}', "'history' must be"),
        ('{"id": "a", "question": "q"}', "duplicate id 'a'"),
    ],
)
def test_bad_lines_name_the_line_and_the_field(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "bad.jsonl", json.dumps({"id": "a", "question": "fine"}) + "\n" + line + "\n")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        read_evalset(path)


def test_missing_and_empty_sets(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_evalset(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="has no questions"):
        read_evalset(write(tmp_path / "empty.jsonl", "\n"))


def test_to_dict_leaves_out_empty_optional_fields() -> None:
    assert EvalItem("i", "q?").to_dict() == {"id": "i", "question": "q?", "answers": [], "answerable": True}
