"""Accuracy, macro F1, per-class precision/recall/F1/support, the confusion matrix and scikit-learn's text
report layout."""

from __future__ import annotations

from collections import Counter


def compute_metrics(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict:
    """accuracy, macro F1 and per-class P/R/F1/support (zero_division=0).
    Macro F1 averages the labels present in y_true or y_pred (like sklearn's
    f1_score without an explicit labels= argument); per_class lists every label."""
    n_true = Counter(y_true)
    n_pred = Counter(y_pred)
    hits = Counter(t for t, p in zip(y_true, y_pred) if t == p)
    per_class = {}
    for label in labels:
        tp = hits[label]
        precision = tp / n_pred[label] if n_pred[label] else 0.0
        recall = tp / n_true[label] if n_true[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true[label]}
    present = [l for l in labels if n_true[l] or n_pred[l]] or labels
    n = len(y_true)
    accuracy = sum(hits.values()) / n if n else 0.0
    f1_macro = sum(per_class[l]["f1"] for l in present) / len(present)
    return {"accuracy": accuracy, "f1_macro": f1_macro, "per_class": per_class,
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels), "_macro_labels": present}


def confusion_matrix(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict:
    """Counts of (true label, predicted label): `counts[i][j]` examples of `labels[i]` were predicted as
    `labels[j]`. Rows and columns follow the given label order (the model's own, fixed across versions), so
    the counts add up to the number of examples scored; a prediction outside the labels is refused, as it
    would drop out of the matrix unseen."""
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred):
        if t not in index or p not in index:
            raise ValueError(f"label {t if t not in index else p!r} is not one of {labels}")
        counts[index[t]][index[p]] += 1
    return {"labels": list(labels), "counts": counts}


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
