"""Group performance and disparities per protected attribute, from tinyemo_audit.metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import cell_counts, disparity_counts, equalized_odds_counts, group_table_counts

RATE_METRICS = ("tpr", "fpr", "selection_rate")


def attribute_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """The groups of one attribute column (sorted text, those that occur) and each row's index among them.

    What ``np.unique(values.to_numpy(str), return_inverse=True)`` gives, without a string per row
    for a categorical column (a feature store's attributes): its categories are sorted instead.
    """
    import pandas as pd

    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        names = np.asarray(series.cat.categories.astype(str).tolist() + ["nan"], dtype=str)
        used = np.flatnonzero(np.bincount(np.where(codes < 0, len(names) - 1, codes), minlength=len(names)))
        groups, inverse = np.unique(names[used], return_inverse=True)
        lookup = np.full(len(names), -1, dtype=np.int64)
        lookup[used] = inverse
        return groups, lookup[np.where(codes < 0, len(names) - 1, codes)]
    groups, codes = np.unique(series.to_numpy(str), return_inverse=True)
    return groups, codes.astype(np.int64)


def _counts(true, predicted, column, n_classes: int):
    groups, codes = attribute_codes(column)
    return cell_counts(true, predicted, codes, groups, n_classes)


def stat(value, ci_low=None, ci_high=None, n=None, **extra) -> dict[str, Any]:
    """A JSON 'stat' object: NaN becomes null."""

    def clean(v):
        if v is None:
            return None
        v = float(v)
        return None if not np.isfinite(v) else v

    out = {"value": clean(value), "ci_low": clean(ci_low), "ci_high": clean(ci_high)}
    if n is not None:
        out["n"] = int(n)
    for key, v in extra.items():
        if isinstance(v, (np.floating, float)):
            v = clean(v)
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.bool_):
            v = bool(v)
        out[key] = v
    return out


def _row_stat(row) -> dict[str, Any]:
    return stat(row.value, row.ci_low, row.ci_high, row.n)


def performance(
    true: np.ndarray, predicted: np.ndarray, attributes, classes: tuple[str, ...], settings: dict, seed: int
) -> dict[str, Any]:
    """Overall and per-group accuracy/TPR/FPR/selection rate with CIs, and confusion matrices."""
    n_classes = len(classes)
    overall_counts = cell_counts(true, predicted, np.zeros(len(true), dtype=np.int64), [0], n_classes)
    overall_table = group_table_counts(overall_counts, n_boot=settings["n_boot"], seed=seed)
    overall = overall_table[overall_table["group"] == "*"]
    acc_row = next(overall[overall["metric"] == "accuracy"].itertuples())
    tpr_rows = overall[overall["metric"] == "tpr"]
    result: dict[str, Any] = {
        "overall": {
            "accuracy": _row_stat(acc_row),
            "per_class": {classes[int(r.cls)]: _row_stat(r) for r in tpr_rows.itertuples()},
            "confusion": overall_counts.cells.sum(axis=0).tolist(),
        },
        "by_attribute": {},
    }
    for attr in attributes.columns:
        counts = _counts(true, predicted, attributes[attr], n_classes)
        table = group_table_counts(counts, n_boot=settings["n_boot"], seed=seed,
                                   min_group_size=settings["min_group_size"])
        per_group: dict[str, Any] = {}
        for i, g in enumerate(counts.groups):
            rows = table[table["group"] == g]
            entry: dict[str, Any] = {"n": int(counts.cells[i].sum())}
            for r in rows.itertuples():
                if r.metric == "accuracy":
                    entry["accuracy"] = _row_stat(r)
                else:
                    entry.setdefault(r.metric, {})[classes[int(r.cls)]] = _row_stat(r)
            entry["confusion"] = counts.cells[i].tolist()
            per_group[str(g)] = entry
        result["by_attribute"][attr] = {"groups": per_group}
    return result


def _disparity_stat(d: dict[str, Any]) -> dict[str, Any]:
    return stat(
        d["value"], d["ci_low"], d["ci_high"], d.get("n"),
        p_value=d["p_value"], worst_group=str(d["worst_group"]) if d["worst_group"] is not None else None,
        best_group=str(d["best_group"]) if d["best_group"] is not None else None,
        flaggable=bool(d.get("flaggable", True)), note=d.get("note") or None,
        by_group={str(g): (None if v is None or not np.isfinite(v) else float(v)) for g, v in d["by_group"].items()},
        trials_by_group={str(g): int(v) for g, v in (d.get("trials_by_group") or {}).items()},
        successes_by_group={str(g): int(v) for g, v in (d.get("successes_by_group") or {}).items()},
        test=d.get("test"),
    )


def disparities(
    true: np.ndarray, predicted: np.ndarray, attributes, classes: tuple[str, ...], settings: dict, seed: int,
    *, progress: bool = True,
) -> dict[str, Any]:
    """accuracy difference/ratio, equalized odds, and TPR/FPR/selection-rate differences per class."""
    import sys

    from tqdm.auto import tqdm

    k = np.arange(len(classes))
    bar = tqdm(total=len(attributes.columns) * (2 + len(RATE_METRICS) * len(k)), desc="bootstrap + permutation",
               unit="test", disable=not progress, file=sys.stderr, leave=False)
    common = dict(n_boot=settings["n_boot"], n_perm=settings["n_perm"], seed=seed,
                  min_group_size=settings["min_group_size"])
    out: dict[str, Any] = {}
    for attr in attributes.columns:
        counts = _counts(true, predicted, attributes[attr], len(classes))
        entry: dict[str, Any] = {
            "accuracy_difference": _disparity_stat(disparity_counts(counts, metric="accuracy", **common)),
            "accuracy_ratio": _disparity_stat(disparity_counts(counts, metric="accuracy", kind="ratio", **common)),
        }
        bar.update(2)
        eo = equalized_odds_counts(counts)
        cls = eo.get("cls")
        entry["equalized_odds_difference"] = {
            "value": None if eo["value"] is None or not np.isfinite(eo["value"]) else float(eo["value"]),
            "cls": None if cls is None else classes[int(cls)],
        }
        for metric in RATE_METRICS:
            entry[f"{metric}_difference"] = {}
            for c in k:
                entry[f"{metric}_difference"][classes[c]] = _disparity_stat(
                    disparity_counts(counts, metric=metric, cls=c, **common)
                )
                bar.update(1)
        out[attr] = entry
    bar.close()
    return out


def prediction_rates(
    predicted: np.ndarray, attributes, classes: tuple[str, ...], settings: dict, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Label-free: how often each group gets each label (selection rate), and its disparities.

    Selection rate needs no ground truth, so these are the group metrics an unlabelled audit
    can still test. Returns (performance-like block, disparities-like block).
    """
    k = np.arange(len(classes))
    common = dict(n_boot=settings["n_boot"], n_perm=settings["n_perm"], seed=seed,
                  min_group_size=settings["min_group_size"])
    performance: dict[str, Any] = {"overall": None, "by_attribute": {}}
    out: dict[str, Any] = {}
    for attr in attributes.columns:
        # y_true is not used by the selection rate; the predictions stand in for it.
        counts = _counts(predicted, predicted, attributes[attr], len(classes))
        table = group_table_counts(counts, n_boot=settings["n_boot"], seed=seed,
                                   min_group_size=settings["min_group_size"])
        rows = table[table["metric"] == "selection_rate"]
        per_group = {}
        for i, g in enumerate(counts.groups):
            sel = rows[rows["group"] == g]
            per_group[str(g)] = {"n": int(counts.cells[i].sum()),
                                 "selection_rate": {classes[int(r.cls)]: _row_stat(r) for r in sel.itertuples()}}
        performance["by_attribute"][attr] = {"groups": per_group}
        out[attr] = {
            "selection_rate_difference": {
                classes[c]: _disparity_stat(disparity_counts(counts, metric="selection_rate", cls=c, **common))
                for c in k
            }
        }
    return performance, out
