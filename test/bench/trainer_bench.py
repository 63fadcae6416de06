#!/usr/bin/env python3
"""Trainer benchmark: baseline backend on the bundled example data.

    python3 test/bench/trainer_bench.py

Trains the stdlib baseline on examples/data/feedback.jsonl (default arguments)
into a temp dir, times the training command (wall clock, including interpreter
start-up), evaluates the model on examples/data/heldout.jsonl, and computes
the majority-class floor on the same held-out file. It prints plain lines and
ends with one `BENCH_JSON {...}` line. Nothing is asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINER = os.path.join(REPO, "scripts", "train_intent_classifier.py")
TRAIN = os.path.join(REPO, "examples", "data", "feedback.jsonl")
HELDOUT = os.path.join(REPO, "examples", "data", "heldout.jsonl")

sys.path.insert(0, os.path.join(REPO, "scripts"))
import train_intent_classifier as tic  # noqa: E402


def run(args: list[str]) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, TRAINER, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"trainer_bench: {' '.join(args[:1])} failed with exit {r.returncode}")
    return r


def read_rows(path: str) -> list[tuple[str, str]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                rows.append((obj["text"], obj["label"]))
    return rows


def main() -> int:
    labels = list(tic.DEFAULT_LABELS)
    with tempfile.TemporaryDirectory(prefix="trainer-bench-") as tmp:
        out = os.path.join(tmp, "model")
        t0 = time.perf_counter()
        run(["--data", TRAIN, "--output", out, "--backend", "baseline"])
        wall = time.perf_counter() - t0
        with open(os.path.join(out, "training_args.json"), encoding="utf-8") as fh:
            internal = json.load(fh)["train_time_s"]
        with open(os.path.join(out, "metrics.json"), encoding="utf-8") as fh:
            split = json.load(fh)
        model_bytes = os.path.getsize(os.path.join(out, "model.json"))
        held = json.loads(run(["evaluate", "--model", out, "--data", HELDOUT, "--json"]).stdout)

    train_labels = Counter(label for _, label in read_rows(TRAIN))
    majority = max(labels, key=lambda l: (train_labels[l], -labels.index(l)))
    gold = [label for _, label in read_rows(HELDOUT)]
    floor = tic.compute_metrics(gold, [majority] * len(gold), labels)

    min_f1 = min(c["f1"] for c in held["per_class"].values())
    print(f"trainer: baseline train_time_s={wall:.2f} (in-process {internal:.2f}) n_train={split['n_train']} "
          f"model_json_kb={model_bytes / 1024:.0f} split_accuracy={split['accuracy']:.4f}")
    print(f"trainer: baseline heldout_accuracy={held['accuracy']:.4f} heldout_f1_macro={held['f1_macro']:.4f} "
          f"min_class_f1={min_f1:.2f} n_heldout={held['n_test']}")
    print("trainer: baseline heldout per-class f1 " +
          " ".join(f"{l}={held['per_class'][l]['f1']:.2f}" for l in labels))
    print(f"trainer: majority-class ({majority}) heldout_accuracy={floor['accuracy']:.2f} "
          f"heldout_f1_macro={floor['f1_macro']:.2f}")
    result = {
        "train_time_s": round(wall, 3),
        "train_time_in_process_s": internal,
        "n_train": split["n_train"],
        "split_accuracy": split["accuracy"],
        "model_json_bytes": model_bytes,
        "heldout_accuracy": held["accuracy"],
        "heldout_f1_macro": held["f1_macro"],
        "min_class_f1": round(min_f1, 6),
        "heldout_per_class_f1": {l: held["per_class"][l]["f1"] for l in labels},
        "n_heldout": held["n_test"],
        "majority_class": majority,
        "majority_heldout_accuracy": round(floor["accuracy"], 6),
        "majority_heldout_f1_macro": round(floor["f1_macro"], 6),
    }
    print("BENCH_JSON " + json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
