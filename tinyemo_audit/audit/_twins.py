"""Counterfactual image probes over twin sets: flip rates, directional label shifts, KL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.dataset import Dataset, TwinSet
from ..metrics import flip_rate, label_distribution_kl, paired_shift
from ..model.classifier import Predictions, predict
from ._groups import stat


@dataclass
class TwinPredictions:
    """A twin set and what the bundle says of every (identity, value) image."""

    twins: TwinSet
    similarities: np.ndarray  # [n_id, n_val, K]
    probabilities: np.ndarray  # [n_id, n_val, K]
    predicted: np.ndarray  # [n_id, n_val]


def twin_dataset(twins: TwinSet) -> Dataset:
    """A twin set flattened identity-major (row i * n_values + j is identity i at value j)."""
    n_id, n_val = twins.images.shape[:2]
    return Dataset(
        name=f"twins:{twins.attribute}",
        split="twins",
        classes=twins.classes,
        labels=np.repeat(twins.labels, n_val),
        ids=np.asarray([f"{i}:{v}" for i in twins.ids for v in twins.values]),
        attributes=pd.DataFrame(index=pd.RangeIndex(n_id * n_val)),
        images=twins.images.reshape(n_id * n_val, *twins.images.shape[2:]),
    )


def predict_twins(bundle, twins: TwinSet, *, progress: bool = True) -> TwinPredictions:
    """Run the bundle over every image of a twin set (features cached like any dataset)."""
    n_id, n_val = twins.images.shape[:2]
    preds: Predictions = predict(bundle, twin_dataset(twins), progress=progress)
    k = len(twins.classes)
    return TwinPredictions(
        twins=twins,
        similarities=preds.similarities.reshape(n_id, n_val, k),
        probabilities=preds.probabilities.reshape(n_id, n_val, k),
        predicted=preds.predicted.reshape(n_id, n_val),
    )


def counterfactual_probe(
    tp: TwinPredictions, *, reference: str | None, temperature: float, settings: dict, seed: int
) -> dict[str, Any]:
    """Everything the report and the findings need about one attribute's twins."""
    twins = tp.twins
    values = list(twins.values)
    classes = twins.classes
    ref = values.index(reference) if reference in values else 0
    n_boot, n_perm = settings["n_boot"], settings["n_perm_paired"]
    a, b = np.triu_indices(len(values), k=1)
    pairs = {
        f"{values[i]}|{values[j]}": stat(**_flip(tp.predicted[:, i], tp.predicted[:, j], n_boot, seed))
        for i, j in zip(a, b)
    }
    pooled = _flip(tp.predicted[:, a].ravel(), tp.predicted[:, b].ravel(), n_boot, seed)
    k = len(classes)
    transitions, shifts, kl = {}, [], {}
    for j, value in enumerate(values):
        if j == ref:
            continue
        codes = tp.predicted[:, ref] * k + tp.predicted[:, j]
        transitions[f"{values[ref]}|{value}"] = np.bincount(codes, minlength=k * k).reshape(k, k).tolist()
        kl_values = label_distribution_kl(tp.similarities[:, ref], tp.similarities[:, j], temperature=temperature)
        kl[value] = stat(kl_values.mean(), n=len(kl_values))
        for true_class in ("*",) + tuple(classes):
            rows = np.arange(len(twins)) if true_class == "*" else np.flatnonzero(
                twins.labels == classes.index(true_class)
            )
            if len(rows) < 2:
                continue
            res = paired_shift(tp.similarities[rows, ref], tp.similarities[rows, j],
                               n_perm=n_perm, n_boot=n_boot, seed=seed)
            p_ref, p_val = tp.probabilities[rows, ref].mean(axis=0), tp.probabilities[rows, j].mean(axis=0)
            before, after = tp.predicted[rows, ref], tp.predicted[rows, j]
            n_changed = int(np.count_nonzero(before != after))
            for c, label in enumerate(classes):
                shifts.append({
                    "value": value, "reference": values[ref], "true_class": true_class, "label": label,
                    "mean_shift": float(res["mean_shift"][c]), "ci_low": float(res["ci_low"][c]),
                    "ci_high": float(res["ci_high"][c]), "p_value": float(res["p_value"][c]),
                    "prob_shift": float(p_val[c] - p_ref[c]), "n": int(len(rows)),
                    # What people see: the label's mean probability on each side, and how many pairs
                    # change their predicted label at all, onto this label, and off it.
                    "prob_reference": float(p_ref[c]), "prob_value": float(p_val[c]),
                    "n_changed": n_changed,
                    "n_to_label": int(np.count_nonzero((after == c) & (before != c))),
                    "n_from_label": int(np.count_nonzero((before == c) & (after != c))),
                    "test": res["test"],
                    "flaggable": bool(len(rows) >= settings["min_group_size"]),
                })
    return {
        "values": values,
        "reference": values[ref],
        "n_identities": int(len(twins)),
        "flip_rate": stat(**pooled),
        "pairs": pairs,
        "transitions": transitions,
        "shifts": shifts,
        "kl": kl,
    }


def _flip(labels_a, labels_b, n_boot: int, seed: int) -> dict[str, Any]:
    res = flip_rate(labels_a, labels_b, n_boot=n_boot, seed=seed)
    return {"value": res["value"], "ci_low": res["ci_low"], "ci_high": res["ci_high"], "n": res["n"]}


def shift_examples(tp: TwinPredictions, value: str, reference: str, true_class: str, label: str, *, top: int = 3):
    """Twin pairs ranked by how much P(``label``) rose from ``reference`` to ``value`` (largest first).

    Returns ``[(identity row, reference column, value column, probability shift), ...]``. Only pairs
    that moved toward the label are shown when there are any; if none of the ``top`` pairs flips
    its prediction onto the label but some pair does, the largest such flip takes the last place,
    so that the evidence shows a changed decision when there is one.
    """
    twins = tp.twins
    values = list(twins.values)
    i, j = values.index(reference), values.index(value)
    c = twins.classes.index(label)
    rows = np.arange(len(twins)) if true_class == "*" else np.flatnonzero(
        twins.labels == twins.classes.index(true_class)
    )
    shift = tp.probabilities[rows, j, c] - tp.probabilities[rows, i, c]
    order = np.lexsort((rows, -shift))  # ties: by identity, so equal seeds give equal examples
    if (shift > 0).any():
        order = order[shift[order] > 0]
    chosen = list(order[:top])
    flipped = (tp.predicted[rows, j] == c) & (tp.predicted[rows, i] != c)
    if chosen and flipped[order].any() and not flipped[chosen].any():
        chosen[-1] = order[flipped[order]][0]
    return [(int(rows[k]), i, j, float(shift[k])) for k in chosen]
