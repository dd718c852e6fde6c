"""Tests for tinyemo_audit.metrics._counterfactual: flip rate, paired shift with sign-flip test, label KL."""

import itertools

import numpy as np
import pytest

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics import flip_rate, label_distribution_kl, paired_shift


def test_flip_rate_value_and_ci():
    a = ["happy"] * 80 + ["sad"] * 20
    b = ["happy"] * 70 + ["angry"] * 10 + ["sad"] * 20
    result = flip_rate(a, b, n_boot=2000, seed=1)
    assert result["value"] == 0.1 and result["n"] == 100 and result["flips"] == 10
    assert result["ci_low"] < 0.1 < result["ci_high"]
    assert result == flip_rate(a, b, n_boot=2000, seed=1)


def test_flip_rate_edge_cases():
    assert flip_rate([1, 2], [1, 2], n_boot=100)["ci_high"] == 0.0
    assert np.isnan(flip_rate([], [], n_boot=10)["value"])
    with pytest.raises(InputError, match="different lengths"):
        flip_rate([1, 2], [1])
    with pytest.raises(InputError, match="missing values"):
        flip_rate(["a", None], ["a", "b"])


def _sign_flip_oracle(diff):
    n = len(diff)
    stats = [abs(np.mean(np.array(signs) * diff)) for signs in itertools.product([-1, 1], repeat=n)]
    return np.mean(np.array(stats) >= abs(diff.mean()) - 1e-12)


def test_paired_shift_exact_matches_enumeration():
    rng = np.random.default_rng(0)
    x_a = rng.normal(size=9)
    x_b = x_a + rng.normal(0.3, 1.0, size=9)
    result = paired_shift(x_a, x_b, n_perm=1000, n_boot=500, seed=2)
    assert result["exact"]
    assert result["mean_shift"] == pytest.approx((x_b - x_a).mean())
    assert result["value"] == result["mean_shift"]
    assert result["p_value"] == pytest.approx(_sign_flip_oracle(x_b - x_a))
    assert result["ci_low"] <= result["mean_shift"] <= result["ci_high"]


def test_paired_shift_random_permutations_detect_shift_and_null():
    rng = np.random.default_rng(1)
    x_a = rng.normal(size=200)
    shifted = paired_shift(x_a, x_a + 0.3 + rng.normal(0, 0.5, 200), n_perm=2000, n_boot=500)
    assert not shifted["exact"] and shifted["p_value"] < 0.001
    assert shifted["ci_low"] < 0.3 < shifted["ci_high"] and shifted["ci_high"] - shifted["ci_low"] < 0.2
    null = paired_shift(x_a, x_a + rng.normal(0, 0.5, 200), n_perm=2000, n_boot=500)
    assert null["p_value"] > 0.05


def test_paired_shift_2d_equals_columnwise_1d():
    rng = np.random.default_rng(3)
    x_a = rng.normal(size=(60, 4))
    x_b = x_a + rng.normal([0.0, 0.5, -0.5, 0.1], 1.0, size=(60, 4))
    joint = paired_shift(x_a, x_b, n_perm=500, n_boot=300, seed=5)
    assert joint["mean_shift"].shape == (4,)
    for k in range(4):
        single = paired_shift(x_a[:, k], x_b[:, k], n_perm=500, n_boot=300, seed=5)
        for key in ("mean_shift", "ci_low", "ci_high", "p_value"):
            assert joint[key][k] == pytest.approx(single[key], abs=1e-12)


def test_paired_shift_sign_flip_null_rate():
    rng = np.random.default_rng(4)
    diffs = rng.normal(size=(40, 300))  # 300 null labels, 40 pairs each
    result = paired_shift(np.zeros_like(diffs), diffs, n_perm=500, n_boot=0, seed=0)
    assert np.mean(result["p_value"] <= 0.05) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 300)
    assert np.isnan(result["ci_low"]).all()


def test_paired_shift_input_errors():
    with pytest.raises(InputError, match="same shape"):
        paired_shift([1.0, 2.0], [1.0, 2.0, 3.0], n_perm=10, n_boot=10, seed=0)
    with pytest.raises(InputError, match="missing values"):
        paired_shift([1.0, np.nan], [1.0, 2.0], n_perm=10, n_boot=10, seed=0)
    with pytest.raises(UsageError, match="n_perm"):
        paired_shift([1.0], [2.0], n_perm=-1, n_boot=10, seed=0)


def test_label_distribution_kl():
    s_a = np.array([[0.5, 0.1, 0.2], [0.3, 0.3, 0.3]])
    s_b = np.array([[0.1, 0.5, 0.2], [0.3, 0.3, 0.3]])
    kl = label_distribution_kl(s_a, s_b, temperature=0.1)
    p = np.exp(s_a[0] / 0.1) / np.exp(s_a[0] / 0.1).sum()
    q = np.exp(s_b[0] / 0.1) / np.exp(s_b[0] / 0.1).sum()
    assert kl[0] == pytest.approx(np.sum(p * np.log(p / q)))
    assert kl[1] == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(UsageError):
        label_distribution_kl(s_a, s_b, temperature=0)


@pytest.mark.parametrize("seed, n", [(0, 30), (1, 45), (2, 60), (3, 120), (4, 59)])
def test_paired_shift_normal_limit_agrees_with_sign_flips_where_both_resolve(seed, n):
    # Known answer: the normal limit of the sign-flip null and 20 000 sign flips give the same p.
    rng = np.random.default_rng(seed)
    diff = rng.gamma(2.0, 1.0, size=(n, 6)) * rng.choice([-1, 1], size=(n, 6)) + np.linspace(-0.3, 0.5, 6)
    normal = paired_shift(np.zeros_like(diff), diff, n_perm=20_000, n_boot=0, seed=seed)
    permuted = paired_shift(np.zeros_like(diff), diff, n_perm=20_000, n_boot=0, seed=seed, normal_min_pairs=None)
    assert normal["test"] == "sign-flip, normal approximation"
    assert permuted["test"] == "sign-flip, permutations"
    resolved = permuted["p_value"] > 0.005
    assert resolved.any()
    np.testing.assert_allclose(normal["p_value"][resolved], permuted["p_value"][resolved], atol=0.02, rtol=0.15)


def test_paired_shift_normal_limit_has_no_floor():
    rng = np.random.default_rng(7)
    diff = 0.3 + rng.normal(0, 0.1, size=59)
    normal = paired_shift(np.zeros(59), diff, n_perm=10_000, n_boot=0)
    permuted = paired_shift(np.zeros(59), diff, n_perm=10_000, n_boot=0, normal_min_pairs=None)
    assert permuted["p_value"] == pytest.approx(1 / 10_001)  # the permutation floor
    assert normal["p_value"] < 1e-10  # 59 pairs all moving one way: far below it
    assert paired_shift(np.zeros(40), np.zeros(40), n_perm=10, n_boot=0)["p_value"] == 1.0


def test_paired_shift_small_n_keeps_the_exact_test():
    result = paired_shift(np.zeros(10), np.arange(10.0) - 2, n_perm=10_000, n_boot=0)
    assert result["exact"] and result["test"] == "sign-flip, exact"
