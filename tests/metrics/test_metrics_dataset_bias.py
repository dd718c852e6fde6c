"""Tests for tinyemo_audit.metrics._dataset_bias against independent computations."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association
from sklearn.metrics import normalized_mutual_info_score

from tinyemo_audit.errors import InputError
from tinyemo_audit.metrics import cramers_v, effective_number, normalized_mutual_info, representation, theils_u


def _joint(x, y):
    table = pd.crosstab(pd.Series(x), pd.Series(y)).to_numpy(dtype=float)
    return table / table.sum()


def _h(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _random_pair(seed, n=500):
    rng = np.random.default_rng(seed)
    x = rng.choice(["light", "medium", "dark"], n, p=[0.5, 0.3, 0.2])
    y = np.where(rng.random(n) < 0.3, np.where(x == "dark", "angry", "happy"), rng.choice(["angry", "happy", "sad", "fear"], n))
    return x, y


def test_effective_number_and_representation():
    labels = ["a"] * 6 + ["b"] * 3 + ["c"] * 1
    p = np.array([0.6, 0.3, 0.1])
    assert effective_number(labels) == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    summary = representation(labels)
    assert summary["ens"] == pytest.approx(effective_number(labels))
    assert summary["simpson_reciprocal"] == pytest.approx(1 / (p**2).sum())
    assert summary["imbalance_ratio"] == 6.0
    assert summary["counts"] == {"a": 6, "b": 3, "c": 1} and summary["n"] == 10 and summary["n_groups"] == 3
    assert effective_number(["x"] * 5) == 1.0
    with pytest.raises(InputError):
        effective_number([])
    with pytest.raises(InputError, match="missing"):
        representation(["a", None])


@pytest.mark.parametrize("seed", range(3))
def test_cramers_v_uncorrected_matches_scipy(seed):
    x, y = _random_pair(seed)
    table = pd.crosstab(x, y).to_numpy()
    assert cramers_v(x, y, bias_correction=False) == pytest.approx(association(table, method="cramer"), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_cramers_v_bergsma_correction(seed):
    x, y = _random_pair(seed)
    table = pd.crosstab(x, y).to_numpy(dtype=float)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    phi2 = ((table - expected) ** 2 / expected).sum() / n
    r, c = table.shape
    phi2c = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    rc, cc = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
    want = math.sqrt(phi2c / min(rc - 1, cc - 1))
    assert cramers_v(x, y) == pytest.approx(want, abs=1e-12)
    assert cramers_v(x, y) < cramers_v(x, y, bias_correction=False)


def test_cramers_v_corrected_is_near_zero_for_independent_data():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 5, 300)
    y = rng.integers(0, 7, 300)
    assert cramers_v(x, y) < 0.05 < cramers_v(x, y, bias_correction=False)
    assert np.isnan(cramers_v(["a"] * 10, rng.integers(0, 2, 10)))


@pytest.mark.parametrize("seed", range(3))
def test_nmi_is_joint_entropy_normalised(seed):
    x, y = _random_pair(seed)
    p = _joint(x, y)
    mi = _h(p.sum(1)) + _h(p.sum(0)) - _h(p)
    assert normalized_mutual_info(x, y) == pytest.approx(mi / _h(p), abs=1e-12)
    # not scikit-learn's default (arithmetic-mean) normalisation
    assert normalized_mutual_info(x, y) < normalized_mutual_info_score(x, y)
    assert normalized_mutual_info(["a", "a"], ["b", "b"]) == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_theils_u_against_entropies(seed):
    x, y = _random_pair(seed)
    p = _joint(x, y)
    h_x, h_xy, h_y = _h(p.sum(1)), _h(p), _h(p.sum(0))
    assert theils_u(x, y) == pytest.approx((h_x - (h_xy - h_y)) / h_x, abs=1e-12)
    assert theils_u(y, x) == pytest.approx((h_y - (h_xy - h_x)) / h_y, abs=1e-12)
    assert theils_u(["a"] * 4, ["x", "y", "x", "y"]) == 1.0


def test_association_input_errors():
    with pytest.raises(InputError, match="different lengths"):
        cramers_v([1, 2, 3], [1, 2])
    with pytest.raises(InputError, match="missing"):
        normalized_mutual_info([1.0, np.nan], [1, 2])
