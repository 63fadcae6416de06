"""Baseline backend, standard library only: TF-IDF over hashed word and character n-grams, and a multinomial
logistic regression trained with mini-batch SGD.

Speed comes from a few choices: n-grams are integer ids (features.HashedNgrams, which hashes each distinct
word's character n-grams once), not strings in dicts; feature vectors are stored as compact arrays and turned
into lists only for the example being visited; the weights hold two classes per complex number and are read
with one itemgetter call per example (PackedWeights); and the number of optimiser passes shrinks as the data
grows, since what convergence needs is a number of examples seen, not a number of passes (passes_for).
"""

from __future__ import annotations

import math
import os
import random
from array import array
from collections import Counter
from itertools import repeat
from operator import itemgetter, mul

from .console import fail, log
from .features import HASH_FUNCTION, N_IDS, HashedNgrams
from .metrics import compute_metrics
from .serialization import write_json

BASELINE_FORMAT = "modelship-baseline/2"
BASELINE_ARCHITECTURE = "ModelshipTfidfLogisticRegression"
BASELINE_MODEL_TYPE = "modelship-baseline"
MODEL_FILE = "model.json"

# Optimiser settings. --learning-rate is ignored by this backend (its 2e-5 default is a transformers
# fine-tuning rate); use --baseline-learning-rate.
BASELINE_DEFAULTS = {
    "learning_rate": 1.0,        # initial SGD step (per example, summed over a mini-batch)
    "l2": 1e-4,                  # L2 penalty per example (lambda)
    "label_smoothing": 0.2,      # target = (1 - eps) * one-hot + eps / n_labels
    "min_passes": 24,            # passes = max(full_passes, min(min_passes, ceil(examples_seen / n_train)))
    "examples_seen": 40000,      # what SGD needs to converge here, whatever the data size...
    "full_passes": 2,            # ...but never fewer than two passes over the data (see passes_for)
    "min_df": 2,                 # drop n-grams seen in fewer training texts
    "word_ngrams": [1, 2],
    "char_ngrams": [2, 5],       # within word boundaries (words padded with spaces)
    "word_weight": 0.3,          # share of the (unit) squared norm given to word features
}

IDF_DIGITS = 4
WEIGHT_DIGITS = 5


class Vectorizer:
    """Column per kept n-gram id, and its idf; texts become sparse (columns, values) with sublinear tf,
    smooth idf, and each feature group L2-normalised to its share of the unit norm."""

    def __init__(self, ngrams: HashedNgrams, word_weight: float, columns: dict[int, int], idf: list[float]):
        self.ngrams = ngrams
        self.word_weight = float(word_weight)
        self.columns = columns
        self.idf = idf
        self.shares = (math.sqrt(self.word_weight), math.sqrt(1.0 - self.word_weight))

    @classmethod
    def fit_transform(cls, ngrams: HashedNgrams, word_weight: float, texts: list[str],
                      min_df: int) -> tuple["Vectorizer", list[tuple[array, array]]]:
        """Fit on texts and return their compact vectors; each text is hashed once."""
        df = array("I", bytes(4 * N_IDS))
        kept = []  # ids whose document frequency reached min_df (cheaper than scanning all N_IDS counts)
        hashed = []
        for text in texts:
            words, chars = ngrams.ids(text)
            for i in set(words).union(chars):
                d = df[i] + 1
                df[i] = d
                if d == min_df:
                    kept.append(i)
            hashed.append((array("I", words), array("I", chars)))
        kept.sort()
        n = len(texts)
        idf = [round(math.log((1 + n) / (1 + df[i])) + 1.0, IDF_DIGITS) for i in kept]
        del df
        vec = cls(ngrams, word_weight, {i: j for j, i in enumerate(kept)}, idf)
        hashed.reverse()  # consumed from the end, so the id arrays are freed as the vectors are built
        X = []
        while hashed:
            words, chars = hashed.pop()
            cols, vals = vec.vectorize(words.tolist(), chars.tolist())
            X.append((array("i", cols), array("f", vals)))
        return vec, X

    @property
    def n_features(self) -> int:
        return len(self.idf)

    def transform(self, text: str) -> tuple[list[int], list[float]]:
        return self.vectorize(*self.ngrams.ids(text))

    def vectorize(self, word_ids: list[int], char_ids: list[int]) -> tuple[list[int], list[float]]:
        cols: list[int] = []
        vals: list[float] = []
        columns, idf, log_ = self.columns, self.idf, math.log
        for group, share in zip((word_ids, char_ids), self.shares):
            gc: list[int] = []
            gv: list[float] = []
            for i, count in Counter(group).items():
                j = columns.get(i)
                if j is not None:
                    gc.append(j)
                    gv.append(idf[j] if count == 1 else (1.0 + log_(count)) * idf[j])
            norm = math.sqrt(sum(map(mul, gv, gv)))
            if norm > 0:
                scale = share / norm
                cols += gc
                vals += [v * scale for v in gv]
        return cols, vals

    def transform_compact(self, text: str) -> tuple[array, array]:
        """transform() as arrays (8 bytes per non-zero instead of about 40)."""
        cols, vals = self.transform(text)
        return array("i", cols), array("f", vals)


