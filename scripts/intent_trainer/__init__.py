"""modelship's reference intent-classifier trainer (entry point: scripts/train_intent_classifier.py).

Modules: console (messages, usage errors), serialization (atomic JSON), data (JSONL loading, stratified
split), metrics (scores and the text report), features (text normalisation, hashed n-grams), baseline
(stdlib TF-IDF + softmax regression), sklearn_backend, transformers_backend, model_loader, cli.
"""
