"""Closed-form and resampling statistics: Benjamini–Hochberg, Wilson interval, percentile CIs, permutation p."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from tinyemo_audit.errors import InputError
from tinyemo_audit.metrics._checks import check_confidence

BAD_P_VALUES = "p-values must lie in [0, 1]; got values outside at {count} position(s)"
BAD_Q = "q must lie strictly between 0 and 1, got {value!r}"
BAD_SUCCESSES = "successes must satisfy 0 <= successes <= n"


def benjamini_hochberg(p_values, q: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg step-up procedure over every p-value of one audit.

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values (any shape). NaN entries (tests that could not be run) are
        left out of the family: they are never rejected and get a NaN q-value.
    q : float, default 0.05
        Target false-discovery rate.

    Returns
    -------
    reject : numpy.ndarray of bool
        True where the hypothesis is rejected at FDR ``q``; same shape as ``p_values``.
    q_values : numpy.ndarray of float
        BH-adjusted p-values (monotone in p, capped at 1); ``reject == (q_values <= q)``.

    Examples
    --------
    >>> reject, q_values = benjamini_hochberg([0.01, 0.04, 0.03, 0.20], q=0.05)
    >>> reject.tolist()
    [True, False, False, False]
    >>> [round(float(v), 3) for v in q_values]
    [0.04, 0.053, 0.053, 0.2]
    """
    if not 0.0 < float(q) < 1.0:
        raise InputError(BAD_Q.format(value=q))
    p = np.asarray(p_values, dtype=float)
    finite = ~np.isnan(p)
    outside = finite & ((p < 0) | (p > 1))
    if outside.any():
        raise InputError(BAD_P_VALUES.format(count=int(outside.sum())))
    q_values = np.full(p.shape, np.nan)
    if finite.any():
        q_values[finite] = stats.false_discovery_control(p[finite], method="bh")
    reject = np.zeros(p.shape, dtype=bool)
    reject[finite] = q_values[finite] <= q
    return reject, q_values


def wilson_interval(successes, n, confidence: float = 0.95) -> tuple:
    """Wilson score interval for a binomial proportion (no continuity correction).

    Parameters
    ----------
    successes : int or array-like of int
        Number of successes.
    n : int or array-like of int
        Number of trials (broadcast against ``successes``). ``n == 0`` gives NaN ends.
    confidence : float, default 0.95
        Two-sided coverage.

    Returns
    -------
    (low, high) : tuple of float, or of numpy.ndarray when the inputs are arrays

    Examples
    --------
    >>> low, high = wilson_interval(8, 10)
    >>> round(low, 4), round(high, 4)
    (0.4902, 0.9433)
    >>> wilson_interval(0, 20)[0]
    0.0
    """
    confidence = check_confidence(confidence)
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > m) or np.any(np.isnan(k)) or np.any(np.isnan(m)):
        raise InputError(BAD_SUCCESSES)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1.0 + z**2 / m
        centre = (p + z**2 / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / denom
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # The closed form loses the exact end at p = 0 or 1 to rounding; restore it.
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == m, 1.0, high)
    low = np.where(m == 0, np.nan, low)
    high = np.where(m == 0, np.nan, high)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def percentile_interval(replicates: np.ndarray, confidence: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval over ``axis``, ignoring replicates where the statistic is undefined."""
    alpha = (1.0 - confidence) / 2.0
    if replicates.shape[axis] == 0:
        shape = np.delete(np.asarray(replicates.shape), axis)
        return np.full(shape, np.nan), np.full(shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are reported as NaN
        low, high = np.nanquantile(replicates, [alpha, 1.0 - alpha], axis=axis)
    return low, high


def permutation_p_value(observed, permuted: np.ndarray, *, alternative: str = "greater") -> np.ndarray:
    """``(1 + #{as or more extreme}) / (1 + #valid)`` over the first axis of ``permuted``.

    ``alternative`` is ``"greater"`` (large statistics are extreme), ``"less"`` or
    ``"two-sided"`` (compares absolute values). NaN permutation statistics are dropped;
    a NaN observed statistic gives a NaN p-value. A relative tolerance keeps
    permutations that reproduce the observed value up to rounding counted as ties.
    """
    observed = np.asarray(observed, dtype=float)
    permuted = np.asarray(permuted, dtype=float)
    if alternative == "two-sided":
        observed, permuted = np.abs(observed), np.abs(permuted)
    elif alternative == "less":
        observed, permuted = -observed, -permuted
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    valid = ~np.isnan(permuted)
    with np.errstate(invalid="ignore"):
        extreme = (permuted >= observed - tol) & valid
    p = (1.0 + extreme.sum(axis=0)) / (1.0 + valid.sum(axis=0))
    return np.where(np.isnan(observed), np.nan, p)
