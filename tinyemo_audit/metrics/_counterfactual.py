"""Counterfactual twin statistics: prediction flip rate, paired similarity shift with sign-flip test, label KL."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import log_softmax

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics._bootstrap import bootstrap_rng, permutation_rng, row_bootstrap_weights
from tinyemo_audit.metrics._checks import (
    as_float_array,
    as_labels,
    check_confidence,
    check_count,
    same_length,
)
from tinyemo_audit.metrics._stats import percentile_interval, permutation_p_value

SHAPE_MISMATCH = "x_a and x_b must have the same shape, got {a} and {b}"
# From this many pairs on, the sign-flip null is read from its normal limit (see paired_shift).
NORMAL_MIN_PAIRS = 30
TEST_SIGN_FLIP_NORMAL = "sign-flip, normal approximation"
TEST_SIGN_FLIP_EXACT = "sign-flip, exact"
TEST_SIGN_FLIP_PERMUTATION = "sign-flip, permutations"


def flip_rate(labels_a, labels_b, *, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Share of twin pairs whose predicted labels differ, with a percentile-bootstrap CI.

    Parameters
    ----------
    labels_a, labels_b : array-like of shape (n,)
        Predicted labels of the two members of each twin pair (same order).
    n_boot : int, default 1000
        Bootstrap replicates over pairs (0: NaN CI). The number of flips in a resample
        of pairs is Binomial(n, rate), so it is drawn as such.
    confidence : float, default 0.95
    seed : int, default 0

    Returns
    -------
    dict
        ``value, ci_low, ci_high, n, flips``.

    Examples
    --------
    >>> result = flip_rate(["happy", "sad", "angry", "sad"], ["happy", "angry", "angry", "sad"], n_boot=500)
    >>> result["value"], result["n"], result["flips"]
    (0.25, 4, 1)
    """
    a = as_labels(labels_a, "labels_a")
    b = as_labels(labels_b, "labels_b")
    n = same_length(labels_a=a, labels_b=b)
    n_boot = check_count(n_boot, "n_boot")
    confidence = check_confidence(confidence)
    if n == 0:
        return {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0, "flips": 0}
    flips = int(np.count_nonzero(a != b))
    rate = flips / n
    if n_boot:
        replicates = bootstrap_rng(seed).binomial(n, rate, size=n_boot) / n
        low, high = percentile_interval(replicates, confidence)
    else:
        low = high = np.nan
    return {"value": rate, "ci_low": float(low), "ci_high": float(high), "n": n, "flips": flips}


