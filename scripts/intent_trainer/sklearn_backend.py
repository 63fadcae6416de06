"""scikit-learn backend: TF-IDF over word 1-2-grams and in-word character 2-5-grams (the baseline's text
normalisation) and a multinomial logistic regression. numpy, scipy and scikit-learn are imported only when
this backend runs or loads a model.

The model is saved as arrays in model.npz (vocabularies, idf, coefficients), loaded with
allow_pickle=False: a model fetched from a registry is data, never code.
"""

from __future__ import annotations

import importlib.util
import json
import os

from .console import fail, log
from .features import normalize_text
from .metrics import compute_metrics
from .serialization import write_json

SKLEARN_FORMAT = "modelship-sklearn/1"
SKLEARN_ARCHITECTURE = "ModelshipSklearnTfidfLogisticRegression"
SKLEARN_MODEL_TYPE = "modelship-sklearn"
MODEL_FILE = "model.npz"
SKLEARN_MISSING = ("the sklearn backend needs scikit-learn (Debian: apt-get install python3-sklearn, "
                   "then run the trainer with /usr/bin/python3; or pip install scikit-learn)")

SKLEARN_DEFAULTS = {
    "word_ngrams": [1, 2],
    "char_ngrams": [2, 5],        # char_wb: within word boundaries
    "min_df": 2,
    "word_weight": 0.35,          # scale of the (L2-normalised) word block against the char block
    "C": 30.0,                    # inverse L2 strength of the logistic regression
    "max_iter": 3000,
}
TOKEN_PATTERN = r"[^\W\d_]+|\d+|[%€?+/]"


def sklearn_available() -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("numpy", "scipy", "sklearn"))
    except (ImportError, ValueError):
        return False


def import_sklearn():
    if not sklearn_available():
        fail(SKLEARN_MISSING)
    try:
        import numpy
        import scipy.sparse
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except Exception:  # broken installs raise all sorts of things
        fail(SKLEARN_MISSING)
    return numpy, scipy.sparse, TfidfVectorizer, LogisticRegression


def _vectorizers(TfidfVectorizer, cfg: dict, vocabularies=(None, None)):
    word = TfidfVectorizer(preprocessor=normalize_text, token_pattern=TOKEN_PATTERN, sublinear_tf=True,
                           ngram_range=tuple(cfg["word_ngrams"]), min_df=cfg["min_df"], vocabulary=vocabularies[0])
    char = TfidfVectorizer(preprocessor=normalize_text, analyzer="char_wb", sublinear_tf=True,
                           ngram_range=tuple(cfg["char_ngrams"]), min_df=cfg["min_df"], vocabulary=vocabularies[1])
    return word, char


class SklearnClassifier:
    def __init__(self, labels: list[str], cfg: dict, word, char, coef, intercept, meta: dict):
        self.np, self.sparse, _, _ = import_sklearn()
        self.labels = labels
        self.cfg = cfg
        self.word, self.char = word, char
        self.coef, self.intercept = coef, intercept
        self.meta = meta

    def features(self, texts: list[str]):
        w = self.word.transform(texts) * self.cfg["word_weight"]
        return self.sparse.hstack([w, self.char.transform(texts)], format="csr")

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        np = self.np
        scores = self.features(texts) @ self.coef.T + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        best = probs.argmax(axis=1)
        return [(self.labels[int(k)], float(probs[i, k])) for i, k in enumerate(best)]

    def save(self, path: str) -> None:
        np = self.np
        header = {"format": SKLEARN_FORMAT, "labels": self.labels, "featurizer": self.cfg, "meta": self.meta}

        def terms(vec):
            return np.array(sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__), dtype=str)

        tmp = path + ".tmp.npz"
        np.savez_compressed(tmp, header=np.array(json.dumps(header, ensure_ascii=False)),
                            word_terms=terms(self.word), word_idf=self.word.idf_,
                            char_terms=terms(self.char), char_idf=self.char.idf_,
                            coef=self.coef, intercept=self.intercept)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "SklearnClassifier":
        np, _, TfidfVectorizer, _ = import_sklearn()
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            if header.get("format") != SKLEARN_FORMAT:
                fail(f"unsupported sklearn model format in {path}: {header.get('format')!r}")
            arrays = {k: z[k] for k in ("word_terms", "word_idf", "char_terms", "char_idf", "coef", "intercept")}
        cfg = header["featurizer"]
        vocabularies = tuple({str(t): i for i, t in enumerate(arrays[k])} for k in ("word_terms", "char_terms"))
        word, char = _vectorizers(TfidfVectorizer, cfg, vocabularies)
        word.idf_ = arrays["word_idf"]
        char.idf_ = arrays["char_idf"]
        labels = list(header["labels"])
        if arrays["coef"].shape != (len(labels), len(vocabularies[0]) + len(vocabularies[1])):
            raise ValueError("coefficients do not match the labels and vocabularies")
        return cls(labels, cfg, word, char, arrays["coef"], arrays["intercept"], header.get("meta", {}))


