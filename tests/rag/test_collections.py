"""Collections: named indexes in one data folder, `default` standing in for the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import InputError
from rag.collections import DEFAULT, CollectionNotFound, Collections, check_name
from tests.conftest import write


@pytest.mark.unit
@pytest.mark.parametrize("bad", ["", "HR", "-hr", "hr/../x", "a" * 65, "h r"])
def test_a_collection_name_that_cannot_be_a_folder_is_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(InputError, match="lower-case letters, digits"):
        check_name(bad)


@pytest.mark.unit
def test_only_default_until_one_is_indexed_and_unknown_names_list_the_valid_ones(tmp_path: Path) -> None:
    lib = Collections(tmp_path / "home")
    assert lib.names() == [DEFAULT]
    with pytest.raises(CollectionNotFound, match="the collections are: default"):
        lib.open("hr")


@pytest.mark.integration
@pytest.mark.slow
def test_each_collection_is_its_own_index_and_default_starts_as_the_bundled_corpus(tmp_path: Path) -> None:
    write(tmp_path / "hr" / "leave.md", "Every employee gets 27 days of paid leave a year.\n")
    lib = Collections(tmp_path / "home", cache_dir=tmp_path / "cache")
    lib.build("hr", [tmp_path / "hr"])
    assert lib.names() == [DEFAULT, "hr"]
    hr = lib.open("hr")
    assert lib.open("hr") is hr  # opened once, shared
    assert [d.file_name for d in hr.documents()] == ["leave.md"]
    assert "27 days" in hr.ask("How many days of paid leave?").text
    default = lib.open(DEFAULT)
    assert "pilot-zones.md" in {d.file_name for d in default.documents()}
    assert Path(default.info().path) == tmp_path / "home" / "collections" / DEFAULT / "index"
    assert "leave.md" not in {d.file_name for d in default.documents()}
