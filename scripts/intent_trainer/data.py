"""Labeled JSONL input: one {"text", "label"} object per line, bad lines reported and skipped."""

from __future__ import annotations

import json
import os
import random

from .console import fail, warn

MIN_EXAMPLES = 10
MAX_WARNINGS = 50


def load_examples(path: str, labels: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Return ([(text, label)], number of skipped lines). Blank lines are ignored."""
    if not os.path.exists(path):
        fail(f"data file not found: {path}")
    if not os.path.isfile(path):
        fail(f"data path is not a file: {path}")
    label_set = set(labels)
    lower_map = {l.lower(): l for l in labels}
    rows: list[tuple[str, str]] = []
    skipped = 0
    warned = 0

    def skip(lineno: int, why: str) -> None:
        nonlocal skipped, warned
        skipped += 1
        warned += 1
        if warned <= MAX_WARNINGS:
            warn(f"line {lineno}: {why} (skipped)")

    try:
        with open(path, "r", encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    reason = getattr(exc, "msg", None) or str(exc)
                    skip(lineno, f"invalid JSON ({reason})")
                    continue
                if not isinstance(obj, dict):
                    skip(lineno, "expected a JSON object")
                    continue
                text = obj.get("text")
                label = obj.get("label")
                if text is None:
                    skip(lineno, 'missing "text"')
                    continue
                if not isinstance(text, str):
                    skip(lineno, '"text" must be a string')
                    continue
                if not text.strip():
                    skip(lineno, 'empty "text"')
                    continue
                if label is None:
                    skip(lineno, 'missing "label"')
                    continue
                if not isinstance(label, str):
                    skip(lineno, '"label" must be a string')
                    continue
                if label not in label_set:
                    hint = lower_map.get(label.strip().lower())
                    extra = f"; did you mean '{hint}'?" if hint else ""
                    skip(lineno, f"unknown label {label!r}{extra}")
                    continue
                rows.append((text.strip(), label))
    except UnicodeDecodeError:
        fail(f"data file is not valid UTF-8: {path}")
    except OSError as exc:
        fail(f"cannot read data file {path}: {exc.strerror or exc}")
    if warned > MAX_WARNINGS:
        warn(f"{warned - MAX_WARNINGS} more invalid lines not shown")
    return rows, skipped


def stratified_split(rows, labels, test_size: float, seed: int):
    """Per-label shuffle with a seeded RNG; round(n * test_size) of each label
    (at least 1 when the label has 2+ examples, never all of them) go to test."""
    rng = random.Random(f"split:{seed}")
    by_label: dict[str, list[int]] = {l: [] for l in labels}
    for i, (_, label) in enumerate(rows):
        by_label[label].append(i)
    train_idx, test_idx = [], []
    for label in labels:
        idx = by_label[label]
        rng.shuffle(idx)
        n = len(idx)
        n_test = 0
        if n >= 2:
            n_test = min(max(int(round(n * test_size)), 1), n - 1)
        test_idx += idx[:n_test]
        train_idx += idx[n_test:]
    train_idx.sort()
    test_idx.sort()
    return [rows[i] for i in train_idx], [rows[i] for i in test_idx]
