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
  sklearn       scikit-learn: TF-IDF word 1-2-grams + character 2-5-grams and
                a logistic regression (needs numpy, scipy, scikit-learn).
  baseline      standard library only: the same features, hashed, and a
                softmax regression trained with SGD.
  auto          the first importable of transformers, sklearn, baseline (the
                choice is printed).

Output directory: config.json, weights (model.json for baseline, model.npz for
sklearn, whatever save_pretrained writes for transformers), metrics.json and
training_args.json. Exit status: 0 on success, 2 on bad arguments or unusable input.

The code lives in the intent_trainer package beside this file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from intent_trainer.cli import DEFAULT_LABELS, main  # noqa: E402,F401
from intent_trainer.data import load_examples, stratified_split  # noqa: E402,F401
from intent_trainer.features import normalize_text  # noqa: E402,F401
from intent_trainer.metrics import classification_report, compute_metrics  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
