"""Example thumbnails for findings: twin pairs, misclassified faces, cluster members."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._thumbnails import png_data_uri
from ._twins import shift_examples

MAX_EXAMPLES = 4


def _twin_examples(tp, value, reference, true_class, label) -> list[dict[str, Any]]:
    out = []
    for row, i, j in shift_examples(tp, value, reference, true_class, label, top=3):
        for col in (i, j):
            predicted = tp.twins.classes[int(tp.predicted[row, col])]
            out.append({
                "id": f"{tp.twins.ids[row]}:{tp.twins.values[col]}",
                "label": tp.twins.values[col],
                "caption": f"{tp.twins.values[col]}: predicted {predicted}",
                "image": png_data_uri(tp.twins.images[row, col]),
            })
    return out


def _item_examples(data, preds, rows: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for r in rows[:MAX_EXAMPLES]:
        true = data.classes[int(data.labels[r])] if data.labels[r] >= 0 else "?"
        entry = {
            "id": str(data.ids[r]),
            "label": true,
            "caption": f"true {true}, predicted {data.classes[int(preds.predicted[r])]}",
        }
        if data.images is not None:
            entry["image"] = png_data_uri(data.images[r])
        out.append(entry)
    return out


def _error_rows(data, preds, attr, group, cls, metric) -> np.ndarray:
    in_group = data.attributes[attr].to_numpy(str) == group
    wrong = preds.predicted != data.labels
    if cls is not None:
        c = data.classes.index(cls)
        if metric == "fpr":
            wrong = wrong & (preds.predicted == c)
        elif metric == "tpr":
            wrong = wrong & (data.labels == c)
        else:
            wrong = wrong & ((preds.predicted == c) | (data.labels == c))
    rows = np.flatnonzero(in_group & wrong)
    confidence = preds.probabilities[rows, preds.predicted[rows]]
    return rows[np.argsort(-confidence, kind="stable")]


def attach_examples(findings, *, data, preds, twin_predictions, clusters=None) -> None:
    """Fill each finding's ``examples`` (in place) and drop the private ``_example`` hint."""
    for finding in findings:
        hint = finding.pop("_example", None)
        if hint is None:
            continue
        kind = hint[0]
        if kind == "twins" and hint[1] in twin_predictions:
            _, attr, value, reference, true_class, label = hint
            finding["examples"] = _twin_examples(twin_predictions[attr], value, reference, true_class, label)
        elif kind == "errors" and data.has_labels:
            _, attr, group, cls, metric = hint
            finding["examples"] = _item_examples(data, preds, _error_rows(data, preds, attr, group, cls, metric))
        elif kind == "cluster" and clusters is not None:
            points = clusters["points"]
            members = np.asarray(points["item"])[np.asarray(points["cluster"]) == hint[1]]
            finding["examples"] = _item_examples(data, preds, np.sort(members))
