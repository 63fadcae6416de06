#!/usr/bin/env python3
"""Train, evaluate and query the modelship intent classifier.

Usage:
  train_intent_classifier.py [train] --data FILE.jsonl --output DIR [options]
  train_intent_classifier.py predict --model DIR "text" ["text" ...]
  train_intent_classifier.py evaluate --model DIR --data FILE.jsonl [--json]

Input is JSONL, one {"text": ..., "label": ...} object per line. Invalid lines
and unknown labels are reported on stderr with their line numbers and skipped.

Backends:
  transformers  fine-tunes --base-model with Hugging Face transformers (needs
                torch + transformers; imported only when this backend runs).
  baseline      standard library only: multinomial logistic regression on
                TF-IDF word uni/bigrams + character 2-5-grams.
  auto          transformers when torch and transformers are importable,
                otherwise baseline (the choice is printed).

Output directory: config.json, weights (model.json for baseline, whatever
save_pretrained writes for transformers), metrics.json and training_args.json.
Exit status: 0 on success, 2 on bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import math
import os
import platform
import random
import re
import sys
import time
import unicodedata
from operator import mul

DEFAULT_LABELS = [
    "chitchat",
    "theoretical_definition",
    "technical_research",
    "calculator",
    "normative_reference",
]
DEFAULT_BASE_MODEL = "MoritzLaurer/mDeBERTa-v3-base-mnli-xnli"
DEFAULT_TRANSFORMERS_LR = 2e-5
MIN_EXAMPLES = 10
MAX_WARNINGS = 50

BASELINE_FORMAT = "modelship-baseline/1"
BASELINE_ARCHITECTURE = "ModelshipTfidfLogisticRegression"
BASELINE_MODEL_TYPE = "modelship-baseline"
BASELINE_BASE_MODEL = "modelship/tfidf-word-char-logreg"

# Baseline optimiser settings. --learning-rate is ignored by this backend (its
# 2e-5 default is a transformers fine-tuning rate); use --baseline-learning-rate.
BASELINE_DEFAULTS = {
    "learning_rate": 1.0,     # initial SGD step (per example, summed over a mini-batch)
    "l2": 1e-4,               # L2 penalty per example (lambda)
    "label_smoothing": 0.2,   # target = (1 - eps) * one-hot + eps / n_labels
    "min_passes": 24,         # total optimiser passes are max(epochs, min_passes)
    "min_df": 2,              # drop n-grams seen in fewer training texts
    "word_ngrams": [1, 2],
    "char_ngrams": [2, 5],    # within word boundaries (words padded with spaces)
    "word_weight": 0.3,       # share of the (unit) squared norm given to word features
}

TRANSFORMERS_MISSING = ("error: the transformers backend needs torch and transformers "
                        "(pip install torch transformers); use --backend baseline")


class UsageError(Exception):
    """Reported as a single `error: ...` line on stderr, exit status 2."""


def fail(message: str) -> None:
    raise UsageError(message)


def log(message: str = "") -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Data loading
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Metrics and report
# ---------------------------------------------------------------------------

def compute_metrics(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict:
    """accuracy, macro F1 and per-class P/R/F1/support (zero_division=0).
    Macro F1 averages the labels present in y_true or y_pred (like sklearn's
    f1_score without an explicit labels= argument); per_class lists every label."""
    per_class = {}
    for label in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == label and p == label)
        n_pred = sum(1 for p in y_pred if p == label)
        n_true = sum(1 for t in y_true if t == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true}
    seen = set(y_true) | set(y_pred)
    present = [l for l in labels if l in seen] or labels
    n = len(y_true)
    accuracy = sum(1 for t, p in zip(y_true, y_pred) if t == p) / n if n else 0.0
    f1_macro = sum(per_class[l]["f1"] for l in present) / len(present)
    return {"accuracy": accuracy, "f1_macro": f1_macro, "per_class": per_class, "_macro_labels": present}


def rounded(metrics: dict, digits: int = 6) -> dict:
    out = {}
    for k, v in metrics.items():
        if k.startswith("_"):
            continue
        if isinstance(v, float):
            out[k] = round(v, digits)
        elif isinstance(v, dict):
            out[k] = rounded(v, digits)
        else:
            out[k] = v
    return out


def classification_report(metrics: dict, labels: list[str], digits: int = 2) -> str:
    """Text report in scikit-learn's classification_report layout."""
    per = metrics["per_class"]
    headers = ["precision", "recall", "f1-score", "support"]
    width = max(max((len(l) for l in labels), default=0), len("weighted avg"), digits)
    head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
    report = head_fmt.format("", *headers, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for l in labels:
        c = per[l]
        report += row_fmt.format(l, c["precision"], c["recall"], c["f1"], c["support"], width=width, digits=digits)
    report += "\n"
    total = sum(per[l]["support"] for l in labels)
    present = metrics.get("_macro_labels") or labels
    acc_fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
    report += acc_fmt.format("accuracy", "", "", metrics["accuracy"], total, width=width, digits=digits)
    macro = [sum(per[l][k] for l in present) / len(present) for k in ("precision", "recall", "f1")]
    report += row_fmt.format("macro avg", *macro, total, width=width, digits=digits)
    if total:
        weighted = [sum(per[l][k] * per[l]["support"] for l in labels) / total for k in ("precision", "recall", "f1")]
    else:
        weighted = [0.0, 0.0, 0.0]
    report += row_fmt.format("weighted avg", *weighted, total, width=width, digits=digits)
    return report


# ---------------------------------------------------------------------------
# Baseline: TF-IDF features + multinomial logistic regression (stdlib only)
# ---------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_WORD_RE = re.compile(r"[^\W\d_]+|\d+|[%€?+/]")


def normalize_text(text: str) -> str:
    """Lowercase, fold accents, unify apostrophes, collapse digit runs to '0'."""
    t = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).lower())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = re.sub(r"\d+", "0", t)
    return " ".join(t.split())


