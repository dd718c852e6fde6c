"""Tests for tinyemo_audit.metrics._association: WEAT / iEAT against a brute-force oracle."""

import itertools

import numpy as np
import pytest

from tinyemo_audit.errors import InputError
from tinyemo_audit.metrics import weat


def _weat_oracle(X, Y, A, B):
    def cos(u, v):
        return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))

    def s(w):
        return np.mean([cos(w, a) for a in A]) - np.mean([cos(w, b) for b in B])

    targets = list(X) + list(Y)
    sx = [s(x) for x in X]
    sy = [s(y) for y in Y]
    statistic = sum(sx) - sum(sy)
    effect = (np.mean(sx) - np.mean(sy)) / np.std(sx + sy, ddof=1)
    at_least = total = 0
    for chosen in itertools.combinations(range(len(targets)), len(X)):
        rest = [i for i in range(len(targets)) if i not in chosen]
        value = sum(s(targets[i]) for i in chosen) - sum(s(targets[i]) for i in rest)
        at_least += value >= statistic - 1e-12  # the observed partition counts: p is never 0
        total += 1
    return effect, statistic, at_least / total


@pytest.mark.parametrize("seed, n_x, n_y", [(0, 4, 4), (1, 5, 5), (2, 3, 5)])
def test_weat_exact_matches_oracle(seed, n_x, n_y):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.3, 1, size=(n_x, 6))
    Y = rng.normal(-0.1, 1, size=(n_y, 6))
    A = rng.normal(size=(3, 6))
    B = rng.normal(size=(2, 6))
    effect, statistic, p = _weat_oracle(X, Y, A, B)
    result = weat(X, Y, A, B, n_perm=10_000)
    assert result["exact"]
    assert result["effect_size"] == pytest.approx(effect, abs=1e-10)
    assert result["statistic"] == pytest.approx(statistic, abs=1e-10)
    assert result["p_value"] == pytest.approx(p, abs=1e-12)


def test_weat_random_permutations_approximate_exact_p():
    rng = np.random.default_rng(3)
    X = rng.normal(0.2, 1, size=(8, 5))
    Y = rng.normal(0.0, 1, size=(8, 5))
    A, B = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    exact = weat(X, Y, A, B, n_perm=20_000)
    approx = weat(X, Y, A, B, n_perm=5000, seed=1)
    assert exact["exact"] and not approx["exact"]  # C(16, 8) = 12870
    assert approx["p_value"] == pytest.approx(exact["p_value"], abs=0.02)
    assert approx == weat(X, Y, A, B, n_perm=5000, seed=1)


def test_weat_planted_association_and_null():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(3, 16)) + 2 * np.eye(16)[0]
    B = rng.normal(size=(3, 16)) - 2 * np.eye(16)[0]
    X = rng.normal(size=(30, 16)) + 1.5 * np.eye(16)[0]
    Y = rng.normal(size=(30, 16)) - 1.5 * np.eye(16)[0]
    planted = weat(X, Y, A, B, n_perm=2000)
    assert planted["effect_size"] > 1.0 and planted["p_value"] < 0.01
    reverse = weat(Y, X, A, B, n_perm=2000)
    assert reverse["effect_size"] == pytest.approx(-planted["effect_size"]) and reverse["p_value"] > 0.99


def test_weat_input_errors():
    good = np.ones((2, 3))
    with pytest.raises(InputError, match="dimension"):
        weat(good, good, np.ones((2, 4)), good)
    with pytest.raises(InputError, match="all-zero"):
        weat(np.zeros((2, 3)), good, good, good)
    with pytest.raises(InputError, match="missing values"):
        weat(np.full((2, 3), np.nan), good, good, good)


@pytest.mark.parametrize("seed, n", [(0, 30), (1, 60), (2, 150)])
def test_weat_normal_limit_agrees_with_permutations_where_both_resolve(seed, n):
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    for shift in (0.0, 0.05, 0.1, 0.2):
        X = rng.normal(size=(n, 8)) + shift * (A.mean(0) - B.mean(0))
        Y = rng.normal(size=(n, 8))
        normal = weat(X, Y, A, B, n_perm=20_000, seed=seed)
        permuted = weat(X, Y, A, B, n_perm=20_000, seed=seed, normal_min_targets=None)
        assert normal["test"] == "re-partitions, normal approximation"
        assert permuted["test"] == "re-partitions, permutations"
        if permuted["p_value"] > 0.005:
            assert normal["p_value"] == pytest.approx(permuted["p_value"], abs=0.02, rel=0.15)


def test_weat_p_value_is_never_zero():
    X = [[1.0, 0.1], [0.9, 0.0]]
    Y = [[0.0, 1.0], [0.1, 0.9]]
    assert weat(X, Y, [[1.0, 0.0]], [[0.0, 1.0]])["p_value"] == pytest.approx(1 / 6)
    rng = np.random.default_rng(0)
    far = weat(rng.normal(size=(12, 4)) + 5 * np.eye(4)[0], rng.normal(size=(12, 4)), np.eye(4)[:1], np.eye(4)[1:2],
               n_perm=500)
    assert far["test"] == "re-partitions, permutations" and far["p_value"] == pytest.approx(1 / 501)
