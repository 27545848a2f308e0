"""Train the reader: a cross-encoder that scores whether a sentence answers a question.

    python -m scripts.train_reader [--minutes 150] [--out-dir DIR] [--out reports/reader_training.json]
    python -m scripts.train_reader --init DIR   # stage two only, from a stage-one model

Initialised from the bundled all-MiniLM-L6-v2 weights (a new one-logit head on top), trained with
a fixed seed, on the CPU unless a GPU is there, in two stages (`scripts/reader_data.py` builds both
from the shared datasets' training folders and dev splits, test splits never):

1. `build_pairs`: SQuAD 1.1 train, SQuAD 2.0 train unanswerables, SelQA, COVID-QA; one epoch.
2. `build_hard_pairs`: SQuAD 2.0 dev (not its calibration share) and SciFact train claims, with a
   replay of stage one; one epoch at `--hard-lr`.

Groups (articles, papers) are split between training and validation; the validation loss and
accuracy are measured as training goes (each stage's "dev curve" in the report). A stage stops at
the end of its data or when `--minutes` (for the whole run) are up. The model folder loads with
sentence-transformers' `CrossEncoder`.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import shlex
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.embed import bundled_model_dir, default_cache_dir
from scripts.common import require_datasets, script_parser, write_report
from scripts.reader_data import Pair, build_hard_pairs, build_pairs, is_validation


def _batches(pairs: Sequence[Pair], size: int) -> list[Sequence[Pair]]:
    return [pairs[i : i + size] for i in range(0, len(pairs), size)]


def _length_batches(
    pairs: Sequence[Pair], size: int, rng: random.Random, pool: int = 50
) -> list[Sequence[Pair]]:
    """Batches of pairs of similar length (less padding, so about 1.5x faster on a CPU): pools of
    `pool` batches are sorted by length and cut, and the batches shuffled, all seeded."""
    batches: list[Sequence[Pair]] = []
    for i in range(0, len(pairs), size * pool):
        chunk = sorted(pairs[i : i + size * pool], key=lambda p: len(p.question) + len(p.candidate))
        batches += _batches(chunk, size)
    rng.shuffle(batches)
    return batches


def _evaluate(
    model: Any, tokenizer: Any, pairs: Sequence[Pair], max_length: int, device: str
) -> dict[str, float]:
    """Validation loss, accuracy at 0.5, and precision / recall of the 'answers it' label."""
    import torch

    model.eval()
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    total = 0.0
    tp = fp = fn = correct = 0
    with torch.no_grad():
        for batch in _batches(pairs, 64):
            inputs = encode(tokenizer, batch, max_length, device)
            logits = model(**inputs).logits.squeeze(-1)
            labels = torch.tensor([p.label for p in batch], dtype=torch.float32, device=device)
            total += float(loss_fn(logits, labels))
            predicted = (logits > 0).long().tolist()
            for guess, p in zip(predicted, batch, strict=True):
                correct += int(guess == p.label)
                tp += int(guess == 1 and p.label == 1)
                fp += int(guess == 1 and p.label == 0)
                fn += int(guess == 0 and p.label == 1)
    model.train()
    return {
        "loss": total / len(pairs),
        "accuracy": correct / len(pairs),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }


def encode(tokenizer: Any, batch: Sequence[Pair], max_length: int, device: str) -> Any:
    """A batch of pairs as the torch model reads them: the candidate loses words first, as at answer time."""
    inputs = tokenizer(
        [p.question for p in batch],
        [p.candidate for p in batch],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    return {k: v.to(device) for k, v in inputs.items()}


def train(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[Pair],
    args: argparse.Namespace,
    lr: float,
    deadline: float,
    device: str,
) -> dict[str, Any]:
    """One stage: an epoch (`args.epochs`) over the training side of `pairs` with linear warm-up
    and decay, stopping at `deadline`; returns the stage's figures and dev curve."""
    import torch

    started = time.perf_counter()
    train_side = [p for p in pairs if not is_validation(p.group)]
    validation = [p for p in pairs if is_validation(p.group)]
    probe = random.Random(args.seed).sample(validation, min(args.eval_pairs, len(validation)))
    print(
        f"{len(train_side)} training pairs, {len(validation)} validation pairs ({len(probe)} per pass)",
        flush=True,
    )
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    order = random.Random(args.seed)
    per_epoch = len(_batches(train_side, args.batch_size))
    batches: list[Sequence[Pair]] = []
    while len(batches) < args.epochs * per_epoch:
        batches += _length_batches(train_side, args.batch_size, order)
    batches = batches[: math.ceil(args.epochs * per_epoch)]
    warmup = max(1, len(batches) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / len(batches))
    )
    # positives are about one pair in five: weigh them up, so that "never answers" is not the easy way out
    positives = sum(p.label for p in train_side)
    pos_weight = torch.tensor([(len(train_side) - positives) / max(positives, 1)], device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    curve = [{"step": 0, "pairs_seen": 0, **_evaluate(model, tokenizer, probe, args.max_length, device)}]
    print(curve[-1], flush=True)
    step = 0
    for step, batch in enumerate(batches, 1):
        inputs = encode(tokenizer, batch, args.max_length, device)
        labels = torch.tensor([p.label for p in batch], dtype=torch.float32, device=device)
        loss = loss_fn(model(**inputs).logits.squeeze(-1), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        out_of_time = time.perf_counter() > deadline
        if step % args.eval_every == 0 or out_of_time or step == len(batches):
            point = {"step": step, "pairs_seen": step * args.batch_size, "train_loss": loss.item()}
            curve.append(point | _evaluate(model, tokenizer, probe, args.max_length, device))
            print(curve[-1], flush=True)
        if out_of_time:
            break
    seconds = time.perf_counter() - started
    return {
        "data": {
            "pairs": len(pairs),
            "by_kind_and_label": {
                f"{k} {label}": n
                for (k, label), n in sorted(Counter((p.kind, p.label) for p in pairs).items())
            },
            "training_pairs": len(train_side),
            "validation_pairs": len(validation),
            "validation_groups": len({p.group for p in validation}),
        },
        "training": {
            "steps": step,
            "of_steps": len(batches),
            "epochs": round(args.epochs * step / len(batches), 3) if batches else 0.0,
            "lr": lr,
            "positive_weight": round(float(pos_weight), 3),
            "seconds": round(seconds, 1),
            "pairs_per_second": round(step * args.batch_size / max(seconds, 1e-9), 1),
        },
        "dev_curve": curve,
        "final": curve[-1],
    }


def main() -> None:
    parser = script_parser(__doc__, "reader_training.json", cache=False)
    parser.add_argument("--out-dir", default=str(default_cache_dir() / "reader"), help="where the model goes")
    parser.add_argument("--init", help="a stage-one model folder: run stage two only, from it")
    parser.add_argument("--epochs", type=float, default=1.0, help="passes over each stage's training pairs")
    parser.add_argument(
        "--minutes",
        type=float,
        default=150.0,
        help="stop early after this long (the schedule assumes no stop)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--squad-questions", type=int, default=12_000, help="SQuAD 1.1 train questions sampled"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=96, help="word pieces per (question, candidate)")
    parser.add_argument("--lr", type=float, default=6e-5, help="stage one's peak learning rate")
    parser.add_argument("--hard-lr", type=float, default=3e-5, help="stage two's peak learning rate")
    parser.add_argument("--replay", type=int, default=10_000, help="stage-one pairs replayed in stage two")
    parser.add_argument("--eval-every", type=int, default=500, help="steps between validation passes")
    parser.add_argument("--eval-pairs", type=int, default=2000, help="validation pairs per pass")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    started = time.perf_counter()
    deadline = started + args.minutes * 60
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

    data = require_datasets()
    start = Path(args.init) if args.init else bundled_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(start))
    model = AutoModelForSequenceClassification.from_pretrained(str(start), num_labels=1).to(device)
    stages: dict[str, Any] = {}
    first = None if args.init else build_pairs(data, args.seed, args.squad_questions)
    if first is not None:
        stages["one"] = train(model, tokenizer, first, args, args.lr, deadline, device)
    hard = build_hard_pairs(data, args.seed, args.replay, args.squad_questions, earlier=first)
    stages["two"] = train(model, tokenizer, hard, args, args.hard_lr, deadline, device)
    out_dir = Path(args.out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    report = {
        "command": shlex.join(["python", "-m", "scripts.train_reader", *sys.argv[1:]]),
        "seed": args.seed,
        "base_model": str(args.init)
        if args.init
        else "sentence-transformers/all-MiniLM-L6-v2 (bundled), new one-logit head",
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "squad_questions_sampled": args.squad_questions,
            "replay": args.replay,
            "device": device,
            "machine": f"{platform.machine()}, {platform.python_version()}",
        },
        "seconds": round(time.perf_counter() - started, 1),
        "stages": stages,
        "model_dir": str(out_dir),
    }
    write_report(args.out, report)
    final = stages["two"]["final"]
    print(f"model: {out_dir}; report: {args.out}; final validation loss {final['loss']:.4f}")
    if not math.isfinite(final["loss"]):
        raise SystemExit("training diverged: the validation loss is not finite")


if __name__ == "__main__":
    main()
