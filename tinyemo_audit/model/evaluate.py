"""Accuracy, per-class accuracy and the confusion matrix of a bundle on a labelled split (its own taxonomy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.dataset import UNLABELLED, Dataset
from ..errors import InputError
from ..user_text import visible
from .classifier import check_chunk_size, predict, predicted_labels
from .steps import has_steps


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


def candidate_embeddings(bundle, classes: tuple[str, ...]) -> np.ndarray:
    """Label embeddings (float32 ``[K, D]``) of ``classes`` as candidates for ``bundle``.

    A numpy view of :meth:`~tinyemo_audit.model.bundle.Bundle.embed_classes`, the one
    implementation the audit and ``eval`` share (stored rows for trained classes, the label space
    with the bundle's template and, if it trained with them, synonyms for any other class set).
    """
    return bundle.embed_classes(tuple(classes)).float().numpy()


def skipped_summary(counts: dict[str, int]) -> str:
    """One line such as ``3 items skipped: 2 missing label, 1 empty file (0 bytes)`` ('' when none)."""
    total = sum(counts.values())
    if not total:
        return ""
    return f"{total} item{'s' if total != 1 else ''} skipped: " + ", ".join(f"{n} {r}" for r, n in counts.items())


def evaluate_bundle(bundle, dataset: Dataset, *, progress: bool = True, chunk_size: int | None = None) -> dict[str, Any]:
    """Evaluate ``bundle`` on ``dataset`` with the dataset's whole taxonomy as the candidate labels.

    Parameters
    ----------
    bundle : Bundle
        A loaded bundle; its projector is reused whatever the dataset's taxonomy.
    dataset : Dataset
        A labelled split; its ``classes`` (also those absent from the split) are the candidates.
    progress : bool
        Progress bar while encoding images.
    chunk_size : int, optional
        A dataset of features is classified this many rows at a time (default 65 536): memory is
        bounded by it, the result does not depend on it.

    Returns
    -------
    dict
        :func:`evaluation_summary` plus ``model``, ``dataset``, ``split``, ``taxonomy`` (the
        matching shipped taxonomy's name, or None), ``n_skipped`` (items loading left out) and
        ``skipped_items`` (:meth:`Dataset.skipped_by_reason`).
    """
    from .joint import match_taxonomy

    if not len(dataset):
        raise InputError(f"{dataset.name} {dataset.split} split is empty")
    if (dataset.labels == UNLABELLED).any():
        raise InputError(f"{dataset.name} {dataset.split} split has unlabelled items; eval needs labels")
    # Both classify through Bundle.embed_classes, exactly as the audit does.
    if dataset.features is not None and not has_steps(bundle):
        predicted = predicted_labels(bundle, dataset.features, dataset.classes, check_chunk_size(chunk_size))
    else:
        predicted = predict(bundle, dataset, progress=progress).predicted
    result = evaluation_summary(dataset.labels, predicted, dataset.classes)
    skipped = dataset.skipped_by_reason()
    result.update(model=bundle.name, dataset=dataset.name, split=dataset.split,
                  taxonomy=match_taxonomy(dataset.classes), n_skipped=sum(skipped.values()), skipped_items=skipped)
    return result


def format_evaluation(result: dict[str, Any]) -> str:
    """Plain-text tables for the terminal."""
    labels = result["labels"]
    width = max(8, *(len(x) for x in labels))
    status = f"   ({result['status']})" if result.get("status") else ""
    lines = [
        f"model {result.get('model', '?')} on {result.get('dataset', '?')} [{result.get('split', '?')}]{status}",
        f"accuracy {result['accuracy']:.4f}   n {result['n']}"
        + (f"   ({skipped_summary(result['skipped_items'])})" if result.get("n_skipped") else ""),
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
    return visible("\n".join(lines))  # labels and dataset names come from the data