def softmax(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]


class LinearModel:
    """Scores = scale * W x + b (the scale lets training apply L2 decay without touching every weight)."""

    def __init__(self, weights: list[list[float]], bias: list[float], scale: float = 1.0):
        self.W = weights  # W[k][j]
        self.b = bias
        self.scale = scale

    def proba(self, cols, vals) -> list[float]:
        s, get = self.scale, columns_getter(cols)
        return softmax([s * sum(map(mul, get(Wk), vals)) + bk for Wk, bk in zip(self.W, self.b)])


def passes_for(n_train: int, epochs: int, batch_size: int, cfg: dict) -> int:
    """How many passes the optimiser makes over n_train examples: what convergence needs is a number of
    examples seen, not a number of passes, so small data gets up to min_passes passes and large data fewer,
    but at least full_passes. --epochs does not change it (it sets the progress lines, see
    train_softmax_sgd). Measured on the benchmark's 50k rows (40k training examples), held-out accuracy on
    examples/data/heldout.jsonl: one pass 0.913, two 0.925, five 0.922; on 10k rows (five passes) 0.925.
    Tiny data gets more passes if needed to give every epoch a mini-batch."""
    n = max(n_train, 1)
    passes = max(cfg["full_passes"], min(cfg["min_passes"], -(-cfg["examples_seen"] // n)))
    return max(passes, -(-epochs // -(-n // batch_size)))


def columns_getter(cols: list[int]):
    """f(row) -> the tuple (row[j] for j in cols), in one C call (itemgetter, which returns a bare item for
    one column)."""
    if len(cols) > 1:
        return itemgetter(*cols)
    if cols:
        j = cols[0]
        return lambda row: (row[j],)
    return lambda row: ()


def pack_pairs(values: list[float]) -> list[complex]:
    """[a, b, c, d, e] -> [a+bj, c+dj, e+0j]: two classes per complex number (see PackedWeights)."""
    if len(values) % 2:
        values = [*values, 0.0]
    return list(map(complex, values[0::2], values[1::2]))


class PackedWeights:
    """The training weights, two classes per complex number: lane q holds class 2q in its real part and
    class 2q+1 in its imaginary part, for every column.

    Why: the baseline's time is all in visiting (feature, class) pairs. Without numpy, two things make that
    cheaper: the dot products read an example's weights with one itemgetter call per lane and sum them in C;
    and with complex numbers one multiply or subtract does two classes at once, so the update loop does
    three operations per feature instead of five. The result is the same, bit for bit, as with one list of
    floats per class: (a+bj)*v is computed as (a*v - b*0, a*0 + b*v), which is exactly (a*v, b*v) for finite
    numbers, and complex sums and differences are taken per part.
    """

    def __init__(self, n_features: int, n_classes: int):
        self.n_classes = n_classes
        self.lanes = [[0j] * n_features for _ in range((n_classes + 1) // 2)]
        self.update = self._make_update(len(self.lanes))

    def dots(self, get, vals: list[float]) -> list[float]:
        """W x for every class (unscaled, no bias); `get` is columns_getter(x's columns)."""
        out: list[float] = []
        for lane in self.lanes:
            z = sum(map(mul, get(lane), vals))
            out += (z.real, z.imag)
        del out[self.n_classes:]
        return out

    @staticmethod
    def _make_update(n_lanes: int):
        """update(c, cols, vals) does lane[q][j] -= c[q] * v for every lane q and every (j, v) of one example.

        Generated for the number of lanes, like collections.namedtuple generates its classes: one loop over
        the features for all lanes, unrolled, is the fastest way plain Python has to write a sparse update
        (C-level pipelines of map() over list.__setitem__ measured slower here).
        """
        qs = range(n_lanes)
        source = (f"def update(lanes, c, cols, vals):\n"
                  f"    {', '.join(f'L{q}' for q in qs)}, = lanes\n"
                  f"    {', '.join(f'c{q}' for q in qs)}, = c\n"
                  f"    for j, v in zip(cols, vals):\n"
                  + "".join(f"        L{q}[j] -= c{q} * v\n" for q in qs))
        namespace: dict = {}
        exec(source, namespace)  # noqa: S102 - the source is built above from integers only
        return namespace["update"]

    def rescale(self, s: float) -> None:
        for q, lane in enumerate(self.lanes):
            self.lanes[q] = [w * s for w in lane]

    def per_class(self) -> list[list[float]]:
        out = []
        for lane in self.lanes:
            out.append([w.real for w in lane])
            out.append([w.imag for w in lane])
        return out[:self.n_classes]


class PackedModel:
    """The model while it trains: scores = scale * W x + b, W packed (PackedWeights)."""

    def __init__(self, weights: PackedWeights, bias: list[float], scale: float = 1.0):
        self.V = weights
        self.b = bias
        self.scale = scale

    def proba(self, cols, vals) -> list[float]:
        s = self.scale
        return softmax([s * d + bk for d, bk in zip(self.V.dots(columns_getter(cols), vals), self.b)])

    def unpacked(self) -> LinearModel:
        return LinearModel(self.V.per_class(), self.b, self.scale)


def train_softmax_sgd(X, y, n_features, n_classes, *, passes, epochs, batch_size, lr0, l2, seed,
                      label_smoothing=0.0, on_epoch=None) -> LinearModel:
    """Mini-batch SGD on the L2-regularised multinomial logistic loss (cross-entropy against label-smoothed
    targets). X holds compact (columns, values) arrays.

    Gradients are summed over a mini-batch; the step follows lr_t = lr0 / (1 + lr0 * l2 * t) (t = examples
    seen). L2 decay is applied with the weight-scale trick (W = scale * V) so updates stay sparse.
    The passes' mini-batches are split into `epochs` equal runs (an epoch may be part of a pass, or span
    several); after each, on_epoch(epoch, its mean training loss, model) sees the model as it trains (a
    PackedModel: proba()). Needs at least as many mini-batches as epochs (see passes_for).
    """
    exp = math.exp
    V = PackedWeights(n_features, n_classes)
    update, dots = V.update, V.dots
    rng = random.Random(f"sgd:{seed}")
    model = PackedModel(V, [0.0] * n_classes)
    b = model.b
    t = 0
    order = list(range(len(X)))
    smooth = label_smoothing / n_classes
    keep = 1.0 - label_smoothing
    per_pass = max(-(-len(X) // batch_size), 1)
    epoch_ends = [round(e * passes * per_pass / epochs) for e in range(1, epochs + 1)]

    def batches():
        for _ in range(passes):
            rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                yield order[start:start + batch_size]

    epoch, done, loss_sum, seen = 1, 0, 0.0, 0
    for batch in batches():
        lr = lr0 / (1.0 + lr0 * l2 * t)
        grads = []
        s = model.scale
        for i in batch:
            cols_a, vals_a = X[i]
            cols, vals = cols_a.tolist(), vals_a.tolist()
            scores = [s * d + bk for d, bk in zip(dots(columns_getter(cols), vals), b)]
            top = max(scores)
            e = [exp(x - top) for x in scores]
            z = sum(e)
            yi = y[i]
            loss_sum -= math.log(max(e[yi] / z, 1e-12))
            p = [x / z - smooth for x in e]
            p[yi] -= keep
            grads.append((cols, vals, p))
        seen += len(batch)
        t += len(batch)
        model.scale *= (1.0 - lr * l2) ** len(batch)
        step = lr / model.scale
        for cols, vals, g in grads:
            update(V.lanes, pack_pairs([step * gk for gk in g]), cols, vals)
            b[:] = [bk - lr * gk for bk, gk in zip(b, g)]
        if model.scale < 1e-6:
            V.rescale(model.scale)
            model.scale = 1.0
        done += 1
        while epoch <= epochs and done == epoch_ends[epoch - 1]:
            if on_epoch is not None:
                on_epoch(epoch, loss_sum / max(seen, 1), model)
            epoch, loss_sum, seen = epoch + 1, 0.0, 0
    return model.unpacked()


class BaselineClassifier:
    """Loaded/serialised form of the baseline model (model.json)."""

    def __init__(self, labels: list[str], vectorizer: Vectorizer, model: LinearModel, meta: dict):
        self.labels = labels
        self.vectorizer = vectorizer
        self.model = model
        self.meta = meta

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        out = []
        for text in texts:
            p = self.model.proba(*self.vectorizer.transform(text))
            k = max(range(len(p)), key=p.__getitem__)
            out.append((self.labels[k], p[k]))
        return out

    def to_json(self) -> dict:
        """Columns whose weights all round to zero are dropped."""
        v, m = self.vectorizer, self.model
        ids = sorted(v.columns, key=v.columns.__getitem__)
        weights = [[round(m.scale * w, WEIGHT_DIGITS) for w in Wk] for Wk in m.W]
        keep = [j for j, ws in enumerate(zip(*weights)) if any(ws)]
        return {
            "format": BASELINE_FORMAT,
            "labels": self.labels,
            "featurizer": {
                "lowercase": True, "strip_accents": True, "digits": "collapsed to 0",
                "word_ngrams": list(v.ngrams.word_range), "char_ngrams": list(v.ngrams.char_range),
                "char_ngrams_within_words": True, "hashing": HASH_FUNCTION, "tf": "sublinear", "idf": "smooth",
                "norm": "l2 per group", "word_weight": v.word_weight,
            },
            "meta": self.meta,
            "bias": [round(x, WEIGHT_DIGITS) for x in m.b],
            "feature_ids": [ids[j] for j in keep],
            "idf": [v.idf[j] for j in keep],
            "weights": [[Wk[j] for j in keep] for Wk in weights],
        }

    @classmethod
    def from_json(cls, data: dict) -> "BaselineClassifier":
        if data.get("format") != BASELINE_FORMAT:
            fail(f"unsupported baseline model format: {data.get('format')!r} (expected {BASELINE_FORMAT!r}; "
                 "retrain the model with this trainer)")
        fz = data["featurizer"]
        if fz.get("hashing") != HASH_FUNCTION:
            fail(f"unsupported baseline feature hashing: {fz.get('hashing')!r}")
        labels = list(data["labels"])
        ids, idf, weights = data["feature_ids"], data["idf"], data["weights"]
        if len(weights) != len(labels) or any(len(w) != len(ids) for w in weights) or len(idf) != len(ids):
            raise ValueError("feature_ids, idf and weights disagree in length")
        vectorizer = Vectorizer(HashedNgrams(fz["word_ngrams"], fz["char_ngrams"]), fz["word_weight"],
                                {int(i): j for j, i in enumerate(ids)}, [float(x) for x in idf])
        model = LinearModel([[float(w) for w in row] for row in weights], [float(x) for x in data["bias"]])
        return cls(labels, vectorizer, model, data.get("meta", {}))


def train_baseline(args, labels, train_rows, test_rows, out_dir) -> tuple[dict, dict]:
    cfg = dict(BASELINE_DEFAULTS)
    if args.baseline_learning_rate is not None:
        cfg["learning_rate"] = args.baseline_learning_rate
    ngrams = HashedNgrams(cfg["word_ngrams"], cfg["char_ngrams"])
    vec, X = Vectorizer.fit_transform(ngrams, cfg["word_weight"], [t for t, _ in train_rows], cfg["min_df"])
    label_id = {l: k for k, l in enumerate(labels)}
    y = [label_id[l] for _, l in train_rows]
    X_test = [vec.transform_compact(t) for t, _ in test_rows]
    y_test = [label_id[l] for _, l in test_rows]
    K = len(labels)
    passes = passes_for(len(X), args.epochs, args.batch_size, cfg)
    log(f"baseline: {vec.n_features} features, {passes} SGD passes over {len(X)} examples "
        f"(lr={cfg['learning_rate']}, l2={cfg['l2']}, batch_size={args.batch_size})")

    def score(model: LinearModel) -> tuple[list[int], float]:
        preds, loss = [], 0.0
        for (cols, vals), gold in zip(X_test, y_test):
            p = model.proba(cols.tolist(), vals.tolist())
            preds.append(max(range(K), key=p.__getitem__))
            loss -= math.log(max(p[gold], 1e-12))
        return preds, loss

    def on_epoch(epoch, loss, model):
        preds, eval_loss = score(model)
        n = max(len(X_test), 1)
        correct = sum(1 for p, g in zip(preds, y_test) if p == g)
        log(f"epoch {epoch}/{args.epochs} loss={loss:.4f} eval_loss={eval_loss / n:.4f} "
            f"eval_accuracy={correct / n:.4f}")

    model = train_softmax_sgd(X, y, vec.n_features, K, passes=passes, epochs=args.epochs,
                              batch_size=args.batch_size,
                              lr0=cfg["learning_rate"], l2=cfg["l2"], label_smoothing=cfg["label_smoothing"],
                              seed=args.seed, on_epoch=on_epoch)
    del X
    meta = {"n_train": len(train_rows), "n_test": len(test_rows), "seed": args.seed,
            "epochs": args.epochs, "passes": passes, "learning_rate": cfg["learning_rate"],
            "l2": cfg["l2"], "label_smoothing": cfg["label_smoothing"], "min_df": cfg["min_df"],
            "batch_size": args.batch_size}
    data = BaselineClassifier(labels, vec, model, meta).to_json()
    write_json(os.path.join(out_dir, MODEL_FILE), data, compact=True)
    # Score the test split with the weights exactly as saved (rounded; idf is rounded at fit time).
    saved = LinearModel([[round(model.scale * w, WEIGHT_DIGITS) for w in Wk] for Wk in model.W],
                        [round(x, WEIGHT_DIGITS) for x in model.b])
    del data, model
    preds, _ = score(saved)
    config = {
        "architectures": [BASELINE_ARCHITECTURE],
        "model_type": BASELINE_MODEL_TYPE,
        "backend": "baseline",
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "label2id": {l: i for i, l in enumerate(labels)},
        "num_labels": K,
        "weights_file": MODEL_FILE,
    }
    write_json(os.path.join(out_dir, "config.json"), config)
    metrics = compute_metrics([l for _, l in test_rows], [labels[k] for k in preds], labels)
    return metrics, {"baseline": {**cfg, "passes": passes, "n_features": vec.n_features}}