class Featurizer:
    def __init__(self, word_ngrams=(1, 2), char_ngrams=(2, 5), word_weight=0.3):
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.word_weight = float(word_weight)

    def counts(self, text: str) -> tuple[dict, dict]:
        """Raw n-gram counts: (word group, char group)."""
        norm = normalize_text(text)
        words: dict[str, int] = {}
        toks = _WORD_RE.findall(norm)
        lo, hi = self.word_ngrams
        seq = ["<s>"] + toks + ["</s>"]
        for n in range(lo, hi + 1):
            if n == 1:
                for t in toks:
                    words[t] = words.get(t, 0) + 1
            else:
                for i in range(len(seq) - n + 1):
                    g = " ".join(seq[i:i + n])
                    words[g] = words.get(g, 0) + 1
        chars: dict[str, int] = {}
        clo, chi = self.char_ngrams
        for w in norm.split():
            padded = f" {w} "
            L = len(padded)
            for n in range(clo, chi + 1):
                for i in range(L - n + 1):
                    g = "#" + padded[i:i + n]
                    chars[g] = chars.get(g, 0) + 1
        return words, chars


class Vectorizer:
    """Vocabulary + idf; texts become sparse (indices, values) with sublinear
    tf, smooth idf, and each feature group L2-normalised to its share."""

    def __init__(self, featurizer: Featurizer, vocab: dict[str, int], idf: list[float]):
        self.f = featurizer
        self.vocab = vocab
        self.idf = idf

    @classmethod
    def fit(cls, featurizer: Featurizer, texts: list[str], min_df: int) -> "Vectorizer":
        df: dict[str, int] = {}
        for text in texts:
            words, chars = featurizer.counts(text)
            for g in words:
                df[g] = df.get(g, 0) + 1
            for g in chars:
                df[g] = df.get(g, 0) + 1
        n = len(texts)
        feats = sorted(g for g, c in df.items() if c >= min_df)
        vocab = {g: i for i, g in enumerate(feats)}
        idf = [math.log((1 + n) / (1 + df[g])) + 1.0 for g in feats]
        return cls(featurizer, vocab, idf)

    def transform(self, text: str) -> tuple[list[int], list[float]]:
        idx: list[int] = []
        val: list[float] = []
        vocab, idf = self.vocab, self.idf
        for group, share in zip(self.f.counts(text), (self.f.word_weight, 1.0 - self.f.word_weight)):
            gi, gv = [], []
            for g, c in group.items():
                j = vocab.get(g)
                if j is not None:
                    gi.append(j)
                    gv.append((1.0 + math.log(c)) * idf[j])
            norm = math.sqrt(sum(v * v for v in gv))
            if norm > 0:
                scale = math.sqrt(share) / norm
                idx += gi
                val += [v * scale for v in gv]
        return idx, val


def softmax(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]


