"""Example thumbnails that show a finding's effect: twin pairs whose P(target) moved most, misclassified faces.

Every example carries ``true_label`` and ``predicted_label`` where known, so that the evidence can
be checked without the HTML. Twin examples come in pairs (``side`` reference / changed, ``pair``
0 = largest shift) with ``probability`` of the finding's ``target`` emotion on each side.
Error-cluster and disparity examples are misclassified items, most confident mistakes first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._thumbnails import thumbnail

# The example's own pixels, kept until the bundle's MM-LLM has explained them (tinyemo_audit.reasoning.examples
# removes the key whether or not it explains them, so results.json never holds it).
PIXELS_KEY = "_pixels"
# ... and its protected groups (a dict), which a mitigated bundle's steps read to give its label.
ATTRIBUTES_KEY = "_attributes"
from ._twins import shift_examples

MAX_EXAMPLES = 4
TWIN_PAIRS = 3


def _twin_examples(tp, value, reference, true_class, label) -> list[dict[str, Any]]:
    twins, classes = tp.twins, tp.twins.classes
    c = classes.index(label)
    cells = twins.cell_attributes() if twins.images is not None else None
    out = []
    for pair, (row, i, j, shift) in enumerate(shift_examples(tp, value, reference, true_class, label, top=TWIN_PAIRS)):
        true = classes[int(twins.labels[row])] if twins.labels[row] >= 0 else None
        for side, col in (("reference", i), ("changed", j)):
            predicted = classes[int(tp.predicted[row, col])]
            probability = float(tp.probabilities[row, col, c])
            example = {
                "id": f"{twins.ids[row]}:{twins.values[col]}" if twins.item_ids is None else str(twins.item_ids[row, col]),
                "label": twins.values[col],
                "caption": f"{twins.values[col]}: P({label}) {100 * probability:.1f}%, predicted {predicted}",
                "true_label": true, "predicted_label": predicted,
                "target": label, "probability": probability, "side": side, "pair": pair, "shift": shift,
            }
            if twins.images is not None:  # sets of a predictions file have no pixels to show
                example.update(thumbnail(twins.images[row, col]))
                example[PIXELS_KEY] = twins.images[row, col]
                example[ATTRIBUTES_KEY] = cells.iloc[row * len(twins.values) + col].to_dict()
            out.append(example)
    return out


def _item_examples(data, preds, rows: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for r in rows[:MAX_EXAMPLES]:
        true = data.classes[int(data.labels[r])] if data.labels[r] >= 0 else None
        predicted = preds.classes[int(preds.predicted[r])]
        entry = {
            "id": str(data.ids[r]),
            "label": true if true is not None else "?",
            "caption": f"true {true or '?'}, predicted {predicted}",
            "true_label": true, "predicted_label": predicted,
        }
        if _has_confidence(preds):
            confidence = float(_confidence(preds, np.asarray([r]))[0])
            entry.update(caption=f"true {true or '?'}, predicted {predicted} (P {100 * confidence:.0f}%)",
                         confidence=confidence)
        pixels = data.pixels(int(r))  # held, or read again from its file (features encoded on Ray)
        if pixels is not None:
            entry.update(thumbnail(pixels))
            entry[PIXELS_KEY] = pixels
            entry[ATTRIBUTES_KEY] = data.attributes.iloc[r].to_dict() if data.attributes is not None else {}
        out.append(entry)
    return out


def _has_confidence(preds) -> bool:
    return preds.probabilities is not None or preds.confidence is not None


def _confidence(preds, rows: np.ndarray) -> np.ndarray:
    """Probability of each row's prediction (a streamed audit keeps only that, not every class's)."""
    if preds.confidence is not None:
        return preds.confidence[rows]
    return preds.probabilities[rows, preds.predicted[rows]]


def _most_confident(preds, rows: np.ndarray) -> np.ndarray:
    """``rows`` ordered by the probability of their (wrong) prediction, highest first; ties by row.

    Without probabilities (a predictions file without ``prob_`` columns), in row order.
    """
    if not _has_confidence(preds):
        return np.sort(rows)
    confidence = _confidence(preds, rows)
    return rows[np.lexsort((rows, -confidence))]


def _error_rows(data, preds, attr, group, cls, metric) -> np.ndarray:
    from ._groups import attribute_codes

    values, codes = attribute_codes(data.attributes[attr])  # no string per item in a large store
    in_group = codes == (int(np.flatnonzero(values == group)[0]) if group in values else -1)
    wrong = preds.predicted != data.labels
    if cls is not None:
        c = data.classes.index(cls)
        if metric == "fpr":
            wrong = wrong & (preds.predicted == c)
        elif metric == "tpr":
            wrong = wrong & (data.labels == c)
        else:
            wrong = wrong & ((preds.predicted == c) | (data.labels == c))
    return _most_confident(preds, np.flatnonzero(in_group & wrong))


def _cluster_rows(data, preds, clusters, cluster_id) -> np.ndarray:
    """The cluster's misclassified members (mapped rows only), most confident mistakes first."""
    points = clusters["points"]
    members = np.asarray(points["item"])[np.asarray(points["cluster"]) == cluster_id]
    if not data.has_labels:
        return np.sort(members)
    return _most_confident(preds, members[preds.predicted[members] != data.labels[members]])


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
            finding["examples"] = _item_examples(data, preds, _cluster_rows(data, preds, clusters, hint[1]))
