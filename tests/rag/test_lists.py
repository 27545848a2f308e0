"""Lists announced by one sentence and given by the sentences after it."""

from __future__ import annotations

import pytest

from rag.lists import MAX_ITEMS, announced_count, list_items

pytestmark = pytest.mark.unit

TEXT = (
    "Zhou Rui proposed three measures in response. His first measure is supervision. "
    "His second measure is data. His third measure is training. Qiu Han spoke next.\n\n"
    "## Another heading\n\nThe plan has the following: Unrelated text."
)


@pytest.mark.parametrize(
    ("sentence", "count"),
    [
        ("Zhou Rui proposed three measures in response.", 3),
        ("The plan consists of 4 parts.", 4),
        ("The steps are as follows:", 0),
        ("They set out the following.", 0),
        ("Jiangsu put forward two models of its own: retail and exhibitions online.", None),  # items given
        ("It grew by 10 percent in three years.", None),  # a duration, not a list
        ("It took two years.", None),
        ('Hangzhou developed a framework known as "Six Systems, Two Platforms".', None),  # a name
        ("Temu launched in 2022.", None),
        ("The plan lists twelve goals.", None),  # beyond ten, a count too long to quote
    ],
)
def test_announced_count(sentence: str, count: int | None) -> None:
    assert announced_count(sentence) == count


def test_list_items_are_the_counted_sentences_after_the_announcement() -> None:
    end = TEXT.index("response.") + len("response.")
    items = [TEXT[s:e] for s, e in list_items(TEXT, 0, end)]
    assert items == [
        "His first measure is supervision.",
        "His second measure is data.",
        "His third measure is training.",
    ]


def test_list_items_stop_at_a_heading_and_are_capped() -> None:
    start = TEXT.index("Qiu Han")
    assert list_items(TEXT, start, start + len("Qiu Han spoke next.")) == []  # announces nothing
    text = "We chose the following:\n\n## Next part\n\nMore."
    assert list_items(text, 0, len("We chose the following:")) == []
    many = "There are 9 steps. " + " ".join(f"Step {i} is done." for i in range(9))
    assert len(list_items(many, 0, len("There are 9 steps."))) == MAX_ITEMS