class LinearModel:
    def __init__(self, labels: list[str], weights: list[list[float]], bias: list[float]):
        self.labels = labels
        self.W = weights  # W[k][j]
        self.b = bias

    def proba(self, x: tuple[list[int], list[float]]) -> list[float]:
        idx, val = x
        scores = [sum(map(mul, map(Wk.__getitem__, idx), val)) + bk for Wk, bk in zip(self.W, self.b)]
        return softmax(scores)


def train_softmax_sgd(X, y, n_features, n_classes, *, passes_per_epoch, epochs, batch_size, lr0, l2, seed,
                      label_smoothing=0.0, on_epoch=None):
    """Mini-batch SGD on the L2-regularised multinomial logistic loss
    (cross-entropy against label-smoothed targets).

    Gradients are summed over a mini-batch; the step follows
    lr_t = lr0 / (1 + lr0 * l2 * t) (t = examples seen). L2 decay is applied
    with the usual weight-scale trick (W = scale * V) so updates stay sparse.
    """
    rng = random.Random(f"sgd:{seed}")
    V = [[0.0] * n_features for _ in range(n_classes)]
    b = [0.0] * n_classes
    scale = 1.0
    t = 0
    order = list(range(len(X)))
    smooth = label_smoothing / n_classes
    for epoch in range(1, epochs + 1):
        loss_sum = 0.0
        seen = 0
        for _ in range(passes_per_epoch[epoch - 1]):
            rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                lr = lr0 / (1.0 + lr0 * l2 * t)
                grads = []
                for i in batch:
                    idx, val = X[i]
                    scores = [scale * sum(map(mul, map(Vk.__getitem__, idx), val)) + bk for Vk, bk in zip(V, b)]
                    p = softmax(scores)
                    loss_sum -= math.log(max(p[y[i]], 1e-12))
                    if smooth:
                        p = [pk - smooth for pk in p]
                    p[y[i]] -= 1.0 - label_smoothing
                    grads.append((idx, val, p))
                seen += len(batch)
                t += len(batch)
                scale *= (1.0 - lr * l2) ** len(batch)
                step = lr / scale
                for idx, val, g in grads:
                    for k in range(n_classes):
                        gk = g[k]
                        if -1e-5 < gk < 1e-5:
                            continue
                        Vk = V[k]
                        c = step * gk
                        for j, v in zip(idx, val):
                            Vk[j] -= c * v
                        b[k] -= lr * gk
                if scale < 1e-6:
                    for Vk in V:
                        for j in range(n_features):
                            Vk[j] *= scale
                    scale = 1.0
        W = [[scale * w for w in Vk] for Vk in V]
        if on_epoch is not None:
            on_epoch(epoch, loss_sum / max(seen, 1), W, list(b))
    return [[scale * w for w in Vk] for Vk in V], b


class BaselineClassifier:
    """Loaded/serialised form of the baseline model (model.json)."""

    def __init__(self, labels, vectorizer: Vectorizer, model: LinearModel, meta: dict):
        self.labels = labels
        self.vectorizer = vectorizer
        self.model = model
        self.meta = meta

    def predict_proba(self, texts: list[str]) -> list[list[float]]:
        return [self.model.proba(self.vectorizer.transform(t)) for t in texts]

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        out = []
        for p in self.predict_proba(texts):
            k = max(range(len(p)), key=p.__getitem__)
            out.append((self.labels[k], p[k]))
        return out

    def to_json(self) -> dict:
        v = self.vectorizer
        feats = sorted(v.vocab, key=v.vocab.__getitem__)
        K = len(self.labels)
        table = {}
        for g in feats:
            j = v.vocab[g]
            ws = [round(self.model.W[k][j], 5) for k in range(K)]
            if all(w == 0 for w in ws):
                continue
            table[g] = [round(v.idf[j], 4)] + ws
        return {
            "format": BASELINE_FORMAT,
            "labels": self.labels,
            "featurizer": {
                "lowercase": True, "strip_accents": True, "digits": "collapsed to 0",
                "word_ngrams": list(v.f.word_ngrams), "char_ngrams": list(v.f.char_ngrams),
                "char_ngrams_within_words": True, "tf": "sublinear", "idf": "smooth",
                "norm": "l2 per group", "word_weight": v.f.word_weight,
            },
            "meta": self.meta,
            "bias": [round(x, 5) for x in self.model.b],
            "features_layout": "feature -> [idf, weight per label...]",
            "features": table,
        }

    @classmethod
    def from_json(cls, data: dict) -> "BaselineClassifier":
        if data.get("format") != BASELINE_FORMAT:
            fail(f"unsupported baseline model format: {data.get('format')!r}")
        labels = list(data["labels"])
        fz = data["featurizer"]
        featurizer = Featurizer(fz["word_ngrams"], fz["char_ngrams"], fz["word_weight"])
        feats = list(data["features"].items())
        vocab = {g: j for j, (g, _) in enumerate(feats)}
        idf = [row[0] for _, row in feats]
        W = [[row[1 + k] for _, row in feats] for k in range(len(labels))]
        return cls(labels, Vectorizer(featurizer, vocab, idf), LinearModel(labels, W, list(data["bias"])),
                   data.get("meta", {}))


