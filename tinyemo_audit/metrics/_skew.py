"""Retrieval skew of a protected attribute in a ranking: Skew@k, MaxSkew@k (Geyik et al. 2019) and NDKL."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics._checks import as_float_array, as_labels, same_length, sorted_unique

DESIRED_CHOICES = ("uniform", "prevalence")
BAD_K = "k must be an integer between 1 and the number of ranked items ({n}), got {k!r}"
BAD_DESIRED = "desired must be 'uniform', 'prevalence' or a mapping group -> share, got {value!r}"
MISSING_IN_DESIRED = "desired has no share for group(s) {groups}"
BAD_SHARES = "desired shares must be non-negative and sum to 1 (got sum {total:.6g})"


def _ranked_counts(scores, groups, k, desired):
    """Cumulative group counts down the top k, and the desired distribution, over one group axis."""
    scores = as_float_array(scores, "scores")
    groups = as_labels(groups, "groups")
    n = same_length(scores=scores, groups=groups)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise UsageError(BAD_K.format(n=n, k=k))
    present = sorted_unique(groups, "groups")
    if isinstance(desired, Mapping):
        missing = [g for g in present if g not in desired]
        if missing:
            raise InputError(MISSING_IN_DESIRED.format(groups=missing[:5]))
        labels = np.asarray(list(desired.keys()), dtype=object)
        shares = np.asarray(list(desired.values()), dtype=float)
        if (shares < 0).any() or not np.isclose(shares.sum(), 1.0, atol=1e-9):
            raise InputError(BAD_SHARES.format(total=shares.sum()))
    elif isinstance(desired, str) and desired in DESIRED_CHOICES:
        labels = present
        if desired == "uniform":
            shares = np.full(len(labels), 1.0 / len(labels))
        else:
            shares = pd.Index(groups).value_counts().reindex(labels).to_numpy(dtype=float) / n
    else:
        raise UsageError(BAD_DESIRED.format(value=desired))
    # Stable sort on the negated score keeps input order among ties.
    order = np.argsort(-scores, kind="stable")[:k]
    codes = pd.Index(labels).get_indexer(groups[order])
    onehot = np.zeros((k, len(labels)))
    onehot[np.arange(k), codes] = 1.0
    return labels, np.cumsum(onehot, axis=0), shares


def skew_at_k(scores, groups, k: int, *, desired="uniform") -> dict:
    """Skew@k(a) = ln(p_topk(a) / p_desired(a)) for every group (−inf where a is absent from the top k).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Ranking score of each item (e.g. similarity to one emotion label); higher ranks first.
    groups : array-like of shape (n,)
        Protected-attribute value of each item.
    k : int
        Length of the ranking prefix, 1 <= k <= n.
    desired : {"uniform", "prevalence"} or mapping, default "uniform"
        Desired distribution: uniform over the groups present in the ranked set, their
        shares in the ranked set, or explicit shares (must cover every group, sum to 1).

    Returns
    -------
    dict
        group -> skew.

    Examples
    --------
    >>> skew_at_k([0.9, 0.8, 0.7, 0.1], ["a", "a", "b", "b"], 2)
    {'a': 0.6931471805599453, 'b': -inf}
    """
    labels, cumulative, shares = _ranked_counts(scores, groups, k, desired)
    skew = _skews(cumulative[-1], shares, k)
    return {(g.item() if isinstance(g, np.generic) else g): float(v) for g, v in zip(labels, skew)}


def max_skew(scores, groups, k: int, *, desired="uniform") -> float:
    """MaxSkew@k: the largest Skew@k over groups present in the top k.

    A group absent from the top k has p_topk = 0 and cannot be the maximum. A present
    group with desired share 0 gives +inf.

    Parameters
    ----------
    scores, groups, k, desired
        As in :func:`skew_at_k`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(max_skew([0.9, 0.8, 0.7, 0.1], ["a", "a", "b", "b"], 2), 4)
    0.6931
    >>> max_skew([0.9, 0.8, 0.7, 0.1], ["a", "b", "a", "b"], 2)
    0.0
    """
    return max(v for v in skew_at_k(scores, groups, k, desired=desired).values() if v != -np.inf)


def ndkl(scores, groups, k: int, *, desired="uniform") -> float:
    """Normalised discounted KL divergence of the top-i group distributions from the desired one.

    NDKL = (1/Z) Σ_{i=1..k} KL(D_top-i ‖ D*) / log2(i+1), Z = Σ_{i=1..k} 1/log2(i+1),
    KL in nats with 0·log 0 = 0. 0 means every prefix matches the desired distribution.

    Parameters
    ----------
    scores, groups, k, desired
        As in :func:`skew_at_k`.

    Returns
    -------
    float

    Examples
    --------
    >>> ndkl([0.9, 0.8, 0.7, 0.1], ["a", "b", "a", "b"], 4, desired={"a": 0.5, "b": 0.5}) > 0
    True
    >>> round(ndkl([0.9, 0.8, 0.2, 0.1], ["a", "a", "b", "b"], 2), 4)
    0.6931
    """
    _, cumulative, shares = _ranked_counts(scores, groups, k, desired)
    return _ndkl(cumulative, shares, k)


def _skews(top_counts: np.ndarray, shares: np.ndarray, k: int) -> np.ndarray:
    """Skew@k of every group from its count in the top k and its desired share (−inf where absent)."""
    with np.errstate(divide="ignore"):
        skew = np.log(top_counts / k) - np.log(shares)
    return np.where(top_counts == 0, -np.inf, skew)


def _ndkl(cumulative: np.ndarray, shares: np.ndarray, k: int) -> float:
    prefix = cumulative / np.arange(1, k + 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(prefix > 0, prefix * np.log(prefix / shares), 0.0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    return float((terms.sum(axis=1) * discounts).sum() / discounts.sum())


def ranked_skew(top_codes, counts) -> tuple[float, float]:
    """MaxSkew@k and NDKL with ``desired="prevalence"``, from the top k's group codes and the group counts.

    Equal to :func:`max_skew` and :func:`ndkl` on the full ranking, without it: only the top
    ``k = len(top_codes)`` items (their group index into ``counts``, in rank order) and how many
    items each group has.

    Parameters
    ----------
    top_codes : array-like of int, shape (k,)
    counts : array-like of int, shape (G,)
        Items per group in the ranked set (every group at least 1).

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> [round(v, 4) for v in ranked_skew([0, 0], [2, 2])]
    [0.6931, 0.6931]
    """
    top_codes = np.asarray(top_codes, dtype=np.int64)
    counts = np.asarray(counts, dtype=float)
    k = len(top_codes)
    onehot = np.zeros((k, len(counts)))
    onehot[np.arange(k), top_codes] = 1.0
    cumulative = np.cumsum(onehot, axis=0)
    shares = counts / counts.sum()
    skews = _skews(cumulative[-1], shares, k)
    return float(max(v for v in skews if v != -np.inf)), _ndkl(cumulative, shares, k)
