#!/usr/bin/env python3
"""Trainer benchmark: what a user waits for when the reference trainer runs.

    python3 test/bench/trainer_bench.py [--quick]

Whole processes, timed start to exit; peak RSS is the child's own (ru_maxrss from wait4, i.e. VmHWM).

* baseline backend (this interpreter, standard library only) on examples/data/feedback.jsonl (1.6k rows) and
  on 10k and 50k rows grown from it (numbers re-drawn, typos, polite prefixes and suffixes: new n-grams,
  as real feedback has), each model then scored on examples/data/heldout.jsonl;
* sklearn backend on the example with the first interpreter that imports scikit-learn (/usr/bin/python3 on
  Debian with python3-sklearn), if any;
* the majority-class floor on the held-out file.

Prints plain lines, the targets beside the figures, and ends with one `BENCH_JSON {...}` line.
Nothing is asserted here. --quick skips the 50k-row run.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINER = os.path.join(REPO, "scripts", "train_intent_classifier.py")
TRAIN = os.path.join(REPO, "examples", "data", "feedback.jsonl")
HELDOUT = os.path.join(REPO, "examples", "data", "heldout.jsonl")
SKLEARN_PYTHONS = ["/usr/bin/python3", sys.executable]

sys.path.insert(0, os.path.join(REPO, "scripts"))
from intent_trainer.cli import DEFAULT_LABELS  # noqa: E402
from intent_trainer.metrics import compute_metrics  # noqa: E402

TARGETS = {1600: None, 10000: (10.0, None), 50000: (60.0, 300.0)}  # rows -> (wall s, peak RSS MiB)
PREFIXES = ["", "", "", "Buongiorno, ", "Salve, ", "Scusa, ", "Ciao, ", "Una domanda: ", "Per un cliente: "]
SUFFIXES = ["", "", "", " grazie", " grazie mille", " per favore", "?", " urgente", " cortesemente"]


def measure(argv: list[str]) -> dict:
    """Run argv to exit: wall time, CPU time and peak RSS of that child alone (wait4, not the parent's rusage)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out_fh, tempfile.TemporaryFile() as err_fh:
        proc = subprocess.Popen(argv, stdout=out_fh, stderr=err_fh)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_fh.seek(0)
        err_fh.seek(0)
        out, err = out_fh.read().decode(), err_fh.read().decode()
    if proc.returncode != 0:
        sys.stderr.write(err)
        raise SystemExit(f"trainer_bench: {' '.join(argv[1:3])} failed with exit {proc.returncode}")
    return {"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "stdout": out}


def read_rows(path: str) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return [(o["text"], o["label"]) for o in map(json.loads, filter(str.strip, fh))]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def grown_rows(rows: list[tuple[str, str]], n: int, seed: int = 1) -> list[tuple[str, str]]:
    """The example rows, then variants of them until there are n."""
    rng = random.Random(seed)
    out = []
    for c in range(n):
        text, label = rows[c % len(rows)]
        if c >= len(rows):
            text = re.sub(r"\d+", lambda m: str(rng.randrange(1, 10 ** len(m.group()))), text)
            words = text.split()
            for _ in range(rng.randrange(3)):
                j = rng.randrange(len(words))
                words[j] = typo(words[j], rng)
            text = rng.choice(PREFIXES) + " ".join(words) + rng.choice(SUFFIXES)
            if rng.random() < 0.1:
                text = text.lower()
        out.append((text, label))
    return out


def write_rows(path: str, rows) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        for text, label in rows:
            fh.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    return path


def train_and_score(python: str, backend: str, data: str, out: str) -> dict:
    run = measure([python, TRAINER, "--data", data, "--output", out, "--backend", backend])
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as fh:
        split = json.load(fh)
    held = json.loads(measure([python, TRAINER, "evaluate", "--model", out, "--data", HELDOUT, "--json"])["stdout"])
    model_bytes = sum(os.path.getsize(os.path.join(out, f)) for f in ("model.json", "model.npz")
                      if os.path.exists(os.path.join(out, f)))
    return {"wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "peak_rss_mib": run["peak_rss_mib"],
            "n_train": split["n_train"], "split_accuracy": split["accuracy"], "model_bytes": model_bytes,
            "heldout_accuracy": held["accuracy"], "heldout_f1_macro": held["f1_macro"],
            "min_class_f1": round(min(c["f1"] for c in held["per_class"].values()), 6)}


def sklearn_python() -> str | None:
    for python in SKLEARN_PYTHONS:
        if os.path.exists(python) and subprocess.run([python, "-c", "import sklearn"],
                                                     capture_output=True).returncode == 0:
            return python
    return None


def line(name: str, r: dict, target=None) -> str:
    text = (f"trainer: {name:<22} wall={r['wall_s']:6.2f}s cpu={r['cpu_s']:6.2f}s peak_rss={r['peak_rss_mib']:6.1f}MiB "
            f"n_train={r['n_train']:<6} heldout_accuracy={r['heldout_accuracy']:.4f} "
            f"min_class_f1={r['min_class_f1']:.2f}")
    if target:
        wall, rss = target
        text += f"  (target wall<={wall:.0f}s" + (f", rss<={rss:.0f}MiB)" if rss else ")")
    return text


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    labels = list(DEFAULT_LABELS)
    rows = read_rows(TRAIN)
    results: dict = {"baseline": {}}
    tmp = tempfile.mkdtemp(prefix="trainer-bench-")
    try:
        sizes = [("1.6k (example)", TRAIN, 1600)]
        for n in (10000,) if quick else (10000, 50000):
            sizes.append((f"{n // 1000}k rows", write_rows(os.path.join(tmp, f"{n}.jsonl"), grown_rows(rows, n)), n))
        for name, data, n in sizes:
            r = train_and_score(sys.executable, "baseline", data, os.path.join(tmp, f"baseline-{n}"))
            results["baseline"][str(n)] = r
            print(line(f"baseline {name}", r, TARGETS[n]), flush=True)
        python = sklearn_python()
        if python:
            r = train_and_score(python, "sklearn", TRAIN, os.path.join(tmp, "sklearn"))
            results["sklearn"] = {**r, "python": python}
            print(line("sklearn 1.6k (example)", r), flush=True)
        else:
            print("trainer: sklearn skipped (no interpreter here imports scikit-learn; "
                  "Debian: apt-get install python3-sklearn)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    train_labels = Counter(label for _, label in rows)
    majority = max(labels, key=lambda l: (train_labels[l], -labels.index(l)))
    gold = [label for _, label in read_rows(HELDOUT)]
    floor = compute_metrics(gold, [majority] * len(gold), labels)
    print(f"trainer: heldout floor (bar for both backends: accuracy >= 0.919): majority class ({majority}) "
          f"accuracy={floor['accuracy']:.2f} f1_macro={floor['f1_macro']:.2f}")
    results["majority_class"] = majority
    results["majority_heldout_accuracy"] = round(floor["accuracy"], 6)
    print("BENCH_JSON " + json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
