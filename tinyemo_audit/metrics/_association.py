"""Embedding association tests: WEAT (Caliskan et al. 2017) and its image variant iEAT (Steed & Caliskan 2021)."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
from scipy import stats

from tinyemo_audit.errors import InputError
from tinyemo_audit.metrics._bootstrap import MAX_CHUNK_ELEMENTS, permutation_rng
from tinyemo_audit.metrics._checks import as_float_array, check_count

DIM_MISMATCH = "X, Y, A and B must share the embedding dimension, got {dims}"
TOO_FEW = "{name} needs at least {minimum} embedding(s), got {count}"
ZERO_VECTOR = "{name} contains an all-zero embedding; cosine similarity is undefined"
# From this many targets in each set on, the permutation null is read from its normal limit (see weat).
NORMAL_MIN_TARGETS = 30
TEST_EXACT = "re-partitions, exact"
TEST_NORMAL = "re-partitions, normal approximation"
TEST_PERMUTATION = "re-partitions, permutations"


def _unit_rows(matrix: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise InputError(ZERO_VECTOR.format(name=name))
    return matrix / norms


def _exact_partitions(n_total: int, n_x: int) -> itertools.chain:
    """Every size-n_x subset of range(n_total), as chunks of an index matrix."""
    combos = itertools.combinations(range(n_total), n_x)
    rows = max(1, MAX_CHUNK_ELEMENTS // max(1, n_x))
    while True:
        block = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, rows)), dtype=np.int64)
        if block.size == 0:
            return
        yield block.reshape(-1, n_x)


def weat(X, Y, A, B, *, n_perm: int = 10_000, seed: int = 0,
         normal_min_targets: int | None = NORMAL_MIN_TARGETS) -> dict:
    """WEAT / iEAT association between target sets X, Y and attribute sets A, B.

    With s(w) = mean_a cos(w, a) − mean_b cos(w, b):
    statistic S = Σ_X s − Σ_Y s; effect size d = (mean_X s − mean_Y s) / std_{X∪Y} s
    (sample std, ddof=1); p = share of re-partitions of X∪Y into sets of sizes |X|, |Y|
    whose statistic is at least the observed one (one-sided; the observed partition counts, so
    p is never 0 — Caliskan et al. count only strictly greater ones, which differs by at most
    one partition).

    Parameters
    ----------
    X, Y : array-like of shape (n_x, d), (n_y, d)
        Target embeddings (e.g. images of two groups).
    A, B : array-like of shape (n_a, d), (n_b, d)
        Attribute embeddings (e.g. labels {angry, disgust} vs {happy, surprise}).
    n_perm : int, default 10000
        When C(|X|+|Y|, |X|) <= n_perm every re-partition is enumerated (exact p);
        otherwise ``n_perm`` random re-partitions are drawn and
        p = (1 + #{at least the observed}) / (1 + n_perm). 0: NaN p-value.
    seed : int, default 0
    normal_min_targets : int or None, default 30
        When the test is not exact and both X and Y hold at least this many targets (None:
        never), the same re-partition null is read from its normal limit: Σ_X s is the sum of a
        sample of |X| drawn without replacement from the pooled s values, with known mean and
        variance, so p = 1 − Φ(z) (no resolution floor; ``test`` says which).

    Returns
    -------
    dict
        ``effect_size, statistic, p_value, exact, n_partitions, test``.

    Examples
    --------
    >>> X = [[1.0, 0.1], [0.9, 0.0]]
    >>> Y = [[0.0, 1.0], [0.1, 0.9]]
    >>> A = [[1.0, 0.0]]
    >>> B = [[0.0, 1.0]]
    >>> result = weat(X, Y, A, B)
    >>> round(result["effect_size"], 3), round(result["p_value"], 3), result["exact"], result["n_partitions"]
    (1.729, 0.167, True, 6)
    """
    mats = {name: as_float_array(m, name, ndim=(2,)) for name, m in zip("XYAB", (X, Y, A, B))}
    dims = {name: m.shape[1] for name, m in mats.items()}
    if len(set(dims.values())) > 1:
        raise InputError(DIM_MISMATCH.format(dims=dims))
    for name in "XY":
        if len(mats[name]) < 1:
            raise InputError(TOO_FEW.format(name=name, minimum=1, count=len(mats[name])))
    n_perm = check_count(n_perm, "n_perm")
    x, y, a, b = (_unit_rows(mats[name], name) for name in "XYAB")

    targets = np.vstack([x, y])
    s = (targets @ a.T).mean(axis=1) - (targets @ b.T).mean(axis=1)
    n_x, n_total = len(x), len(targets)
    total = s.sum()
    observed = 2.0 * s[:n_x].sum() - total  # Σ_X s − Σ_Y s
    spread = s.std(ddof=1) if n_total > 1 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        effect = (s[:n_x].mean() - s[n_x:].mean()) / spread if len(y) else np.nan

    tol = 1e-12 * max(1.0, abs(observed))
    n_partitions = comb(n_total, n_x)
    exact = n_partitions <= n_perm
    normal = (not exact and n_perm > 0 and normal_min_targets is not None
              and min(n_x, n_total - n_x) >= normal_min_targets)
    if exact:
        test = TEST_EXACT
        at_least = sum(int((2.0 * s[idx].sum(axis=1) - total >= observed - tol).sum())
                       for idx in _exact_partitions(n_total, n_x))
        p_value = at_least / n_partitions
    elif normal:
        test = TEST_NORMAL
        # Σ_X s of a random re-partition: mean n_x·s̄, variance n_x·n_y/n · S² (S²: sample variance, ddof=1).
        mean = 2.0 * n_x * s.mean() - total
        sd = 2.0 * np.sqrt(n_x * (n_total - n_x) / n_total * s.var(ddof=1))
        p_value = float(stats.norm.sf((observed - mean) / sd)) if sd > 0 else 1.0
    elif n_perm:
        test = TEST_PERMUTATION
        rng = permutation_rng(seed)
        at_least, drawn = 0, 0
        rows = max(1, MAX_CHUNK_ELEMENTS // n_total)
        while drawn < n_perm:
            b_rows = min(rows, n_perm - drawn)
            shuffled = rng.permuted(np.broadcast_to(s, (b_rows, n_total)), axis=1)
            at_least += int((2.0 * shuffled[:, :n_x].sum(axis=1) - total >= observed - tol).sum())
            drawn += b_rows
        p_value = (1.0 + at_least) / (1.0 + n_perm)
    else:
        test = None
        p_value = float("nan")
    return {
        "effect_size": float(effect),
        "statistic": float(observed),
        "p_value": float(p_value),
        "exact": bool(exact),
        "n_partitions": int(n_partitions) if exact else int(n_perm),
        "test": test,
    }
