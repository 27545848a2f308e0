"""The reader's dev-set calibration: which answers take part, how a choice is judged, and where the
calibration is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.calibrate_reader import in_fit, right_share, set_calibration

pytestmark = pytest.mark.unit


def _row(name: str, answerable: bool, right: bool | None) -> dict[str, object]:
    return {"set": name, "id": f"{name}:1", "answerable": answerable, "right": right}


def test_multihop_takes_part_in_the_fit_only_with_its_unanswerable_questions() -> None:
    assert in_fit(_row("squad", True, True)) and in_fit(_row("squad", False, False))
    assert in_fit(_row("multihop", False, False))  # about what its corpus never mentions: always wrong
    assert not in_fit(_row("multihop", True, True))  # several articles: one sentence says little
    assert not in_fit(_row("bundled", True, None))  # a refusal is neither right nor wrong


def test_the_choice_is_judged_by_the_mean_over_sets_of_answerable_questions_right() -> None:
    rows = [
        _row("bundled", True, True),
        _row("bundled", True, False),
        _row("squad", True, True),
        _row("squad", False, False),  # unanswerable: not a choice to judge
        _row("multihop", True, False),  # not a single-sentence set
    ]
    assert right_share(rows) == pytest.approx((0.5 + 1.0) / 2)


def test_set_calibration_keeps_what_it_does_not_change(tmp_path: Path) -> None:
    (tmp_path / "reader.json").write_text(json.dumps({"max_length": 96, "calibration": {"scale": 2.0}}))
    assert set_calibration(str(tmp_path), prior=32.0) == {"scale": 2.0, "prior": 32.0}
    assert json.loads((tmp_path / "reader.json").read_text())["max_length"] == 96
