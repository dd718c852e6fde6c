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


COSINE = "cosine similarity"
PROBABILITY = "probability"
SCORE = "score (the score_ columns)"
PROBABILITY_FLOOR = 1e-12


@dataclass
class TwinPredictions:
    """A twin set and what the model says of every (identity, value) cell.

    ``similarities`` are the scores whose paired shifts are tested: the bundle's cosine similarity
    to each label, or a predictions file's ``score_`` columns, or its probabilities (``score`` says
    which). KL between a pair's label distributions comes from the similarities and the bundle's
    temperature, or from the probabilities themselves (``kl_from_probabilities``). Cells a set
    lacks (``twins.has()`` false) hold zeros and are never read.
    """

    twins: TwinSet
    similarities: np.ndarray  # [n_id, n_val, K]
    probabilities: np.ndarray  # [n_id, n_val, K]
    predicted: np.ndarray  # [n_id, n_val]
    score: str = COSINE
    kl_from_probabilities: bool = False


def twin_dataset(twins: TwinSet, cells: np.ndarray | None = None) -> Dataset:
    """The cells of a twin set as a Dataset, identity-major (row i * n_values + j is identity i at value j).

    With ``cells`` (a boolean mask over identities × values), only those cells, in the same order.
    """
    n_id, n_val = twins.images.shape[:2]
    names = np.asarray([f"{i}:{v}" for i in twins.ids for v in twins.values])
    images = twins.images.reshape(n_id * n_val, *twins.images.shape[2:])
    labels = np.repeat(twins.labels, n_val)
    attributes = twins.cell_attributes()  # for bundle steps that read them at prediction time
    if cells is not None:
        flat = cells.ravel()
        names, images, labels = names[flat], images[flat], labels[flat]
        attributes = attributes[flat].reset_index(drop=True)
    return Dataset(
        name=f"twins:{twins.attribute}",
        split="twins",
        classes=twins.classes,
        labels=labels,
        ids=names,
        attributes=attributes,
        images=images,
    )


def _scatter(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Per-cell values (one row per present cell) spread over the identities × values grid, zeros elsewhere."""
    grid = np.zeros((*cells.shape, *values.shape[1:]), dtype=values.dtype)
    grid[cells] = values
    return grid


def predict_twins(bundle, twins: TwinSet, *, progress: bool = True) -> TwinPredictions:
    """Run the bundle over every image of a twin set (features cached like any dataset)."""
    cells = twins.has()  # every cell, for rendered twins
    preds: Predictions = predict(bundle, twin_dataset(twins, cells), progress=progress)
    return TwinPredictions(twins=twins, similarities=_scatter(preds.similarities, cells),
                           probabilities=_scatter(preds.probabilities, cells), predicted=_scatter(preds.predicted, cells))


def item_twins(twins: TwinSet, preds: Predictions, ids: np.ndarray, *, score: str = COSINE) -> TwinPredictions:
    """Twin predictions of sets whose cells are audited items (``twins.item_ids``), read from ``preds``.

    ``ids`` are the audited items' ids, in the order of ``preds``' rows; ``score`` names what
    ``preds.similarities`` are. Scores other than a bundle's cosine similarities carry no
    temperature, so the KL then comes from the probabilities.
    """
    cells = twins.has()
    row = pd.Series(np.arange(len(ids)), index=np.asarray(ids, dtype=str))
    rows = row.loc[twins.item_ids[cells]].to_numpy()
    return TwinPredictions(
        twins=twins, similarities=_scatter(preds.similarities[rows], cells),
        probabilities=_scatter(preds.probabilities[rows], cells), predicted=_scatter(preds.predicted[rows], cells),
        score=score, kl_from_probabilities=score != COSINE,
    )


def _kl(tp: TwinPredictions, rows: np.ndarray, ref: int, j: int, temperature: float) -> np.ndarray:
    """Per-pair KL(P_ref ‖ P_value) of the twin pairs ``rows``."""
    if tp.kl_from_probabilities:
        # log P is a logit whose softmax is P itself (temperature 1); a zero probability is floored
        # so that its logarithm stays finite.
        logs = np.log(np.clip(tp.probabilities[rows][:, [ref, j]].astype(np.float64), PROBABILITY_FLOOR, None))
        return label_distribution_kl(logs[:, 0], logs[:, 1], temperature=1.0)
    return label_distribution_kl(tp.similarities[rows, ref], tp.similarities[rows, j], temperature=temperature)


def counterfactual_probe(
    tp: TwinPredictions, *, reference: str | None, temperature: float, settings: dict, seed: int
) -> dict[str, Any]:
    """Everything the report and the findings need about one attribute's twins.

    A comparison of two values uses the identities whose sets have both (every identity, for
    rendered twins).
    """
    twins = tp.twins
    values = list(twins.values)
    classes = twins.classes
    ref = values.index(reference) if reference in values else 0
    n_boot, n_perm = settings["n_boot"], settings["n_perm_paired"]
    has = twins.has()
    a, b = np.triu_indices(len(values), k=1)
    pairs = {}
    for i, j in zip(a, b):
        both = np.flatnonzero(has[:, i] & has[:, j])
        if len(both):
            pairs[f"{values[i]}|{values[j]}"] = stat(**_flip(tp.predicted[both, i], tp.predicted[both, j], n_boot, seed))
    both = has[:, a] & has[:, b]  # identities × value pairs; row-major, as ravel() orders them
    pooled = _flip(tp.predicted[:, a][both], tp.predicted[:, b][both], n_boot, seed)
    k = len(classes)
    transitions, shifts, kl = {}, [], {}
    for j, value in enumerate(values):
        pair_rows = np.flatnonzero(has[:, ref] & has[:, j])
        if j == ref or not len(pair_rows):
            continue
        codes = tp.predicted[pair_rows, ref] * k + tp.predicted[pair_rows, j]
        transitions[f"{values[ref]}|{value}"] = np.bincount(codes, minlength=k * k).reshape(k, k).tolist()
        kl_values = _kl(tp, pair_rows, ref, j, temperature)
        kl[value] = stat(kl_values.mean(), n=len(kl_values))
        for true_class in ("*",) + tuple(classes):
            rows = pair_rows if true_class == "*" else pair_rows[twins.labels[pair_rows] == classes.index(true_class)]
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
        "score": tp.score,
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
    has = twins.has()
    rows = np.flatnonzero(has[:, i] & has[:, j])
    if true_class != "*":
        rows = rows[twins.labels[rows] == twins.classes.index(true_class)]
    shift = tp.probabilities[rows, j, c] - tp.probabilities[rows, i, c]
    order = np.lexsort((rows, -shift))  # ties: by identity, so equal seeds give equal examples
    if (shift > 0).any():
        order = order[shift[order] > 0]
    chosen = list(order[:top])
    flipped = (tp.predicted[rows, j] == c) & (tp.predicted[rows, i] != c)
    if chosen and flipped[order].any() and not flipped[chosen].any():
        chosen[-1] = order[flipped[order]][0]
    return [(int(rows[k]), i, j, float(shift[k])) for k in chosen]