def train_sklearn(args, labels, train_rows, test_rows, out_dir) -> tuple[dict, dict]:
    np, sparse, TfidfVectorizer, LogisticRegression = import_sklearn()
    import sklearn

    cfg = dict(SKLEARN_DEFAULTS)
    word, char = _vectorizers(TfidfVectorizer, cfg)
    texts = [t for t, _ in train_rows]
    label_id = {l: k for k, l in enumerate(labels)}
    y = np.array([label_id[l] for _, l in train_rows])
    X = sparse.hstack([word.fit_transform(texts) * cfg["word_weight"], char.fit_transform(texts)], format="csr")
    log(f"sklearn {sklearn.__version__}: {X.shape[1]} features, logistic regression over {X.shape[0]} examples "
        f"(C={cfg['C']})")
    lr = LogisticRegression(C=cfg["C"], max_iter=cfg["max_iter"])
    lr.fit(X, y)
    # Classes absent from the training rows get no coefficients from sklearn: give them a row that never wins.
    coef = np.zeros((len(labels), X.shape[1]))
    intercept = np.full(len(labels), -1e9)
    present = [int(k) for k in lr.classes_]
    if len(present) == 2:  # binary: sklearn keeps one row, for the second class
        coef[present[1]], intercept[present[1]] = lr.coef_[0] / 2, lr.intercept_[0] / 2
        coef[present[0]], intercept[present[0]] = -lr.coef_[0] / 2, -lr.intercept_[0] / 2
    else:
        coef[present], intercept[present] = lr.coef_, lr.intercept_
    iterations = int(np.max(lr.n_iter_))
    meta = {"n_train": len(train_rows), "n_test": len(test_rows), "seed": args.seed, "iterations": iterations,
            "sklearn": sklearn.__version__}
    clf = SklearnClassifier(labels, cfg, word, char, coef, intercept, meta)
    clf.save(os.path.join(out_dir, MODEL_FILE))
    saved = SklearnClassifier.load(os.path.join(out_dir, MODEL_FILE))
    preds = [l for l, _ in saved.predict([t for t, _ in test_rows])]
    accuracy = sum(p == g for p, (_, g) in zip(preds, test_rows)) / max(len(test_rows), 1)
    log(f"fitted in {iterations} iterations; eval_accuracy={accuracy:.4f}")
    config = {
        "architectures": [SKLEARN_ARCHITECTURE],
        "model_type": SKLEARN_MODEL_TYPE,
        "backend": "sklearn",
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "label2id": {l: i for i, l in enumerate(labels)},
        "num_labels": len(labels),
        "weights_file": MODEL_FILE,
    }
    write_json(os.path.join(out_dir, "config.json"), config)
    extra = {"sklearn": {**cfg, "n_features": int(X.shape[1]), "iterations": iterations,
                         "version": sklearn.__version__}}
    return compute_metrics([l for _, l in test_rows], preds, labels), extra
