"""Tests for tinyemo_audit.metrics._skew_change: the paired test of a group's top-k count between two rankings."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from tinyemo_audit.errors import UsageError
from tinyemo_audit.metrics import paired_top_k_change


def _count(scores, member, k):
    """The loop oracle: the group's count among the k best items, ties to the earlier item."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sum(bool(member[i]) for i in order[:k])


def _exact_p(before, after, member, k):
    """Every one of the 2^n swap patterns of the two rank percentiles, enumerated: the exact one-sided p."""
    n = len(before)
    ranks = np.stack([rankdata(before), rankdata(after)]) / n
    observed = _count(after, member, k) - _count(before, member, k)
    extreme = 0
    for pattern in itertools.product([False, True], repeat=n):
        swap = np.array(pattern)
        first, second = np.where(swap, ranks[1], ranks[0]), np.where(swap, ranks[0], ranks[1])
        extreme += _count(second, member, k) - _count(first, member, k) >= observed
    return extreme / 2 ** n


def test_hand_case_counts_and_exact_p():
    # before ranks the group (items 0-2) low, after ranks it high: top 2 holds 0 of the group, then 2
    before = [0.1, 0.2, 0.3, 0.9, 0.8, 0.7, 0.6, 0.5]
    after = [0.9, 0.8, 0.3, 0.1, 0.2, 0.7, 0.6, 0.5]
    member = [True, True, True, False, False, False, False, False]
    out = paired_top_k_change(before, after, member, 2, n_perm=40_000, n_boot=500, seed=3)
    assert (out["before"], out["after"], out["value"], out["k"]) == (0, 2, 2, 2)
    # The Monte-Carlo p of 40 000 swap patterns is the exact p of all 256 patterns to its standard error.
    exact = _exact_p(before, after, member, 2)
    assert out["p_value"] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 40_000) + 1e-4)
    assert exact < 0.2


def test_same_ranking_is_no_change():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=200)
    member = rng.random(200) < 0.3
    out = paired_top_k_change(scores, scores, member, 20, n_perm=300, n_boot=300)
    assert out["value"] == 0
    assert out["p_value"] == 1.0  # every swap of identical ranks changes nothing
    assert (out["ci_low"], out["ci_high"]) == (0.0, 0.0)


def test_planted_move_is_found_and_a_reshuffle_is_not():
    rng = np.random.default_rng(1)
    n, k = 1000, 100
    member = rng.random(n) < 0.3
    before = rng.normal(size=n)
    moved = before + 0.8 * member  # the group moves up the ranking
    found = paired_top_k_change(before, moved, member, k, n_perm=1000, n_boot=1000, seed=0)
    assert found["value"] > 15 and found["p_value"] < 0.01 and found["ci_low"] > 0
    noisy = before + 0.05 * rng.normal(size=n)  # the same ranking, slightly perturbed, no group effect
    quiet = paired_top_k_change(before, noisy, member, k, n_perm=1000, n_boot=1000, seed=0)
    assert quiet["p_value"] > 0.05 and quiet["ci_low"] <= quiet["value"] <= quiet["ci_high"]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_counts_match_the_loop_and_scale_does_not_matter(data):
    n = data.draw(st.integers(2, 40))
    floats = st.floats(-5, 5, allow_nan=False)
    before = data.draw(st.lists(floats, min_size=n, max_size=n))
    after = data.draw(st.lists(floats, min_size=n, max_size=n))
    member = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    k = data.draw(st.integers(1, n))
    out = paired_top_k_change(before, after, member, k, n_perm=50, n_boot=50, seed=2)
    assert out["before"] == _count(before, member, k) and out["after"] == _count(after, member, k)
    assert out["value"] == out["after"] - out["before"]
    assert 0 < out["p_value"] <= 1 and out["ci_low"] <= out["ci_high"]
    # A rescaling of one model's scores (exact in floating point: ties stay ties) keeps its ranking, hence every number.
    rescaled = paired_top_k_change(before, [4 * a for a in after], member, k, n_perm=50, n_boot=50, seed=2)
    assert rescaled == out


def test_seeded_and_alternatives():
    rng = np.random.default_rng(4)
    before, after = rng.normal(size=(2, 300))
    member = rng.random(300) < 0.5
    one = paired_top_k_change(before, after, member, 30, seed=7, n_perm=400, n_boot=400)
    assert one == paired_top_k_change(before, after, member, 30, seed=7, n_perm=400, n_boot=400)
    less = paired_top_k_change(before, after, member, 30, seed=7, n_perm=400, n_boot=400, alternative="less")
    both = paired_top_k_change(before, after, member, 30, seed=7, n_perm=400, n_boot=400, alternative="two-sided")
    assert both["p_value"] >= min(one["p_value"], less["p_value"])


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": 11}, {"k": True}, {"k": 2, "n_perm": 0},
                                    {"k": 2, "alternative": "up"}, {"k": 2, "confidence": 1.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(UsageError):
        paired_top_k_change(np.arange(10), np.arange(10), np.arange(10) < 3, **kwargs)
