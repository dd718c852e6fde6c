"""Did a group's place in a top-k ranking change between two models scoring the same items? A paired test.

Two models (a bundle before and after a mitigation) rank the same ``n`` items for one label; the
statistic is how many more items of a group the second model puts in its top ``k`` than the first
(``after − before``, a count). Because both rankings are of the same items, the test is paired:

- **p-value**, a paired permutation test: each model's scores become within-model rank
  percentiles (so models with different score scales are exchangeable), and under "the second
  model ranks like the first" each item's two percentiles may be swapped. ``n_perm`` random swap
  patterns give the null distribution of the count change; the p-value is the share at least as
  extreme as observed (one-sided toward ``alternative``, with the observed pattern counted).
- **CI**, a paired bootstrap: the items are resampled with replacement (the same draw for both
  models), both top-``k`` counts recomputed, and the 2.5 and 97.5 percentiles of the change taken.

Everything is vectorised over draws, in chunks that bound memory by about 64 MiB whatever ``n``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from tinyemo_audit.errors import UsageError
from tinyemo_audit.metrics._bootstrap import bootstrap_rng, permutation_rng
from tinyemo_audit.metrics._checks import as_float_array, check_confidence, same_length
from tinyemo_audit.metrics._stats import percentile_interval, permutation_p_value

TEST = ("paired permutation (each item's two rank percentiles swapped at random), one-sided; "
        "CI: paired bootstrap over items, percentile")
ALTERNATIVES = ("greater", "less", "two-sided")
BAD_K = "k must be an integer between 1 and the number of ranked items ({n}), got {k!r}"
CHUNK_CELLS = 8_000_000  # float64 cells of one chunk of draws (64 MiB)


def top_k_counts(scores: np.ndarray, member: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``scores`` (b, n), how many of its k highest-scoring columns are members (ties: lowest column)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return member[order].sum(axis=1)


def _draws(total: int, n: int):
    step = max(1, CHUNK_CELLS // (4 * max(n, 1)))
    for start in range(0, total, step):
        yield min(step, total - start)


def paired_top_k_change(before, after, member, k: int, *, n_perm: int = 2000, n_boot: int = 2000, seed: int = 0,
                        alternative: str = "greater", confidence: float = 0.95) -> dict:
    """The change in a group's count among the top ``k`` items of two rankings of the same items, tested paired.

    Parameters
    ----------
    before, after : array-like of shape (n,)
        Each model's score of the same items (higher ranks first; ties keep item order).
    member : array-like of bool, shape (n,)
        Whether each item belongs to the group.
    k : int
        Length of the ranking prefix, 1 <= k <= n.
    n_perm, n_boot : int
        Random swap patterns of the permutation test; bootstrap resamples of the CI.
    seed : int
        Seed of both (the permutation and bootstrap streams of :mod:`._bootstrap`).
    alternative : {"greater", "less", "two-sided"}
        "greater": the second model puts more of the group in its top k.

    Returns
    -------
    dict
        ``before`` and ``after`` (the group's counts in each top k), ``k``, ``value`` (after − before),
        ``ci_low``, ``ci_high``, ``p_value``, ``n_perm``, ``n_boot``, ``alternative``, ``test``.

    Examples
    --------
    >>> same = paired_top_k_change([3, 2, 1, 0], [3, 2, 1, 0], [True, True, False, False], 2, n_perm=200, n_boot=200)
    >>> same["value"], same["p_value"]
    (0, 1.0)
    """
    before = as_float_array(before, "before")
    after = as_float_array(after, "after")
    member = np.asarray(member, dtype=bool)
    n = same_length(before=before, after=after, member=member)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise UsageError(BAD_K.format(n=n, k=k))
    if alternative not in ALTERNATIVES:
        raise UsageError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    for name, count in (("n_perm", n_perm), ("n_boot", n_boot)):
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise UsageError(f"{name} must be a positive integer, got {count!r}")
    check_confidence(confidence)
    k = int(k)
    counts = top_k_counts(np.stack([before, after]), member, k)
    observed = int(counts[1] - counts[0])

    ranks = np.stack([rankdata(before), rankdata(after)]) / n  # within-model percentiles, ties averaged
    rng = permutation_rng(seed)
    null = []
    for b in _draws(n_perm, n):
        swap = rng.random((b, n)) < 0.5
        first = np.where(swap, ranks[1], ranks[0])
        second = np.where(swap, ranks[0], ranks[1])
        null.append(top_k_counts(second, member, k) - top_k_counts(first, member, k))
    p = float(permutation_p_value(observed, np.concatenate(null)[:, None], alternative=alternative)[0])

    rng = bootstrap_rng(seed)
    changes = []
    for b in _draws(n_boot, n):
        idx = rng.integers(0, n, size=(b, n))
        picked = member[idx]
        rows = np.arange(b)[:, None]
        top_before = np.argsort(-before[idx], axis=1, kind="stable")[:, :k]
        top_after = np.argsort(-after[idx], axis=1, kind="stable")[:, :k]
        changes.append(picked[rows, top_after].sum(axis=1) - picked[rows, top_before].sum(axis=1))
    low, high = percentile_interval(np.concatenate(changes).astype(float), confidence)
    return {"before": int(counts[0]), "after": int(counts[1]), "k": k, "value": observed,
            "ci_low": float(low), "ci_high": float(high), "p_value": p, "n_perm": int(n_perm), "n_boot": int(n_boot),
            "alternative": alternative, "test": TEST}
