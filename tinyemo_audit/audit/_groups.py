"""Group performance and disparities per protected attribute, from tinyemo_audit.metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import disparity, equalized_odds, group_table

RATE_METRICS = ("tpr", "fpr", "selection_rate")


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


def confusion(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts of (true, predicted) pairs, rows true; every class a row and a column, even with one class."""
    cells = np.bincount(np.asarray(true) * n_classes + np.asarray(predicted), minlength=n_classes * n_classes)
    return cells.reshape(n_classes, n_classes).tolist()


def _row_stat(row) -> dict[str, Any]:
    return stat(row.value, row.ci_low, row.ci_high, row.n)


def performance(
    true: np.ndarray, predicted: np.ndarray, attributes, classes: tuple[str, ...], settings: dict, seed: int
) -> dict[str, Any]:
    """Overall and per-group accuracy/TPR/FPR/selection rate with CIs, and confusion matrices."""
    k = np.arange(len(classes))
    overall_table = group_table(true, predicted, np.zeros(len(true), dtype=int), classes=k,
                                n_boot=settings["n_boot"], seed=seed)
    overall = overall_table[overall_table["group"] == "*"]
    acc_row = next(overall[overall["metric"] == "accuracy"].itertuples())
    tpr_rows = overall[overall["metric"] == "tpr"]
    result: dict[str, Any] = {
        "overall": {
            "accuracy": _row_stat(acc_row),
            "per_class": {classes[int(r.cls)]: _row_stat(r) for r in tpr_rows.itertuples()},
            "confusion": confusion(true, predicted, len(classes)),
        },
        "by_attribute": {},
    }
    for attr in attributes.columns:
        groups = attributes[attr].to_numpy(str)
        table = group_table(true, predicted, groups, classes=k, n_boot=settings["n_boot"], seed=seed,
                            min_group_size=settings["min_group_size"])
        per_group: dict[str, Any] = {}
        for g in sorted(set(groups)):
            rows = table[table["group"] == g]
            mask = groups == g
            entry: dict[str, Any] = {"n": int(mask.sum())}
            for r in rows.itertuples():
                if r.metric == "accuracy":
                    entry["accuracy"] = _row_stat(r)
                else:
                    entry.setdefault(r.metric, {})[classes[int(r.cls)]] = _row_stat(r)
            entry["confusion"] = confusion(true[mask], predicted[mask], len(classes))
            per_group[g] = entry
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
                  min_group_size=settings["min_group_size"], classes=k)
    out: dict[str, Any] = {}
    for attr in attributes.columns:
        groups = attributes[attr].to_numpy(str)
        entry: dict[str, Any] = {
            "accuracy_difference": _disparity_stat(disparity(true, predicted, groups, metric="accuracy", **common)),
            "accuracy_ratio": _disparity_stat(
                disparity(true, predicted, groups, metric="accuracy", kind="ratio", **common)
            ),
        }
        bar.update(2)
        eo = equalized_odds(true, predicted, groups, classes=k)
        cls = eo.get("cls")
        entry["equalized_odds_difference"] = {
            "value": None if eo["value"] is None or not np.isfinite(eo["value"]) else float(eo["value"]),
            "cls": None if cls is None else classes[int(cls)],
        }
        for metric in RATE_METRICS:
            entry[f"{metric}_difference"] = {}
            for c in k:
                entry[f"{metric}_difference"][classes[c]] = _disparity_stat(
                    disparity(true, predicted, groups, metric=metric, cls=c, **common)
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
                  min_group_size=settings["min_group_size"], classes=k)
    performance: dict[str, Any] = {"overall": None, "by_attribute": {}}
    out: dict[str, Any] = {}
    for attr in attributes.columns:
        groups = attributes[attr].to_numpy(str)
        # y_true is not used by the selection rate; the predictions stand in for it.
        table = group_table(predicted, predicted, groups, classes=k, n_boot=settings["n_boot"], seed=seed,
                            min_group_size=settings["min_group_size"])
        rows = table[table["metric"] == "selection_rate"]
        per_group = {}
        for g in sorted(set(groups)):
            sel = rows[rows["group"] == g]
            per_group[g] = {"n": int((groups == g).sum()),
                            "selection_rate": {classes[int(r.cls)]: _row_stat(r) for r in sel.itertuples()}}
        performance["by_attribute"][attr] = {"groups": per_group}
        out[attr] = {
            "selection_rate_difference": {
                classes[c]: _disparity_stat(
                    disparity(predicted, predicted, groups, metric="selection_rate", cls=c, **common)
                )
                for c in k
            }
        }
    return performance, out