def _sign_matrix(n: int, n_perm: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """All 2**n sign vectors when there are at most n_perm of them (exact test), else n_perm random ones."""
    if n <= 20 and 2**n <= n_perm:
        codes = np.arange(2**n)[:, None] >> np.arange(n)[None, :]
        return 1.0 - 2.0 * (codes & 1), True
    return rng.choice(np.array([-1.0, 1.0]), size=(n_perm, n)), False


def paired_shift(
    x_a,
    x_b,
    *,
    n_perm: int = 10_000,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    normal_min_pairs: int | None = NORMAL_MIN_PAIRS,
) -> dict:
    """Mean paired shift ``mean(x_b − x_a)`` with a bootstrap CI and a sign-flip test p-value.

    Parameters
    ----------
    x_a, x_b : array-like of shape (n,) or (n, K)
        Paired measurements, e.g. similarity of each twin image to each of K emotion labels
        for attribute values a and b. With 2-D input every column is tested at once.
    n_perm : int, default 10000
        Sign-flip permutations. When ``2**n <= n_perm`` all sign vectors are enumerated
        (exact test, p = share with |T| >= |T_obs|, identity included); otherwise
        p = (1 + #{|T_perm| >= |T_obs|}) / (1 + n_perm). Two-sided. 0: NaN p-value.
    normal_min_pairs : int or None, default 30
        From this many pairs on (None: never) the same sign-flip null is read from its normal
        limit instead: given the |d_i|, T = Σ d_i has mean 0 and variance Σ d_i² under the null,
        so z = Σ d_i / sqrt(Σ d_i²) and p = 2 Φ(−|z|) (no resolution floor; ``test`` says which).
    n_boot : int, default 1000
        Bootstrap replicates over pairs (0: NaN CI). One resample serves every column.
    confidence : float, default 0.95
    seed : int, default 0

    Returns
    -------
    dict
        ``mean_shift`` (also under ``value``), ``ci_low``, ``ci_high``, ``p_value``, ``n``,
        ``exact``, ``test``. Scalars for 1-D input, arrays of shape (K,) for 2-D input.

    Examples
    --------
    >>> result = paired_shift([0.1, 0.2, 0.3, 0.4], [0.3, 0.5, 0.4, 0.6], n_perm=1000, n_boot=500)
    >>> round(result["mean_shift"], 3), result["p_value"], result["exact"]
    (0.2, 0.125, True)
    """
    a = as_float_array(x_a, "x_a", ndim=(1, 2))
    b = as_float_array(x_b, "x_b", ndim=(1, 2))
    if a.shape != b.shape:
        raise InputError(SHAPE_MISMATCH.format(a=a.shape, b=b.shape))
    n_perm = check_count(n_perm, "n_perm")
    n_boot = check_count(n_boot, "n_boot")
    confidence = check_confidence(confidence)
    one_d = a.ndim == 1
    diff = (b - a).reshape(len(a), -1)
    n = len(diff)
    observed = diff.mean(axis=0)

    if n_boot:
        rng = bootstrap_rng(seed)
        replicates = np.concatenate([w @ diff / n for w in row_bootstrap_weights(n, n_boot, rng)])
        ci_low, ci_high = percentile_interval(replicates, confidence)
    else:
        ci_low = ci_high = np.full(observed.shape, np.nan)

    exact = False
    test = TEST_SIGN_FLIP_PERMUTATION
    if n_perm and normal_min_pairs is not None and n >= normal_min_pairs:
        test = TEST_SIGN_FLIP_NORMAL
        spread = np.sqrt((diff**2).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(spread > 0, diff.sum(axis=0) / spread, 0.0)
        p_value = 2.0 * stats.norm.sf(np.abs(z))
    elif n_perm:
        signs, exact = _sign_matrix(n, n_perm, permutation_rng(seed))
        permuted = signs @ diff / n
        if exact:
            test = TEST_SIGN_FLIP_EXACT
            tol = 1e-12 * np.maximum(1.0, np.abs(observed))
            p_value = (np.abs(permuted) >= np.abs(observed) - tol).mean(axis=0)
        else:
            p_value = permutation_p_value(observed, permuted, alternative="two-sided")
    else:
        p_value = np.full(observed.shape, np.nan)

    def out(v):
        return float(v[0]) if one_d else np.asarray(v, dtype=float)

    return {
        "mean_shift": out(observed),
        "value": out(observed),
        "ci_low": out(ci_low),
        "ci_high": out(ci_high),
        "p_value": out(p_value),
        "n": n,
        "exact": exact,
        "test": test,
    }


def label_distribution_kl(similarities_a, similarities_b, *, temperature: float) -> np.ndarray:
    """Per-pair KL(P_a ‖ P_b) in nats between softmaxed label-similarity distributions.

    Parameters
    ----------
    similarities_a, similarities_b : array-like of shape (n, K)
        Similarity of each twin to each of K labels.
    temperature : float
        The model's softmax temperature (logits = similarity / temperature).

    Returns
    -------
    numpy.ndarray of shape (n,)

    Examples
    --------
    >>> kl = label_distribution_kl([[1.0, 0.0]], [[1.0, 0.0]], temperature=0.1)
    >>> float(kl[0])
    0.0
    """
    s_a = as_float_array(similarities_a, "similarities_a", ndim=(2,))
    s_b = as_float_array(similarities_b, "similarities_b", ndim=(2,))
    if s_a.shape != s_b.shape:
        raise InputError(SHAPE_MISMATCH.format(a=s_a.shape, b=s_b.shape))
    if not temperature > 0:
        raise UsageError(f"temperature must be positive, got {temperature!r}")
    log_p = log_softmax(s_a / temperature, axis=1)
    log_q = log_softmax(s_b / temperature, axis=1)
    return np.maximum(0.0, (np.exp(log_p) * (log_p - log_q)).sum(axis=1))