def passes_schedule(epochs: int, min_passes: int) -> list[int]:
    """Spread max(epochs, min_passes) optimiser passes over `epochs` epochs."""
    total = max(epochs, min_passes)
    base, extra = divmod(total, epochs)
    return [base + (1 if e < extra else 0) for e in range(epochs)]


def train_baseline(args, labels, train_rows, test_rows, out_dir) -> tuple[dict, dict]:
    cfg = dict(BASELINE_DEFAULTS)
    if args.baseline_learning_rate is not None:
        cfg["learning_rate"] = args.baseline_learning_rate
    featurizer = Featurizer(cfg["word_ngrams"], cfg["char_ngrams"], cfg["word_weight"])
    vec = Vectorizer.fit(featurizer, [t for t, _ in train_rows], cfg["min_df"])
    X = [vec.transform(t) for t, _ in train_rows]
    y = [labels.index(l) for _, l in train_rows]
    X_test = [vec.transform(t) for t, _ in test_rows]
    y_test = [l for _, l in test_rows]
    K = len(labels)
    schedule = passes_schedule(args.epochs, cfg["min_passes"])
    log(f"baseline: {len(vec.vocab)} features, {sum(schedule)} SGD passes over {len(X)} examples "
        f"(lr={cfg['learning_rate']}, l2={cfg['l2']}, batch_size={args.batch_size})")

    def on_epoch(epoch, loss, W, b):
        m = LinearModel(labels, W, b)
        correct = 0
        eval_loss = 0.0
        for x, gold in zip(X_test, y_test):
            p = m.proba(x)
            k = max(range(K), key=p.__getitem__)
            correct += labels[k] == gold
            eval_loss -= math.log(max(p[labels.index(gold)], 1e-12))
        n = max(len(X_test), 1)
        log(f"epoch {epoch}/{args.epochs} loss={loss:.4f} eval_loss={eval_loss / n:.4f} "
            f"eval_accuracy={correct / n:.4f}")

    W, b = train_softmax_sgd(X, y, len(vec.vocab), K, passes_per_epoch=schedule, epochs=args.epochs,
                             batch_size=args.batch_size, lr0=cfg["learning_rate"], l2=cfg["l2"],
                             label_smoothing=cfg["label_smoothing"], seed=args.seed, on_epoch=on_epoch)
    meta = {"n_train": len(train_rows), "n_test": len(test_rows), "seed": args.seed,
            "epochs": args.epochs, "passes": sum(schedule), "learning_rate": cfg["learning_rate"],
            "l2": cfg["l2"], "label_smoothing": cfg["label_smoothing"], "min_df": cfg["min_df"],
            "batch_size": args.batch_size}
    clf = BaselineClassifier(labels, vec, LinearModel(labels, W, b), meta)
    data = clf.to_json()
    write_json(os.path.join(out_dir, "model.json"), data, compact=True)
    # Score the test split with the model exactly as saved (rounded weights).
    saved = BaselineClassifier.from_json(data)
    preds = [l for l, _ in saved.predict([t for t, _ in test_rows])]
    config = {
        "architectures": [BASELINE_ARCHITECTURE],
        "model_type": BASELINE_MODEL_TYPE,
        "base_model": BASELINE_BASE_MODEL,
        "backend": "baseline",
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "label2id": {l: i for i, l in enumerate(labels)},
        "num_labels": K,
        "weights_file": "model.json",
    }
    write_json(os.path.join(out_dir, "config.json"), config)
    return compute_metrics(y_test, preds, labels), {"baseline": {**cfg, "passes": sum(schedule),
                                                                  "n_features": len(vec.vocab)}}


# ---------------------------------------------------------------------------
# Transformers backend (torch/transformers imported only here)
# ---------------------------------------------------------------------------

