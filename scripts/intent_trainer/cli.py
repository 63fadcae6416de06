"""Command line: train (the default command), predict and evaluate. Exit status 0 on success, 2 on bad
arguments or unusable input."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import sys
import time

from .baseline import BASELINE_DEFAULTS
from .console import UsageError, fail, log, warn
from .data import MIN_EXAMPLES, load_examples, stratified_split
from .metrics import classification_report, compute_metrics, rounded
from .model_loader import backend_of, load_classifier
from .serialization import write_json
from .sklearn_backend import sklearn_available
from .transformers_backend import DEFAULT_BASE_MODEL, DEFAULT_TRANSFORMERS_LR, transformers_available

DEFAULT_LABELS = [
    "chitchat",
    "theoretical_definition",
    "technical_research",
    "calculator",
    "normative_reference",
]


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}")
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}")
    return v


def _fraction(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {s!r}")
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), got {s!r}")
    return v


def _labels(s: str) -> list[str]:
    labels = [x.strip() for x in s.split(",")]
    if any(not x for x in labels):
        raise argparse.ArgumentTypeError("labels must be non-empty and comma-separated")
    if len(set(labels)) != len(labels):
        raise argparse.ArgumentTypeError("labels must be unique")
    if len(labels) < 2:
        raise argparse.ArgumentTypeError("at least two labels are needed")
    return labels


def build_train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train_intent_classifier.py",
        description="Train an intent classifier from labeled JSONL feedback.",
        epilog=("Subcommands: 'predict --model DIR TEXT...' and 'evaluate --model DIR --data FILE [--json]' "
                "(see '<subcommand> --help'). The baseline backend ignores --learning-rate (its default 2e-5 "
                "is a transformers fine-tuning rate) and uses its own SGD schedule starting at "
                f"{BASELINE_DEFAULTS['learning_rate']} (override with --baseline-learning-rate); it makes "
                f"max({BASELINE_DEFAULTS['full_passes']}, min({BASELINE_DEFAULTS['min_passes']}, "
                f"ceil({BASELINE_DEFAULTS['examples_seen']} / n_train))) optimiser passes over the data whatever "
                "--epochs says, which sets the number of progress lines (evaluations) they are split into; "
                "--batch-size is the SGD mini-batch. The sklearn "
                "backend fits a logistic regression and ignores --epochs, --batch-size and the learning rates. "
                "--max-length and --device apply to transformers only."))
    p.add_argument("--data", required=True, help="labeled JSONL file ({\"text\", \"label\"} per line)")
    p.add_argument("--output", required=True, help="directory to write the model and metrics to (created)")
    p.add_argument("--base-model", default=DEFAULT_BASE_MODEL,
                   help=f"transformers checkpoint to fine-tune (default: {DEFAULT_BASE_MODEL})")
    p.add_argument("--epochs", type=_positive_int, default=5, help="training epochs (default: 5)")
    p.add_argument("--batch-size", type=_positive_int, default=16, help="batch size (default: 16)")
    p.add_argument("--learning-rate", type=_positive_float, default=None,
                   help=f"transformers learning rate (default: {DEFAULT_TRANSFORMERS_LR}); ignored by baseline")
    p.add_argument("--baseline-learning-rate", type=_positive_float, default=None,
                   help=f"initial SGD step of the baseline (default: {BASELINE_DEFAULTS['learning_rate']})")
    p.add_argument("--test-size", type=_fraction, default=0.2, help="held-out fraction, stratified (default: 0.2)")
    p.add_argument("--max-length", type=_positive_int, default=128, help="max tokens (transformers; default: 128)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="transformers device (default: cuda when available)")
    p.add_argument("--backend", choices=["auto", "transformers", "sklearn", "baseline"], default="auto",
                   help="auto = transformers if torch and transformers are importable, else sklearn if "
                        "scikit-learn is, else baseline (standard library only)")
    p.add_argument("--seed", type=int, default=42, help="seed for the split and training (default: 42)")
    p.add_argument("--labels", type=_labels, default=list(DEFAULT_LABELS),
                   help="comma-separated label set (default: " + ",".join(DEFAULT_LABELS) + ")")
    return p


def choose_backend(requested: str) -> str:
    """`auto` takes the first backend whose libraries import: transformers, sklearn, baseline."""
    if requested != "auto":
        log(f"backend: {requested}")
        return requested
    from .sklearn_backend import import_sklearn
    from .transformers_backend import import_transformers

    reasons = []
    for name, available, load in (("transformers", transformers_available, import_transformers),
                                  ("sklearn", sklearn_available, import_sklearn)):
        if not available():
            reasons.append(f"{name} not installed")
            continue
        try:
            load()
        except UsageError:
            reasons.append(f"{name} installed but failed to import")
            continue
        log(f"backend: {name} (auto: {'; '.join(reasons + [f'{name} is importable'])})")
        return name
    log(f"backend: baseline (auto: {'; '.join(reasons)})")
    return "baseline"


def portable_path(path: str) -> str:
    """A path as recorded in training_args.json: relative paths as given, absolute ones by their base name
    (the file is pushed with the model; a local absolute path means nothing elsewhere and leaks a home)."""
    return os.path.basename(os.path.normpath(path)) if os.path.isabs(path) else os.path.normpath(path)


def train_backend(backend: str):
    if backend == "transformers":
        from .transformers_backend import train_transformers

        return train_transformers
    if backend == "sklearn":
        from .sklearn_backend import train_sklearn

        return train_sklearn
    from .baseline import train_baseline

    return train_baseline


def cmd_train(argv: list[str]) -> int:
    args = build_train_parser().parse_args(argv)
    labels = args.labels
    backend = choose_backend(args.backend)
    if backend == "transformers":  # fail fast, before reading data
        from .transformers_backend import import_transformers

        import_transformers()
    elif backend == "sklearn":
        from .sklearn_backend import import_sklearn

        import_sklearn()

    rows, skipped = load_examples(args.data, labels)
    if len(rows) < MIN_EXAMPLES:
        fail(f"only {len(rows)} valid examples in {args.data} (need at least {MIN_EXAMPLES})")
    present = sorted({l for _, l in rows}, key=labels.index)
    if len(present) < 2:
        fail(f"need examples of at least two labels in {args.data}, found only {present}")
    train_rows, test_rows = stratified_split(rows, labels, args.test_size, args.seed)
    if not test_rows:
        fail("test split is empty; add more examples or raise --test-size")
    counts = dict.fromkeys(labels, 0)
    for _, l in rows:
        counts[l] += 1
    log(f"data: {len(rows)} valid examples, {skipped} lines skipped; "
        + ", ".join(f"{l}={c}" for l, c in counts.items()))
    for l, c in counts.items():
        if c == 0:
            warn(f"label {l!r} has no examples")
    log(f"split: n_train={len(train_rows)} n_test={len(test_rows)} (test_size={args.test_size}, seed={args.seed})")

    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create output directory {args.output}: {exc.strerror or exc}")
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    metrics, extra = train_backend(backend)(args, labels, train_rows, test_rows, args.output)
    elapsed = time.perf_counter() - t0

    out = rounded(metrics)
    out["n_train"] = len(train_rows)
    out["n_test"] = len(test_rows)
    out["backend"] = backend
    write_json(os.path.join(args.output, "metrics.json"), out)
    targs = {
        "backend": backend,
        "base_model": args.base_model if backend == "transformers" else None,
        "data": portable_path(args.data),
        "output": portable_path(args.output),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "test_size": args.test_size,
        "max_length": args.max_length,
        "device": args.device,
        "seed": args.seed,
        "labels": labels,
        "n_valid": len(rows),
        "n_skipped_lines": skipped,
        "n_train": len(train_rows),
        "n_test": len(test_rows),
        **extra,
        "train_time_s": round(elapsed, 3),
        "started_at": started.isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    write_json(os.path.join(args.output, "training_args.json"), targs)
    log(f"saved model to {args.output} (train_time_s={elapsed:.2f})")
    log(f"accuracy={metrics['accuracy']:.4f} f1_macro={metrics['f1_macro']:.4f}")
    log("")
    sys.stdout.write(classification_report(metrics, labels))
    sys.stdout.flush()
    return 0


def cmd_predict(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="train_intent_classifier.py predict",
                                description="Classify texts; prints '<label>\\t<confidence>\\t<text>' per input. "
                                            "Reads one text per line from stdin when no TEXT is given.")
    p.add_argument("--model", required=True, help="model directory written by training")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    args = p.parse_args(argv)
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    clf = load_classifier(args.model)
    for text, (label, conf) in zip(texts, clf.predict(texts)):
        one_line = " ".join(text.split())
        sys.stdout.write(f"{label}\t{conf:.4f}\t{one_line}\n")
    sys.stdout.flush()
    return 0


def cmd_evaluate(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="train_intent_classifier.py evaluate",
                                description="Score a trained model on a labeled JSONL file.")
    p.add_argument("--model", required=True, help="model directory written by training")
    p.add_argument("--data", required=True, help="labeled JSONL file")
    p.add_argument("--json", action="store_true", help="print one JSON object in the metrics.json shape")
    args = p.parse_args(argv)
    clf = load_classifier(args.model)
    labels = list(clf.labels)
    rows, skipped = load_examples(args.data, labels)
    if not rows:
        fail(f"no valid examples in {args.data}")
    preds = [l for l, _ in clf.predict([t for t, _ in rows])]
    metrics = compute_metrics([l for _, l in rows], preds, labels)
    n_train = None
    meta = getattr(clf, "meta", None) or {}
    if "n_train" in meta:
        n_train = meta["n_train"]
    else:
        try:
            with open(os.path.join(args.model, "metrics.json"), encoding="utf-8") as fh:
                n_train = json.load(fh).get("n_train")
        except (OSError, ValueError):
            pass
    out = rounded(metrics)
    out["n_train"] = int(n_train) if n_train is not None else 0
    out["n_test"] = len(rows)
    out["backend"] = backend_of(args.model)
    out["data"] = args.data
    out["n_skipped_lines"] = skipped
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0
    log(f"evaluated {len(rows)} examples from {args.data} ({skipped} lines skipped)")
    log(f"accuracy={metrics['accuracy']:.4f} f1_macro={metrics['f1_macro']:.4f}")
    for l in labels:
        log(f"f1[{l}]={metrics['per_class'][l]['f1']:.4f}")
    log("")
    sys.stdout.write(classification_report(metrics, labels))
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"train": cmd_train, "predict": cmd_predict, "evaluate": cmd_evaluate}
    try:
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
        return cmd_train(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # e.g. `... evaluate | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
