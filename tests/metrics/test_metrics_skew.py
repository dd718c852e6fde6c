"""Tests for tinyemo_audit.metrics._skew: Skew@k, MaxSkew@k and NDKL against hand values and a loop oracle."""

import math

import numpy as np
import pytest

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics import max_skew, ndkl, skew_at_k

SCORES = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
GROUPS = ["a", "a", "b", "a", "b", "c"]


def _ndkl_oracle(scores, groups, k, desired):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    total = norm = 0.0
    for i in range(1, k + 1):
        top = [groups[j] for j in order[:i]]
        kl = sum((top.count(g) / i) * math.log((top.count(g) / i) / desired[g]) for g in desired if top.count(g))
        total += kl / math.log2(i + 1)
        norm += 1 / math.log2(i + 1)
    return total / norm


def test_skew_by_hand():
    # top 3: a, a, b; uniform over {a, b, c}
    skews = skew_at_k(SCORES, GROUPS, 3)
    assert skews["a"] == pytest.approx(math.log((2 / 3) / (1 / 3)))
    assert skews["b"] == pytest.approx(0.0)
    assert skews["c"] == -math.inf
    assert max_skew(SCORES, GROUPS, 3) == pytest.approx(math.log(2))


def test_max_skew_prevalence_and_mapping():
    # prevalence: a 3/6, b 2/6, c 1/6; top 2 is all a → ln(1 / 0.5)
    assert max_skew(SCORES, GROUPS, 2, desired="prevalence") == pytest.approx(math.log(2))
    desired = {"a": 0.25, "b": 0.25, "c": 0.5}
    assert max_skew(SCORES, GROUPS, 2, desired=desired) == pytest.approx(math.log(4))
    # present group with desired share 0 is infinitely over-represented
    assert max_skew(SCORES, GROUPS, 1, desired={"a": 0.0, "b": 0.5, "c": 0.5}) == math.inf


def test_absent_group_cannot_be_the_max():
    # every group in top k is under-represented relative to an explicit target except none;
    # the absent group (−inf) must not win even though all present skews are negative
    desired = {"a": 0.6, "b": 0.2, "c": 0.2}
    value = max_skew(SCORES, GROUPS, 3, desired=desired)
    assert value == pytest.approx(max(math.log((2 / 3) / 0.6), math.log((1 / 3) / 0.2)))
    assert value > -math.inf


@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("desired", ["uniform", "prevalence", {"a": 0.2, "b": 0.3, "c": 0.5}])
def test_ndkl_matches_oracle(k, desired):
    if desired == "uniform":
        target = {g: 1 / 3 for g in "abc"}
    elif desired == "prevalence":
        target = {g: GROUPS.count(g) / len(GROUPS) for g in "abc"}
    else:
        target = desired
    assert ndkl(SCORES, GROUPS, k, desired=desired) == pytest.approx(_ndkl_oracle(SCORES, GROUPS, k, target), abs=1e-12)


def test_ndkl_follows_score_order_and_prefers_interleaving():
    rng = np.random.default_rng(0)
    scores = rng.random(8)
    order = np.argsort(-scores)
    interleaved = np.empty(8, dtype=object)
    interleaved[order] = ["a", "b"] * 4
    segregated = np.empty(8, dtype=object)
    segregated[order] = ["a"] * 4 + ["b"] * 4
    assert ndkl(scores, interleaved, 8) < ndkl(scores, segregated, 8)
    # input order is irrelevant, only the scores rank
    shuffle = rng.permutation(8)
    assert ndkl(scores[shuffle], segregated[shuffle], 8) == pytest.approx(ndkl(scores, segregated, 8))
    assert max_skew(scores, segregated, 4) == pytest.approx(math.log(2))


def test_skew_input_errors():
    with pytest.raises(UsageError, match="k must"):
        max_skew(SCORES, GROUPS, 0)
    with pytest.raises(UsageError, match="k must"):
        ndkl(SCORES, GROUPS, 7)
    with pytest.raises(UsageError, match="desired"):
        ndkl(SCORES, GROUPS, 2, desired="equal")
    with pytest.raises(InputError, match="no share"):
        ndkl(SCORES, GROUPS, 2, desired={"a": 0.5, "b": 0.5})
    with pytest.raises(InputError, match="sum to 1"):
        ndkl(SCORES, GROUPS, 2, desired={"a": 0.5, "b": 0.5, "c": 0.5})
    with pytest.raises(InputError, match="different lengths"):
        max_skew(SCORES, GROUPS[:-1], 2)
    with pytest.raises(InputError, match="missing values"):
        max_skew([np.nan] + SCORES[1:], GROUPS, 2)