def transformers_available() -> bool:
    try:
        return (importlib.util.find_spec("torch") is not None
                and importlib.util.find_spec("transformers") is not None)
    except (ImportError, ValueError):
        return False


def _import_transformers():
    if not transformers_available():
        fail(TRANSFORMERS_MISSING[len("error: "):])
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except Exception:  # broken installs raise all sorts of things
        fail(TRANSFORMERS_MISSING[len("error: "):])
    return torch, transformers


def train_transformers(args, labels, train_rows, test_rows, out_dir) -> tuple[dict, dict]:
    import inspect
    import shutil

    torch, tf = _import_transformers()
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda requested but CUDA is not available")
    label2id = {l: i for i, l in enumerate(labels)}
    id2label = {i: l for i, l in enumerate(labels)}
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(args.base_model)
        # The head is re-initialised for our labels (the NLI checkpoint has 3).
        model = tf.AutoModelForSequenceClassification.from_pretrained(
            args.base_model, num_labels=len(labels), id2label=id2label, label2id=label2id,
            ignore_mismatched_sizes=True)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        fail(f"cannot load base model {args.base_model}: {first}")

    class Rows(torch.utils.data.Dataset):
        def __init__(self, rows):
            self.enc = tokenizer([t for t, _ in rows], truncation=True, max_length=args.max_length)
            self.y = [label2id[l] for _, l in rows]

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            item = {k: v[i] for k, v in self.enc.items()}
            item["labels"] = self.y[i]
            return item

    train_ds, test_ds = Rows(train_rows), Rows(test_rows)
    lr = args.learning_rate if args.learning_rate is not None else DEFAULT_TRANSFORMERS_LR
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    params = inspect.signature(tf.TrainingArguments.__init__).parameters
    kw = dict(output_dir=ckpt_dir, num_train_epochs=args.epochs, learning_rate=lr,
              per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
              weight_decay=0.01, save_strategy="epoch", logging_strategy="epoch", save_total_limit=2,
              load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
              seed=args.seed, report_to=[])
    kw["eval_strategy" if "eval_strategy" in params else "evaluation_strategy"] = "epoch"
    if args.device == "cpu":
        kw["use_cpu" if "use_cpu" in params else "no_cuda"] = True

    def compute(eval_pred):
        logits, gold = eval_pred
        pred = logits.argmax(-1)
        return {"accuracy": float((pred == gold).mean())}

    class Progress(tf.TrainerCallback):
        def on_evaluate(self, targs, state, control, metrics=None, **kw_):
            losses = [h["loss"] for h in state.log_history if "loss" in h]
            m = metrics or {}
            log(f"epoch {int(round(state.epoch or 0))}/{args.epochs} "
                f"loss={losses[-1] if losses else float('nan'):.4f} "
                f"eval_loss={m.get('eval_loss', float('nan')):.4f} "
                f"eval_accuracy={m.get('eval_accuracy', float('nan')):.4f}")

    trainer = tf.Trainer(model=model, args=tf.TrainingArguments(**kw), train_dataset=train_ds,
                         eval_dataset=test_ds, data_collator=tf.DataCollatorWithPadding(tokenizer),
                         compute_metrics=compute, callbacks=[Progress()])
    trainer.train()  # best checkpoint (lowest eval loss) is reloaded at the end
    logits = trainer.predict(test_ds).predictions
    preds = [id2label[int(i)] for i in logits.argmax(-1)]
    trainer.save_model(out_dir)
    tokenizer.save_pretrained(out_dir)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    cfg_path = os.path.join(out_dir, "config.json")
    with open(cfg_path, encoding="utf-8") as fh:
        config = json.load(fh)
    config["base_model"] = args.base_model
    config["backend"] = "transformers"
    write_json(cfg_path, config)
    return compute_metrics([l for _, l in test_rows], preds, labels), {"learning_rate_used": lr}


