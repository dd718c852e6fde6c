"""Dataset-bias measures (Dominguez-Catena et al. 2023): representation (ENS, Simpson, imbalance) and stereotype (V, NMI, U)."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.stats.contingency import crosstab
from sklearn.metrics import mutual_info_score

from tinyemo_audit.errors import InputError
from tinyemo_audit.metrics._checks import MIXED_TYPES, as_labels, same_length


def _group_counts(labels) -> tuple[np.ndarray, np.ndarray]:
    values = as_labels(labels, "labels")
    if len(values) == 0:
        raise InputError("labels is empty")
    try:
        return np.unique(values, return_counts=True)
    except TypeError as err:
        raise InputError(MIXED_TYPES.format(name="labels", error=err)) from None


def effective_number(labels) -> float:
    """Effective number of species (Hill number of order 1): ENS = exp(−Σ p log p).

    Parameters
    ----------
    labels : array-like of shape (n,)
        Group (or class) label of every item.

    Returns
    -------
    float
        Between 1 (one group) and the number of groups (perfectly balanced).

    Examples
    --------
    >>> effective_number(["a", "b", "c", "d"])
    4.0
    >>> round(effective_number(["a", "a", "a", "b"]), 4)
    1.7548
    """
    _, counts = _group_counts(labels)
    return float(np.exp(stats.entropy(counts)))


def representation(labels) -> dict:
    """Representation summary of one attribute: ENS, Simpson reciprocal, imbalance ratio, counts.

    Parameters
    ----------
    labels : array-like of shape (n,)

    Returns
    -------
    dict
        ``n, n_groups, counts`` (group -> count), ``shares``, ``ens`` (exp entropy),
        ``simpson_reciprocal`` (1 / Σ p²), ``imbalance_ratio`` (max count / min count over
        groups that occur).

    Examples
    --------
    >>> summary = representation(["a", "a", "a", "b"])
    >>> summary["counts"], summary["simpson_reciprocal"], summary["imbalance_ratio"]
    ({'a': 3, 'b': 1}, 1.6, 3.0)
    """
    groups, counts = _group_counts(labels)
    return representation_counts(groups, counts)


def representation_counts(groups, counts) -> dict:
    """:func:`representation` from the groups and their counts (every count at least 1).

    Parameters
    ----------
    groups : sequence
        The groups, sorted.
    counts : array-like of int
        Items per group.

    Returns
    -------
    dict
        As :func:`representation`.

    Examples
    --------
    >>> representation_counts(["a", "b"], [3, 1])["imbalance_ratio"]
    3.0
    """
    counts = np.asarray(counts)
    p = counts / counts.sum()
    keys = [g.item() if isinstance(g, np.generic) else g for g in groups]
    return {
        "n": int(counts.sum()),
        "n_groups": len(groups),
        "counts": dict(zip(keys, counts.tolist())),
        "shares": dict(zip(keys, p.tolist())),
        "ens": float(np.exp(stats.entropy(p))),
        "simpson_reciprocal": float(1.0 / np.sum(p**2)),
        "imbalance_ratio": float(counts.max() / counts.min()),
    }


def _table(x, y) -> np.ndarray:
    a = as_labels(x, "x")
    b = as_labels(y, "y")
    same_length(x=a, y=b)
    if len(a) == 0:
        raise InputError("x is empty")
    return crosstab(a, b).count


def cramers_v(x, y, *, bias_correction: bool = True) -> float:
    """Cramér's V between two categorical variables, bias-corrected after Bergsma (2013) by default.

    Parameters
    ----------
    x, y : array-like of shape (n,)
        E.g. protected attribute and emotion label of every item.
    bias_correction : bool, default True
        phi² is shrunk by (r−1)(c−1)/(n−1) (floored at 0) and the table dimensions by
        (r−1)²/(n−1), (c−1)²/(n−1).

    Returns
    -------
    float
        In [0, 1]; NaN when a variable has a single value (no association is defined).

    Examples
    --------
    >>> round(cramers_v(["a", "a", "b", "b"] * 10, ["x", "x", "y", "y"] * 10), 6)
    1.0
    >>> cramers_v(["a", "b"] * 20, ["x", "x", "y", "y"] * 10)
    0.0
    """
    return cramers_v_table(_table(x, y), bias_correction=bias_correction)


def cramers_v_table(table: np.ndarray, *, bias_correction: bool = True) -> float:
    """:func:`cramers_v` from the contingency table of counts (rows and columns that occur).

    Parameters
    ----------
    table : ndarray of int, shape (r, c)
        Counts of every (x, y) pair that occurs.
    bias_correction : bool, default True

    Returns
    -------
    float

    Examples
    --------
    >>> round(cramers_v_table(np.array([[20, 0], [0, 20]])), 6)
    1.0
    """
    table = np.asarray(table)
    n = table.sum()
    r, c = table.shape
    if r < 2 or c < 2:
        return float("nan")
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    phi2 = chi2 / n
    if bias_correction:
        phi2 = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
        r = r - (r - 1) ** 2 / (n - 1)
        c = c - (c - 1) ** 2 / (n - 1)
    denom = min(r - 1, c - 1)
    return float(np.sqrt(phi2 / denom)) if denom > 0 else float("nan")


def _entropy(counts: np.ndarray) -> float:
    return float(stats.entropy(counts.ravel()[counts.ravel() > 0]))


def normalized_mutual_info(x, y) -> float:
    """Normalised mutual information NMI = I(X;Y) / H(X,Y) (joint-entropy normalisation).

    This is *not* scikit-learn's default ``normalized_mutual_info_score`` (which divides by
    the arithmetic mean of H(X) and H(Y)); it follows METRICS.md §F. It lies in [0, 1] and
    equals 1 only when each variable determines the other.

    Parameters
    ----------
    x, y : array-like of shape (n,)

    Returns
    -------
    float
        0.0 when H(X,Y) = 0 (both variables constant: nothing to share).

    Examples
    --------
    >>> normalized_mutual_info(["a", "a", "b", "b"], ["x", "x", "y", "y"])
    1.0
    >>> normalized_mutual_info(["a", "b", "a", "b"], ["x", "x", "y", "y"])
    0.0
    """
    return normalized_mutual_info_table(_table(x, y))


def normalized_mutual_info_table(table: np.ndarray) -> float:
    """:func:`normalized_mutual_info` from the contingency table of counts.

    Parameters
    ----------
    table : ndarray of int, shape (r, c)

    Returns
    -------
    float

    Examples
    --------
    >>> normalized_mutual_info_table(np.array([[2, 0], [0, 2]]))
    1.0
    """
    table = np.asarray(table)
    joint = _entropy(table)
    if joint == 0.0:
        return 0.0
    return float(mutual_info_score(None, None, contingency=table) / joint)


def theils_u(x, y) -> float:
    """Theil's uncertainty coefficient U(X|Y) = I(X;Y) / H(X): the share of H(X) explained by Y.

    Asymmetric: ``theils_u(attribute, label)`` is how much the label tells about the attribute.

    Parameters
    ----------
    x, y : array-like of shape (n,)

    Returns
    -------
    float
        In [0, 1]; 1.0 when X is constant (Y trivially determines it).

    Examples
    --------
    >>> round(theils_u(["a", "a", "b", "b"], ["x", "x", "y", "z"]), 6)
    1.0
    >>> round(theils_u(["x", "x", "y", "z"], ["a", "a", "b", "b"]), 4)
    0.6667
    """
    return theils_u_table(_table(x, y))


def theils_u_table(table: np.ndarray) -> float:
    """:func:`theils_u` from the contingency table of counts (rows: X, columns: Y).

    Parameters
    ----------
    table : ndarray of int, shape (r, c)
        Rows: X, columns: Y.

    Returns
    -------
    float

    Examples
    --------
    >>> theils_u_table(np.array([[2, 0], [0, 2]]))
    1.0
    """
    table = np.asarray(table)
    h_x = _entropy(table.sum(axis=1))
    if h_x == 0.0:
        return 1.0
    return float(mutual_info_score(None, None, contingency=table) / h_x)
