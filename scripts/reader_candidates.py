"""How many sentences the reader should read: its sentence choice (refusals off) reading 16 or 8 of
the shortlist, on dev splits only.

    python -m scripts.reader_candidates [--out reports/reader_candidates_dev.json]

The bundled dev set and the 90 SciFact dev claims whole; 150 answerable and 150 unanswerable
SQuAD 2.0 dev questions from the share the reader never trained on; 100 + 100 RGB dev questions.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from evals.adapters import load_task
from evals.run import answer_metrics, run_eval
from rag import Assistant, Settings
from scripts.calibrate_reader import sample_items
from scripts.common import require_datasets, script_parser, write_report
from scripts.reader_data import held_for_calibration

SIZES = (16, 8)


def main() -> None:
    parser = script_parser(__doc__, "reader_candidates_dev.json")
    args = parser.parse_args()
    data, cache = require_datasets(), Path(args.cache_dir)
    results: dict[str, Any] = {}
    for name, limit in (("bundled", None), ("squad", 150), ("scifact", None), ("rgb", 100)):
        task = load_task(name, "dev", data if name != "bundled" else None, cache / "data")
        if name == "squad":
            task = replace(task, items=tuple(i for i in task.items if held_for_calibration(i.id)))
        items = list(task.items) if limit is None else sample_items(task.items, limit)
        bot = Assistant.cached(task.corpus, cache, Settings())
        for size in SIZES:
            run = run_eval(
                bot.with_settings(reader="bundled", reader_threshold=0.0, reader_candidates=size), items
            )
            m = answer_metrics([r.scored for r in run.rows])
            results[f"{name}, {size} sentences"] = {
                "questions": len(items),
                **{
                    k: round(m[k], 4)
                    for k in ("answer_contains_gold", "citation_correct", "latency_p50_ms")
                    if m.get(k) is not None
                },
            }
            print(name, size, results[f"{name}, {size} sentences"], flush=True)
    write_report(args.out, {"command": "python -m scripts.reader_candidates", "results": results})
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