class TransformersClassifier:
    def __init__(self, model_dir: str, device: str | None = None):
        self.torch, tf = _import_transformers()
        try:
            self.tokenizer = tf.AutoTokenizer.from_pretrained(model_dir)
            self.model = tf.AutoModelForSequenceClassification.from_pretrained(model_dir)
        except (OSError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(f"cannot load transformers model from {model_dir}: {first}")
        self.max_length = 512
        try:
            with open(os.path.join(model_dir, "training_args.json"), encoding="utf-8") as fh:
                self.max_length = int(json.load(fh).get("max_length") or 512)
        except (OSError, ValueError, TypeError):
            pass
        self.device = device or ("cuda" if self.torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        cfg = self.model.config.id2label
        self.labels = [cfg[i] for i in range(len(cfg))]

    def predict(self, texts: list[str], batch_size: int = 32) -> list[tuple[str, float]]:
        out = []
        for s in range(0, len(texts), batch_size):
            enc = self.tokenizer(texts[s:s + batch_size], truncation=True, max_length=self.max_length, padding=True,
                                 return_tensors="pt").to(self.device)
            with self.torch.no_grad():
                probs = self.torch.softmax(self.model(**enc).logits, dim=-1)
            conf, idx = probs.max(dim=-1)
            out += [(self.labels[int(i)], float(c)) for c, i in zip(conf, idx)]
        return out


def load_classifier(model_dir: str):
    if not os.path.isdir(model_dir):
        fail(f"model directory not found: {model_dir}")
    weights = os.path.join(model_dir, "model.json")
    if os.path.isfile(weights):
        try:
            with open(weights, encoding="utf-8") as fh:
                data = json.load(fh)
            return BaselineClassifier.from_json(data)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            fail(f"cannot load baseline model {weights}: {exc}")
    if os.path.isfile(os.path.join(model_dir, "config.json")):
        return TransformersClassifier(model_dir)
    fail(f"no model found in {model_dir} (expected model.json or a transformers config.json)")


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

def write_json(path: str, data, compact: bool = False) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        if compact:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


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
                f"{BASELINE_DEFAULTS['learning_rate']} (override with --baseline-learning-rate); --epochs "
                f"maps to max(epochs, {BASELINE_DEFAULTS['min_passes']}) optimiser passes spread over the "
                "epochs, with one progress line per epoch; --batch-size is the SGD mini-batch; --max-length "
                "and --device apply to transformers only."))
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
    p.add_argument("--backend", choices=["auto", "baseline", "transformers"], default="auto",
                   help="auto = transformers if torch and transformers are importable, else baseline")
    p.add_argument("--seed", type=int, default=42, help="seed for the split and training (default: 42)")
    p.add_argument("--labels", type=_labels, default=list(DEFAULT_LABELS),
                   help="comma-separated label set (default: " + ",".join(DEFAULT_LABELS) + ")")
    return p


def cmd_train(argv: list[str]) -> int:
    args = build_train_parser().parse_args(argv)
    labels = args.labels
    if args.backend == "auto":
        backend = "baseline"
        why = "torch/transformers not installed"
        if transformers_available():
            try:
                _import_transformers()
                backend, why = "transformers", "torch and transformers are importable"
            except UsageError:
                why = "torch/transformers installed but failed to import"
        log(f"backend: {backend} (auto: {why})")
    else:
        backend = args.backend
        log(f"backend: {backend}")
    if backend == "transformers":
        _import_transformers()  # fail fast, before reading data

    rows, skipped = load_examples(args.data, labels)
    if len(rows) < MIN_EXAMPLES:
        fail(f"only {len(rows)} valid examples in {args.data} (need at least {MIN_EXAMPLES})")
    present = sorted({l for _, l in rows}, key=labels.index)
    if len(present) < 2:
        fail(f"need examples of at least two labels in {args.data}, found only {present}")
    train_rows, test_rows = stratified_split(rows, labels, args.test_size, args.seed)
    if not test_rows:
        fail("test split is empty; add more examples or raise --test-size")
    counts = {l: sum(1 for _, x in rows if x == l) for l in labels}
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
    if backend == "transformers":
        metrics, extra = train_transformers(args, labels, train_rows, test_rows, args.output)
    else:
        metrics, extra = train_baseline(args, labels, train_rows, test_rows, args.output)
    elapsed = time.perf_counter() - t0

    out = rounded(metrics)
    out["n_train"] = len(train_rows)
    out["n_test"] = len(test_rows)
    out["backend"] = backend
    write_json(os.path.join(args.output, "metrics.json"), out)
    targs = {
        "backend": backend,
        "data": args.data,
        "output": args.output,
        "base_model": args.base_model if backend == "transformers" else BASELINE_BASE_MODEL,
        "requested_base_model": args.base_model,
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
    out["backend"] = "baseline" if isinstance(clf, BaselineClassifier) else "transformers"
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


if __name__ == "__main__":
    sys.exit(main())
