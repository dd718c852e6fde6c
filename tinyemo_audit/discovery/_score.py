"""Per-cluster scores: error rate vs overall, SliceLine score, attribute composition, skew and over-representation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tinyemo_audit.discovery._result import Cluster
from tinyemo_audit.errors import InputError, UsageError

SLICELINE_ALPHA = 0.6
OVER_REPRESENTED_RATIO = 1.5
# Fewer rows than this cannot make a value "over-represented", whatever its share.
MIN_SUPPORT = 10
MISSING_VALUE = "(missing)"
BAD_LENGTH = "{what} has {got} rows, expected {expected} (one per clustered row)"
BAD_ERRORS = "errors must be booleans (or 0/1), got values outside {{0, 1}}"
BAD_MIN_SIZE = "min_size must be a positive integer, got {value!r}"


def sliceline_score(error_rate: np.ndarray, size: np.ndarray, overall_error: float, n_rows: int,
                    alpha: float = SLICELINE_ALPHA) -> np.ndarray:
    """SliceLine score ``α(ē_S/ē − 1) − (1−α)(n/|S| − 1)`` (METRICS.md §G); ē = 0 counts as ratio 1."""
    ratio = error_ratio(error_rate, overall_error)
    return alpha * (ratio - 1.0) - (1.0 - alpha) * (n_rows / size - 1.0)


def error_ratio(error_rate: np.ndarray, overall_error: float) -> np.ndarray:
    """Cluster error rate over the overall one; with no errors anywhere every ratio is 1 (0/0 → 1)."""
    if overall_error == 0:
        return np.ones_like(error_rate, dtype=float)
    return error_rate / overall_error


def _attribute_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = column.astype(object).where(column.notna(), MISSING_VALUE).astype(str)
    codes, uniques = pd.factorize(values, sort=True)
    return codes, np.asarray(uniques, dtype=object)


def _attribute_scores(labels, n_clusters, sizes, attributes: pd.DataFrame) -> list[dict]:
    """Composition, max skew and over-represented values of every cluster (one bincount per attribute)."""
    per_cluster = [{"composition": {}, "max_skew": {}, "over": []} for _ in range(n_clusters)]
    kept = labels >= 0
    for attr in attributes.columns:
        codes, values = _attribute_codes(attributes[attr])
        g = len(values)
        overall = np.bincount(codes, minlength=g) / len(codes)
        counts = np.bincount(labels[kept] * g + codes[kept], minlength=n_clusters * g).reshape(n_clusters, g)
        share = counts / sizes[:, None]
        ratio = share / overall
        with np.errstate(divide="ignore"):
            skew = np.where(counts > 0, np.log(ratio), -np.inf)
        best = skew.argmax(axis=1)
        over = (ratio >= OVER_REPRESENTED_RATIO) & (counts >= MIN_SUPPORT)
        for c in range(n_clusters):
            per_cluster[c]["composition"][str(attr)] = dict(zip(values.tolist(), share[c].tolist()))
            per_cluster[c]["max_skew"][str(attr)] = (str(values[best[c]]), float(skew[c, best[c]]))
            per_cluster[c]["over"] += [(float(ratio[c, j]), f"{attr}={values[j]}") for j in np.flatnonzero(over[c])]
    return per_cluster


def score_clusters(
    cluster_of: np.ndarray,
    *,
    errors: np.ndarray | None = None,
    attributes: pd.DataFrame | None = None,
    min_size: int = 30,
    alpha: float = SLICELINE_ALPHA,
) -> list[Cluster]:
    """Score every cluster against the whole clustered set (noise rows count in the overall figures).

    Parameters
    ----------
    cluster_of : array-like of int, shape (M,)
        Cluster id of each row, 0..C-1; -1 = noise.
    errors : array-like of bool, shape (M,), optional
        True where the row is misclassified; None when unlabelled (error fields become None).
    attributes : pandas.DataFrame, optional
        M rows of protected attributes (any values; missing ones count as ``"(missing)"``).
    min_size : int
        Clusters with at least this many rows are ``flaggable``.
    alpha : float
        SliceLine's weight of the error term.

    Returns
    -------
    list of Cluster
        One per cluster id, without names (see :func:`name_clusters`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> c = score_clusters(np.array([0, 0, 1, 1]), errors=np.array([1, 1, 0, 0]),
    ...                    attributes=pd.DataFrame({"skin": ["dark", "dark", "light", "light"]}), min_size=1)
    >>> c[0].error_ratio, c[0].max_skew["skin"]
    (2.0, ('dark', 0.6931471805599453))
    """
    labels = np.asarray(cluster_of).astype(np.int64)
    m = len(labels)
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise UsageError(BAD_MIN_SIZE.format(value=min_size))
    attributes = pd.DataFrame(index=range(m)) if attributes is None else attributes
    if len(attributes) != m:
        raise InputError(BAD_LENGTH.format(what="attributes", got=len(attributes), expected=m))
    n_clusters = int(labels.max()) + 1 if m and labels.max() >= 0 else 0
    kept = labels >= 0
    sizes = np.bincount(labels[kept], minlength=n_clusters)

    if errors is not None:
        errors = np.asarray(errors)
        if errors.shape != (m,):
            raise InputError(BAD_LENGTH.format(what="errors", got=len(errors), expected=m))
        if not np.isin(errors, (0, 1)).all():
            raise InputError(BAD_ERRORS)
        errors = errors.astype(float)
        overall_error = float(errors.mean()) if m else 0.0
        rates = np.bincount(labels[kept], weights=errors[kept], minlength=n_clusters) / np.maximum(sizes, 1)
        ratios = error_ratio(rates, overall_error)
        scores = sliceline_score(rates, np.maximum(sizes, 1), overall_error, m, alpha)

    attrs = _attribute_scores(labels, n_clusters, np.maximum(sizes, 1), attributes)
    clusters = []
    for c in range(n_clusters):
        over = [name for _, name in sorted(attrs[c]["over"], key=lambda t: (-t[0], t[1]))]
        clusters.append(Cluster(
            id=c,
            size=int(sizes[c]),
            error_rate=None if errors is None else float(rates[c]),
            error_ratio=None if errors is None else float(ratios[c]),
            sliceline_score=None if errors is None else float(scores[c]),
            attribute_composition=attrs[c]["composition"],
            max_skew=attrs[c]["max_skew"],
            over_represented=over,
            flaggable=bool(sizes[c] >= min_size),
        ))
    return clusters
