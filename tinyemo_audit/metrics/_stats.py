"""Closed-form and resampling statistics: Benjamini–Hochberg, Wilson interval, percentile CIs, permutation p, homogeneity test."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats
from scipy.special import gammaln

from tinyemo_audit.errors import InputError
from tinyemo_audit.metrics._bootstrap import permutation_rng
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


# Cochran's rule: the chi-square reference distribution is trusted when every expected count is at least this.
MIN_EXPECTED_COUNT = 5.0
# Most success tables the exact conditional test enumerates before it falls back to permutations.
MAX_EXACT_TABLES = 200_000
TEST_CHI2 = "chi-square"
TEST_EXACT = "exact conditional"
TEST_PERMUTATION = "permutation"


def _pearson_statistic(successes: np.ndarray, trials: np.ndarray, total: float, n: float) -> np.ndarray:
    """Pearson X² of 2×G tables ``successes[..., G]`` with fixed margins (0 when there is no variation)."""
    share = total / n
    if share <= 0.0 or share >= 1.0:
        return np.zeros(successes.shape[:-1])
    expected = trials * share
    return ((successes - expected) ** 2 / (expected * (1.0 - share))).sum(axis=-1)


def _success_tables(trials: np.ndarray, total: int) -> np.ndarray:
    """Every way of spreading ``total`` successes over groups of sizes ``trials`` (rows of shape (G,))."""
    tables = np.zeros((1, 0), dtype=np.int64)
    spent = np.zeros(1, dtype=np.int64)
    capacity_after = np.cumsum(trials[::-1])[::-1]  # room left in this group and every later one
    for g, size in enumerate(trials):
        later = capacity_after[g + 1] if g + 1 < len(trials) else 0
        low = np.maximum(0, total - spent - later)
        high = np.minimum(size, total - spent)
        counts = np.maximum(high - low + 1, 0)
        parent = np.repeat(np.arange(len(spent)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        value = low[parent] + offset
        tables = np.column_stack([tables[parent], value])
        spent = spent[parent] + value
    return tables


def homogeneity_test(successes, trials, *, n_perm: int = 1000, seed: int = 0,
                     max_tables: int = MAX_EXACT_TABLES) -> dict:
    """Do G groups share one success proportion? Pearson chi-square, conditional on the margins.

    The statistic is Pearson's X² of the 2×G table (successes and failures per group). Its
    reference distribution is the permutation null itself (group labels shuffled among the
    rows with fixed group sizes and total successes: successes per group are multivariate
    hypergeometric), taken in the cheapest form that is accurate:

    * ``"chi-square"`` — every expected count is at least 5 (Cochran's rule): the chi-square
      distribution with G − 1 degrees of freedom;
    * ``"exact conditional"`` — otherwise, when at most ``max_tables`` tables share the margins: every one of
      them is enumerated and p is the hypergeometric probability of X² at least the observed one
      (the Freeman–Halton test with the X² ordering);
    * ``"permutation"`` — otherwise ``n_perm`` seeded draws of the permutation null,
      p = (1 + #{X² ≥ observed}) / (1 + n_perm).

    Parameters
    ----------
    successes, trials : array-like of int, shape (G,)
        Successes and trials per group; groups with no trials are left out.
    n_perm : int, default 1000
        Draws for the permutation fallback (0: NaN p-value when it is needed).
    seed : int, default 0
    max_tables : int, default 200000

    Returns
    -------
    dict
        ``statistic, p_value, test, dof``; ``p_value`` is NaN with fewer than two groups.

    Examples
    --------
    >>> result = homogeneity_test([30, 60], [100, 100])
    >>> result["test"], f"{result['p_value']:.2e}"
    ('chi-square', '2.01e-05')
    >>> small = homogeneity_test([0, 4], [20, 20])
    >>> small["test"], round(small["p_value"], 4)  # equals Fisher's exact test for a 2×2 table
    ('exact conditional', 0.106)
    """
    k = np.asarray(successes, dtype=np.int64).ravel()
    m = np.asarray(trials, dtype=np.int64).ravel()
    if k.shape != m.shape or np.any(k < 0) or np.any(k > m):
        raise InputError(BAD_SUCCESSES)
    keep = m > 0
    k, m = k[keep], m[keep]
    dof = len(m) - 1
    if dof < 1:
        return {"statistic": float("nan"), "p_value": float("nan"), "test": TEST_EXACT, "dof": max(dof, 0)}
    n, total = int(m.sum()), int(k.sum())
    observed = float(_pearson_statistic(k.astype(float), m.astype(float), total, n))
    share = total / n
    if share in (0.0, 1.0):  # one table only: nothing varies
        return {"statistic": 0.0, "p_value": 1.0, "test": TEST_EXACT, "dof": dof}
    expected = np.concatenate([m * share, m * (1.0 - share)])
    if expected.min() >= MIN_EXPECTED_COUNT:
        return {"statistic": observed, "p_value": float(stats.chi2.sf(observed, dof)), "test": TEST_CHI2, "dof": dof}
    tol = 1e-9 * max(1.0, observed)
    rare = min(total, n - total)  # X² is symmetric in successes and failures: spread the rarer outcome
    if math.comb(rare + dof, dof) <= max_tables:
        tables = _success_tables(m, rare)
        log_p = (gammaln(m + 1) - gammaln(tables + 1) - gammaln(m - tables + 1)).sum(axis=1) \
            - (gammaln(n + 1) - gammaln(rare + 1) - gammaln(n - rare + 1))
        x2 = _pearson_statistic(tables.astype(float), m.astype(float), rare, n)
        p = float(np.exp(log_p[x2 >= observed - tol]).sum())
        return {"statistic": observed, "p_value": min(1.0, p), "test": TEST_EXACT, "dof": dof}
    if not n_perm:
        return {"statistic": observed, "p_value": float("nan"), "test": TEST_PERMUTATION, "dof": dof}
    draws = permutation_rng(seed).multivariate_hypergeometric(m, rare, size=n_perm)
    x2 = _pearson_statistic(draws.astype(float), m.astype(float), rare, n)
    p = (1.0 + np.count_nonzero(x2 >= observed - tol)) / (1.0 + n_perm)
    return {"statistic": observed, "p_value": float(p), "test": TEST_PERMUTATION, "dof": dof}
