"""CI coverage: how often the audit's 95 % CI of a group's accuracy contains the pool's true accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..metrics import group_table


def accuracy_coverage(
    true: np.ndarray, predicted: np.ndarray, attributes: pd.DataFrame, *, n: int, n_samples: int,
    n_boot: int, seed: int,
) -> dict[str, Any]:
    """Share of audit samples whose per-group accuracy CI (``group_table``) holds the pool value.

    The test pool is the population: each audit sample draws ``n`` items from it *with
    replacement* (i.i.d. from the pool's distribution), so the pool's per-group accuracy is the
    exact quantity the sample estimates. Every (sample, attribute, group) CI is one trial.

    Parameters
    ----------
    true, predicted : ndarray of int, shape (N,)
        Labels and a model's predictions over the whole pool.
    attributes : DataFrame
        N rows; every column is a protected attribute whose groups are covered.
    n : int
        Audit sample size.
    n_samples : int
        Audit samples drawn.
    n_boot : int
        The audit's bootstrap setting (passed on; per-group rates use Wilson intervals).
    seed : int

    Returns
    -------
    dict
        ``coverage``, ``n_intervals``, ``mean_width`` and per-attribute coverage.
    """
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = {a: [] for a in attributes.columns}
    widths = []
    truth = {a: pd.Series(true == predicted).groupby(attributes[a].to_numpy(str)).mean() for a in attributes.columns}
    for s in range(n_samples):
        idx = rng.integers(0, len(true), size=n)
        for attr in attributes.columns:
            groups = attributes[attr].to_numpy(str)[idx]
            table = group_table(true[idx], predicted[idx], groups, classes=np.unique(true), n_boot=n_boot,
                                seed=seed * 100003 + s)
            acc = table[(table["metric"] == "accuracy") & (table["group"] != "*")]
            value = truth[attr].reindex(acc["group"].astype(str)).to_numpy()
            low, high = acc["ci_low"].to_numpy(float), acc["ci_high"].to_numpy(float)
            hits[attr] += list((low <= value) & (value <= high))
            widths += list(high - low)
    every = [h for v in hits.values() for h in v]
    return {
        "n": int(n), "n_samples": int(n_samples), "n_intervals": len(every),
        "coverage": float(np.mean(every)), "mean_width": float(np.mean(widths)),
        "by_attribute": {a: float(np.mean(v)) for a, v in hits.items()},
    }
