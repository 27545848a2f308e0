"""Export a trained reader to ONNX (int8 by default) for answering without torch, and measure what
quantisation costs.

    python -m scripts.export_reader [--model DIR] [--to rag/models/reader] [--out reports/reader_export.json]

Reads the folder `scripts/train_reader.py` saved, writes `model.onnx`, `tokenizer.json` and
`reader.json` (its word-piece limit) to `--to`, scores the same validation pairs with the torch
model, the fp32 export and the int8 one, and prints the sha256 that `rag/reader.py` pins.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embed import default_cache_dir, file_sha256
from index.onnx import OnnxEncoder, export_onnx
from rag.reader import BUNDLED_READER_DIR
from scripts.common import require_datasets, script_parser, write_report
from scripts.reader_data import Pair, build_hard_pairs, is_validation
from scripts.train_reader import encode


def export(model_dir: Path, to: Path, max_length: int, quantize: bool = True) -> Path:
    """Write `model_dir` (a transformers sequence-classification folder) to `to` as ONNX, with its
    tokenizer and `reader.json`; int8 weights (dynamic quantisation) unless `quantize` is False."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    path = export_onnx(model, AutoTokenizer.from_pretrained(str(model_dir)), to, "logits", quantize)
    (to / "reader.json").write_text(json.dumps({"max_length": max_length}) + "\n", encoding="utf-8")
    return path


def _metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    p = 1 / (1 + np.exp(-logits))
    loss = -np.mean(labels * np.log(p + 1e-9) + (1 - labels) * np.log(1 - p + 1e-9))
    guess = logits > 0
    tp = float(np.sum(guess & (labels == 1)))
    return {
        "loss": round(float(loss), 4),
        "accuracy": round(float(np.mean(guess == (labels == 1))), 4),
        "precision": round(tp / max(float(np.sum(guess)), 1.0), 4),
        "recall": round(tp / max(float(np.sum(labels)), 1.0), 4),
    }


def _torch_logits(model_dir: Path, pairs: Sequence[Pair], max_length: int) -> np.ndarray:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            batch = pairs[i : i + 64]
            inputs = encode(tokenizer, batch, max_length, "cpu")
            out.append(model(**inputs).logits[:, 0].numpy())
    return np.concatenate(out)


def main() -> None:
    parser = script_parser(__doc__, "reader_export.json", cache=False)
    parser.add_argument("--model", default=str(default_cache_dir() / "reader"), help="the trained reader")
    parser.add_argument("--to", default=str(BUNDLED_READER_DIR), help="where the ONNX reader goes")
    parser.add_argument("--max-length", type=int, default=96, help="as trained")
    parser.add_argument("--pairs", type=int, default=2000, help="validation pairs compared")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model_dir, to = Path(args.model), Path(args.to)
    # the validation side of the last training stage (its hard pairs and a replay of stage one)
    pairs = [p for p in build_hard_pairs(require_datasets(), args.seed) if is_validation(p.group)]
    pairs = random.Random(args.seed).sample(pairs, min(args.pairs, len(pairs)))
    labels = np.array([p.label for p in pairs], dtype=np.float64)
    items = [(p.question, p.candidate) for p in pairs]
    quality = {"torch": _metrics(_torch_logits(model_dir, pairs, args.max_length), labels)}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export(model_dir, Path(tmp), args.max_length, quantize=False)
        quality["onnx_fp32"] = _metrics(
            OnnxEncoder.load(fp32.parent, "reader", args.max_length, pairs=True).run(items)[:, 0], labels
        )
        sizes = {"onnx_fp32_mb": round(fp32.stat().st_size / 2**20, 1)}
    int8 = export(model_dir, to, args.max_length)
    quality["onnx_int8"] = _metrics(
        OnnxEncoder.load(to, "reader", args.max_length, pairs=True).run(items)[:, 0], labels
    )
    sizes["onnx_int8_mb"] = round(int8.stat().st_size / 2**20, 1)
    digest = file_sha256(int8)
    report = {
        "command": "python -m scripts.export_reader",
        "model": str(model_dir),
        "to": str(to),
        "validation_pairs": len(pairs),
        "quality": quality,
        "sizes": sizes,
        "sha256": digest,
    }
    write_report(args.out, report)
    for name, m in quality.items():
        print(f"{name}: {m}")
    print(f"{int8} ({sizes['onnx_int8_mb']} MB): sha256 {digest}; pin it as READER_SHA256 in rag/reader.py")


if __name__ == "__main__":
    main()
