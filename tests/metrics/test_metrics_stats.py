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


# --- homogeneity_test: chi-square, exact and permuted references of one statistic -----------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.stats import chi2_contingency, fisher_exact  # noqa: E402

from tinyemo_audit.metrics._stats import _success_tables, homogeneity_test  # noqa: E402


def _pearson(successes, trials):
    table = np.array([successes, np.subtract(trials, successes)])
    return chi2_contingency(table, correction=False)[0]


@pytest.mark.parametrize("seed", range(6))
def test_homogeneity_chi2_agrees_with_permutations_where_both_resolve(seed):
    # Known answer: the asymptotic p and a 20 000-draw permutation p of the same statistic agree.
    rng = np.random.default_rng(seed)
    trials = rng.integers(80, 400, size=int(rng.integers(2, 5)))
    rate = rng.uniform(0.2, 0.5)
    successes = rng.binomial(trials, rate + rng.normal(0, 0.03, size=len(trials)).clip(-0.1, 0.1))
    asymptotic = homogeneity_test(successes, trials)
    assert asymptotic["test"] == "chi-square"
    assert asymptotic["statistic"] == pytest.approx(_pearson(successes, trials))
    draws = np.random.default_rng(seed).multivariate_hypergeometric(trials, int(successes.sum()), size=20_000)
    share = successes.sum() / trials.sum()
    x2 = ((draws - trials * share) ** 2 / (trials * share * (1 - share))).sum(axis=1)
    p_perm = (1 + np.count_nonzero(x2 >= asymptotic["statistic"] - 1e-9)) / 20_001
    if p_perm > 0.005:
        assert asymptotic["p_value"] == pytest.approx(p_perm, abs=0.015, rel=0.15)


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.3])
def test_homogeneity_false_alarm_rate_under_the_null(rate):
    # Rare events send most tables to the exact path, common ones to chi-square: both keep the level.
    rng = np.random.default_rng(int(rate * 1000))
    trials = np.array([120, 200, 90])
    p = np.array([homogeneity_test(rng.binomial(trials, rate), trials)["p_value"] for _ in range(1500)])
    assert np.mean(p <= 0.05) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 1500)


@pytest.mark.parametrize("successes, trials", [([0, 4], [20, 20]), ([1, 6], [40, 35]), ([3, 0], [12, 30])])
def test_homogeneity_exact_equals_fisher_for_two_groups(successes, trials):
    result = homogeneity_test(successes, trials)
    assert result["test"] == "exact conditional"
    table = [[successes[0], trials[0] - successes[0]], [successes[1], trials[1] - successes[1]]]
    assert result["p_value"] == pytest.approx(fisher_exact(table)[1], rel=1e-9)


def test_homogeneity_exact_agrees_with_permutations_for_three_groups():
    successes, trials = [0, 2, 7], [150, 160, 140]
    exact = homogeneity_test(successes, trials)
    permuted = homogeneity_test(successes, trials, n_perm=40_000, seed=3, max_tables=0)
    assert exact["test"] == "exact conditional" and permuted["test"] == "permutation"
    assert exact["p_value"] < 0.05
    assert permuted["p_value"] == pytest.approx(exact["p_value"], rel=0.1, abs=5e-4)


def test_homogeneity_edge_cases():
    assert homogeneity_test([0, 0], [10, 20])["p_value"] == 1.0  # no successes anywhere
    assert homogeneity_test([10, 20], [10, 20])["p_value"] == 1.0  # every trial a success
    assert np.isnan(homogeneity_test([3], [10])["p_value"])  # one group
    assert np.isnan(homogeneity_test([3, 0], [10, 0])["p_value"])  # an empty group is left out
    with pytest.raises(InputError):
        homogeneity_test([5, 1], [4, 10])
    assert np.isnan(homogeneity_test([0, 4], [20, 20], n_perm=0, max_tables=0)["p_value"])


@settings(max_examples=60, deadline=None)
@given(trials=st.lists(st.integers(0, 7), min_size=1, max_size=4), data=st.data())
def test_success_tables_enumerate_every_table_once(trials, data):
    total = data.draw(st.integers(0, sum(trials)))
    tables = _success_tables(np.array(trials), total)
    import itertools

    want = {t for t in itertools.product(*(range(m + 1) for m in trials)) if sum(t) == total}
    got = [tuple(int(v) for v in row) for row in tables]
    assert len(got) == len(set(got)) and set(got) == want


@settings(max_examples=40, deadline=None)
@given(trials=st.lists(st.integers(1, 12), min_size=2, max_size=3), data=st.data())
def test_homogeneity_exact_probabilities_sum_to_one(trials, data):
    # The exact p of the smallest possible statistic is the whole null distribution.
    total = data.draw(st.integers(1, sum(trials) - 1))
    tables = _success_tables(np.array(trials), total)
    from scipy.special import gammaln

    m = np.array(trials)
    log_p = (gammaln(m + 1) - gammaln(tables + 1) - gammaln(m - tables + 1)).sum(axis=1) \
        - (gammaln(m.sum() + 1) - gammaln(total + 1) - gammaln(m.sum() - total + 1))
    assert np.exp(log_p).sum() == pytest.approx(1.0, rel=1e-9)
    result = homogeneity_test(tables[0], trials, max_tables=10**9)
    assert 0.0 < result["p_value"] <= 1.0
