"""Tests for tinyemo_audit.metrics._stats: Benjamini–Hochberg, Wilson interval, permutation p-values."""

import numpy as np
import pytest
from scipy.stats import binomtest

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics import benjamini_hochberg, wilson_interval
from tinyemo_audit.metrics._stats import permutation_p_value


def _bh_oracle(p, q):
    """Step-up BH written from the definition: reject p_(i) for i <= max{i: p_(i) <= i q / m}."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)
    ranked = p[order]
    below = np.nonzero(ranked <= np.arange(1, m + 1) * q / m)[0]
    reject = np.zeros(m, dtype=bool)
    if below.size:
        reject[order[: below[-1] + 1]] = True
    adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    qvals = np.empty(m)
    qvals[order] = np.minimum(adjusted, 1.0)
    return reject, qvals


@pytest.mark.parametrize("seed", range(5))
def test_bh_matches_definition(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.random(40), rng.random(10) * 0.01])
    for q in (0.05, 0.1, 0.2):
        reject, qvals = benjamini_hochberg(p, q)
        want_reject, want_q = _bh_oracle(p, q)
        np.testing.assert_array_equal(reject, want_reject)
        np.testing.assert_allclose(qvals, want_q, rtol=1e-12)
        np.testing.assert_array_equal(reject, qvals <= q)


def test_bh_nan_left_out_and_shape_kept():
    reject, qvals = benjamini_hochberg(np.array([[0.01, np.nan], [0.02, 0.9]]))
    assert reject.shape == (2, 2) and not reject[0, 1] and np.isnan(qvals[0, 1])
    _, q3 = benjamini_hochberg([0.01, 0.02, 0.9])
    np.testing.assert_allclose(qvals[~np.isnan(qvals)], q3[[0, 1, 2]])


def test_bh_rejects_bad_input():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.1, 1.2])
    with pytest.raises(InputError, match="q must"):
        benjamini_hochberg([0.1], q=0)
    reject, qvals = benjamini_hochberg([])
    assert reject.shape == (0,) and qvals.shape == (0,)


def test_bh_null_rate_on_uniform_p_values():
    # Under the global null, P(any BH rejection) = FDR <= q.
    rng = np.random.default_rng(0)
    p = rng.random((4000, 20))
    any_flag = np.array([benjamini_hochberg(row, 0.05)[0].any() for row in p])
    assert any_flag.mean() <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 4000)


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (37, 120), (1, 1)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k, n, confidence):
    want = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(k, n, confidence)
    assert low == pytest.approx(want.low, abs=1e-12)
    assert high == pytest.approx(want.high, abs=1e-12)


def test_wilson_vectorised_and_edge_cases():
    low, high = wilson_interval(np.array([1, 5]), np.array([10, 10]))
    assert low.shape == (2,) and (low < high).all()
    assert all(np.isnan(wilson_interval(0, 0)))
    with pytest.raises(InputError):
        wilson_interval(5, 3)
    with pytest.raises(UsageError):
        wilson_interval(1, 3, confidence=1.5)


def test_permutation_p_value_counts_ties_and_directions():
    permuted = np.array([0.0, 1.0, 2.0, 3.0])
    assert permutation_p_value(2.0, permuted) == pytest.approx((1 + 2) / 5)
    assert permutation_p_value(1.0, permuted, alternative="less") == pytest.approx((1 + 2) / 5)
    assert permutation_p_value(-3.0, permuted, alternative="two-sided") == pytest.approx(2 / 5)
    assert permutation_p_value(2.0, np.array([np.nan, 3.0])) == pytest.approx(2 / 2)
    assert np.isnan(permutation_p_value(np.nan, permuted))
