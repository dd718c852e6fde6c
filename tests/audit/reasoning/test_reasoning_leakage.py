"""Tests of audit/reasoning/_leakage.py: the LIC score by hand, a planted word found, masked words gone, chance when independent."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit.reasoning._leakage import _cv_probabilities, leakage_probe, lic_scores

from reasoning_audit_fixtures import CALM, planted_texts

OPTIONS = {"folds": 4, "n_perm": 30, "n_boot": 200, "seed": 0, "min_group_size": 10}


def test_lic_score_by_hand():
    p = np.array([[0.7, 0.3], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
    # right with 0.7; wrong; right with 0.8; a tie goes to the first group, which is right here
    assert lic_scores(p, np.array([0, 1, 1, 0])).tolist() == [0.7, 0.0, 0.8, 0.5]


def test_planted_word_in_one_group_is_found():
    tt = planted_texts(n=20, planted=10)
    out = leakage_probe(tt.conditional, tt.reference, ["dark skin"], **OPTIONS)
    amp, gen, ref = out["amplification"], out["generated"], out["reference"]
    assert ref["excess"] == pytest.approx(0.0) and ref["p_value"] == 1.0  # identical reference texts: chance
    assert gen["value"] > gen["chance"] and amp["excess"] > 0.1
    floor = 1 / (1 + OPTIONS["n_perm"])  # no permutation reaches the observed value
    assert amp["p_value"] == pytest.approx(floor) and amp["ci_low"] > 0 and amp["flaggable"] is True
    assert gen["flaggable"] is False and ref["flaggable"] is False  # context for the amplification
    assert amp["n"] == 20 and amp["n_texts"] == 40


def test_masked_lexicon_words_leak_nothing():
    tt = planted_texts(n=20, planted=10)
    tt.conditional[:10, -1] = CALM + " Pale skin."  # the attribute's own words only
    out = leakage_probe(tt.conditional, None, ["pale", "skin"], **OPTIONS)
    gen = out["generated"]
    assert gen["excess"] == pytest.approx(0.0) and gen["p_value"] == 1.0
    assert out["amplification"] is None and gen["flaggable"] is True
    unmasked = leakage_probe(tt.conditional, None, ["dark"], **OPTIONS)["generated"]
    assert unmasked["p_value"] == pytest.approx(1 / (1 + OPTIONS["n_perm"]))  # the same words, not masked, do leak


def test_same_seed_same_result():
    tt = planted_texts(n=12, planted=4)
    a = leakage_probe(tt.conditional, tt.reference, ["x"], **OPTIONS)
    b = leakage_probe(tt.conditional, tt.reference, ["x"], **OPTIONS)
    assert a == b


WORDS = ["brow", "lip", "eye", "jaw", "cheek", "nose", "calm", "tense"]


def _null_texts(seed, n_ids=12):
    rng = np.random.default_rng(seed)
    return np.array([[" ".join(rng.choice(WORDS, 4)) for _ in range(3)] for _ in range(n_ids)], dtype=object)


# A permutation p-value can never claim more than its permutations show: at least 1/(1 + n_perm). The
# normal limit of the estimated null (used before) broke this on texts independent of the group
# (seed 760: p = 3e-5 from 30 permutations, none of which reached the observed value).
@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16))
def test_texts_independent_of_the_group_leak_at_chance(seed):
    gen = leakage_probe(_null_texts(seed), None, ["skin"], **{**OPTIONS, "seed": seed})["generated"]
    assert 1 / (1 + OPTIONS["n_perm"]) - 1e-12 <= gen["p_value"] <= 1.0
    assert gen["ci_low"] <= gen["chance"] + 4 * gen["null_sd"] + 1e-9


def test_seed_760_is_not_claimed_beyond_its_permutations():
    gen = leakage_probe(_null_texts(760), None, ["skin"], **{**OPTIONS, "seed": 760})["generated"]
    assert gen["p_value"] >= 1 / (1 + OPTIONS["n_perm"]) - 1e-12


@pytest.mark.slow
def test_null_rejection_rate_is_at_most_alpha():
    """Under the null, P(p <= 0.1) <= 0.1 for a valid permutation test (p takes the values k / 20)."""
    from scipy.stats import binomtest

    ps = np.array([leakage_probe(_null_texts(seed), None, ["skin"], **{**OPTIONS, "n_perm": 19, "seed": seed})
                   ["generated"]["p_value"] for seed in range(80)])
    rejected = int(np.count_nonzero(ps <= 0.1 + 1e-12))
    assert binomtest(rejected, len(ps), 0.1, alternative="greater").pvalue > 1e-3


def _sklearn_cv(x, y, fold_of, n_groups):
    """The oracle: scikit-learn's BernoulliNB fitted fold by fold, one labelling at a time."""
    from sklearn.naive_bayes import BernoulliNB

    out = np.full((len(y), n_groups), 1.0 / n_groups)
    for fold in np.unique(fold_of):
        test, train = fold_of == fold, fold_of != fold
        present = np.unique(y[train])
        if len(present) < 2 or x[train].nnz == 0:
            continue
        out[test] = 0.0
        out[np.ix_(test, present)] = BernoulliNB(alpha=1.0).fit(x[train], y[train]).predict_proba(x[test])
    return out


# The stacked fit (every labelling at once, matrix products) is sklearn's BernoulliNB fold by fold,
# on generated word matrices and labellings, including a group missing from a fold's training rows.
@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_texts=st.integers(4, 30), n_words=st.integers(0, 12), n_groups=st.integers(2, 4),
       n_labellings=st.integers(1, 5), folds=st.integers(2, 4))
def test_stacked_fit_equals_sklearn_fold_by_fold(data, n_texts, n_words, n_groups, n_labellings, folds):
    from scipy import sparse

    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = sparse.csr_matrix((rng.random((n_texts, n_words)) < rng.random()).astype(np.float64))
    labels = rng.integers(0, n_groups, size=(n_labellings, n_texts))
    fold_of = rng.integers(0, folds, size=n_texts)
    got = _cv_probabilities(x, labels, fold_of, n_groups)
    assert got.shape == (n_labellings, n_texts, n_groups)
    for k in range(n_labellings):
        np.testing.assert_allclose(got[k], _sklearn_cv(x, labels[k], fold_of, n_groups), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lic_scores(got, labels)[0], lic_scores(got[0], labels[0]))
