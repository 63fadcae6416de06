"""Find which backend wrote a model directory and load it: model.json (baseline), model.npz (sklearn),
otherwise a transformers config.json."""

from __future__ import annotations

import json
import os

from . import baseline, sklearn_backend
from .console import fail


def backend_of(model_dir: str) -> str:
    if os.path.isfile(os.path.join(model_dir, baseline.MODEL_FILE)):
        return "baseline"
    if os.path.isfile(os.path.join(model_dir, sklearn_backend.MODEL_FILE)):
        return "sklearn"
    if os.path.isfile(os.path.join(model_dir, "config.json")):
        return "transformers"
    fail(f"no model found in {model_dir} (expected {baseline.MODEL_FILE}, {sklearn_backend.MODEL_FILE} "
         "or a transformers config.json)")


def load_classifier(model_dir: str):
    """A classifier with .labels, .meta and .predict(texts) -> [(label, confidence)]."""
    if not os.path.isdir(model_dir):
        fail(f"model directory not found: {model_dir}")
    backend = backend_of(model_dir)
    if backend == "baseline":
        weights = os.path.join(model_dir, baseline.MODEL_FILE)
        try:
            with open(weights, encoding="utf-8") as fh:
                return baseline.BaselineClassifier.from_json(json.load(fh))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            fail(f"cannot load baseline model {weights}: {exc}")
    if backend == "sklearn":
        weights = os.path.join(model_dir, sklearn_backend.MODEL_FILE)
        try:
            return sklearn_backend.SklearnClassifier.load(weights)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            fail(f"cannot load sklearn model {weights}: {exc}")
    from .transformers_backend import TransformersClassifier

    return TransformersClassifier(model_dir)
