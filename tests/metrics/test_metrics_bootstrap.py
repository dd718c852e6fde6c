"""Tests for the resampling engines in tinyemo_audit.metrics._bootstrap and bootstrap validity / fairlearn CI agreement."""

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import accuracy_score

from tinyemo_audit.metrics import flip_rate, group_table
from tinyemo_audit.metrics import _bootstrap
from tinyemo_audit.metrics._bootstrap import (
    permuted_cell_counts,
    row_bootstrap_weights,
    stratified_cell_bootstrap,
)


def test_stratified_bootstrap_keeps_group_sizes_and_matches_row_resampling_moments():
    cells = np.array([[30, 10, 0, 60], [5, 5, 5, 5], [0, 0, 0, 0]])
    draws = np.concatenate(list(stratified_cell_bootstrap(cells, 4000, np.random.default_rng(0))))
    assert draws.shape == (4000, 3, 4)
    np.testing.assert_array_equal(draws.sum(axis=2), np.broadcast_to(cells.sum(axis=1), (4000, 3)))
    assert (draws[:, 0, 2] == 0).all() and (draws[:, 2] == 0).all()
    # Resampling rows of a group: count of a cell ~ Binomial(n_g, share)
    share = 30 / 100
    assert draws[:, 0, 0].mean() == pytest.approx(30, abs=0.3)
    assert draws[:, 0, 0].var() == pytest.approx(100 * share * (1 - share), rel=0.1)


def test_stratified_bootstrap_is_chunked_and_deterministic(monkeypatch):
    cells = np.array([[3, 4], [5, 6]])
    whole = np.concatenate(list(stratified_cell_bootstrap(cells, 50, np.random.default_rng(1))))
    monkeypatch.setattr(_bootstrap, "MAX_CHUNK_ELEMENTS", 8)
    chunks = list(stratified_cell_bootstrap(cells, 50, np.random.default_rng(1)))
    assert len(chunks) == 25 and sum(len(c) for c in chunks) == 50
    again = np.concatenate(list(stratified_cell_bootstrap(cells, 50, np.random.default_rng(1))))
    np.testing.assert_array_equal(np.concatenate(chunks), again)
    assert whole.shape == again.shape


def test_permuted_counts_preserve_margins_and_match_hypergeometric_mean():
    cells = np.array([[40, 0, 10], [0, 25, 25], [5, 5, 0]])
    draws = np.concatenate(list(permuted_cell_counts(cells, 3000, np.random.default_rng(2))))
    np.testing.assert_array_equal(draws.sum(axis=2), np.broadcast_to(cells.sum(axis=1), (3000, 3)))
    np.testing.assert_array_equal(draws.sum(axis=1), np.broadcast_to(cells.sum(axis=0), (3000, 3)))
    # group 0 holds 50 of 110 rows; cell 0 has 45 pooled rows → E = 45 * 50 / 110
    assert draws[:, 0, 0].mean() == pytest.approx(45 * 50 / 110, abs=0.3)


def test_permuted_counts_equal_explicit_row_shuffles_in_distribution():
    rng = np.random.default_rng(3)
    groups = np.repeat([0, 1], [12, 8])
    cell = rng.integers(0, 3, 20)
    cells = np.zeros((2, 3), dtype=int)
    np.add.at(cells, (groups, cell), 1)
    ours = np.concatenate(list(permuted_cell_counts(cells, 20000, np.random.default_rng(4))))[:, 0, 0]
    shuffled = rng.permuted(np.tile(groups, (20000, 1)), axis=1)
    reference = ((shuffled == 0) & (cell == 0)).sum(axis=1)
    assert ours.mean() == pytest.approx(reference.mean(), abs=0.05)
    assert ours.var() == pytest.approx(reference.var(), rel=0.05)


def test_row_bootstrap_weights_sum_to_n():
    weights = np.concatenate(list(row_bootstrap_weights(17, 300, np.random.default_rng(0))))
    assert weights.shape == (300, 17)
    assert (weights.sum(axis=1) == 17).all()
    assert weights.mean() == pytest.approx(1.0, abs=0.02)


def test_group_table_ci_agrees_with_fairlearn_bootstrap():
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.integers(0, 7, n)
    p = np.where(rng.random(n) < 0.6, y, rng.integers(0, 7, n))
    s = rng.integers(0, 2, n)
    frame = MetricFrame(
        metrics=accuracy_score, y_true=y, y_pred=p, sensitive_features=s,
        n_boot=50, ci_quantiles=[0.025, 0.975], random_state=0,
    )
    table = group_table(y, p, s, n_boot=50, seed=0, interval="bootstrap")
    ours = table[(table.metric == "accuracy") & (table.group != "*")].set_index("group")
    for group in (0, 1):
        assert abs(ours.loc[group, "ci_low"] - frame.by_group_ci[0].loc[group]) < 0.01
        assert abs(ours.loc[group, "ci_high"] - frame.by_group_ci[1].loc[group]) < 0.01


def _coverage_of_known_proportion(n_groups, n_per_group, share, n_boot, seed, interval="bootstrap"):
    """Each group is one independent experiment: its selection rate estimates ``share``."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), n_per_group)
    y_pred = (rng.random(n_groups * n_per_group) < share).astype(int)
    table = group_table(np.ones_like(y_pred), y_pred, groups, n_boot=n_boot, seed=seed, classes=[1],
                        interval=interval)
    rows = table[(table.metric == "selection_rate") & (table.group != "*")]
    return float(((rows.ci_low <= share) & (share <= rows.ci_high)).mean())


def test_bootstrap_ci_coverage_of_known_proportion_fast():
    coverage = _coverage_of_known_proportion(1500, 200, 0.3, 1000, seed=1)
    assert 0.93 <= coverage <= 0.97


def test_wilson_covers_where_the_bootstrap_does_not():
    # Accuracy near 0.98 in groups of 60: a handful of errors per group. The percentile bootstrap
    # collapses (a group with no error gets [1, 1]); the Wilson interval keeps its 95 %.
    bootstrap = _coverage_of_known_proportion(3000, 60, 0.98, 200, seed=2, interval="bootstrap")
    wilson = _coverage_of_known_proportion(3000, 60, 0.98, 200, seed=2, interval="wilson")
    assert bootstrap < 0.85
    assert 0.93 <= wilson <= 0.99


def test_flip_rate_ci_coverage_fast():
    rng = np.random.default_rng(5)
    hits = 0
    for seed in range(1000):
        flips = rng.random(150) < 0.2
        result = flip_rate(flips.astype(int), np.zeros(150, dtype=int), n_boot=1000, seed=seed)
        hits += result["ci_low"] <= 0.2 <= result["ci_high"]
    assert 0.93 <= hits / 1000 <= 0.97


@pytest.mark.slow
@pytest.mark.parametrize("share, n_per_group", [(0.3, 200), (0.5, 100), (0.15, 400)])
def test_bootstrap_ci_coverage_of_known_proportion_slow(share, n_per_group):
    coverage = _coverage_of_known_proportion(10_000, n_per_group, share, 2000, seed=2)
    assert 0.93 <= coverage <= 0.97
