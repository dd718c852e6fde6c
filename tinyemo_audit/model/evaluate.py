"""Accuracy, per-class accuracy and the confusion matrix of a bundle on a labelled split."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.dataset import UNLABELLED, Dataset
from ..errors import InputError
from .classifier import predict


def evaluation_summary(true: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """The evaluation dict from label indices: ``accuracy, per_class, confusion, labels, n``.

    ``per_class[c]`` is the recall of class c (NaN-free: classes absent from the split get None).
    """
    from sklearn.metrics import confusion_matrix

    k = len(classes)
    confusion = confusion_matrix(true, predicted, labels=np.arange(k))
    support = confusion.sum(axis=1)
    per_class = {
        cls: (float(confusion[i, i] / support[i]) if support[i] else None) for i, cls in enumerate(classes)
    }
    return {
        "accuracy": float((true == predicted).mean()) if len(true) else None,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "labels": list(classes),
        "n": int(len(true)),
    }


def evaluate_bundle(bundle, dataset: Dataset, *, progress: bool = True) -> dict[str, Any]:
    """Evaluate ``bundle`` on ``dataset`` over the dataset's whole taxonomy."""
    if not len(dataset):
        raise InputError(f"{dataset.name} {dataset.split} split is empty")
    if (dataset.labels == UNLABELLED).any():
        raise InputError(f"{dataset.name} {dataset.split} split has unlabelled items; eval needs labels")
    preds = predict(bundle, dataset, progress=progress)
    result = evaluation_summary(dataset.labels, preds.predicted, dataset.classes)
    result.update(model=bundle.name, dataset=dataset.name, split=dataset.split)
    return result


def format_evaluation(result: dict[str, Any]) -> str:
    """Plain-text tables for the terminal."""
    labels = result["labels"]
    width = max(8, *(len(x) for x in labels))
    lines = [
        f"model {result.get('model', '?')} on {result.get('dataset', '?')} [{result.get('split', '?')}]",
        f"accuracy {result['accuracy']:.4f}   n {result['n']}",
        "",
        "per-class accuracy (recall):",
    ]
    support = np.asarray(result["confusion"]).sum(axis=1)
    for cls, n_cls in zip(labels, support):
        value = result["per_class"][cls]
        shown = "   n/a" if value is None else f"{value:.4f}"
        lines.append(f"  {cls:<{width}} {shown}   n {int(n_cls)}")
    lines += ["", "confusion (rows true, columns predicted):"]
    abbrev = [x[:6] for x in labels]
    lines.append(" " * (width + 2) + " ".join(f"{a:>6}" for a in abbrev))
    for cls, row in zip(labels, result["confusion"]):
        lines.append(f"  {cls:<{width}}" + " ".join(f"{v:>6d}" for v in row))
    return "\n".join(lines)
