"""Tests for tinyemo_audit.metrics._group: group_table, disparity, equalized odds (fairlearn as oracle)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference as fl_equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics import disparity, equalized_odds, equalized_odds_difference, group_table

# fairlearn user guide example (METRICS.md §A)
Y_TRUE = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]
Y_PRED = [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0]
SF = ["b", "b", "a", "b", "b", "c", "c", "c", "a", "a", "c", "a", "b", "c", "c", "b", "c", "c"]


def _value(table, group, metric, cls):
    rows = table[(table.group == group) & (table.metric == metric) & (table.cls == cls)]
    assert len(rows) == 1
    return rows.iloc[0]


def _random_multiclass(seed, n=3000, n_classes=5, n_groups=4, labels=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    p = np.where(rng.random(n) < 0.5, y, rng.integers(0, n_classes, n))
    s = rng.integers(0, n_groups, n)
    if labels is not None:
        y, p = np.asarray(labels)[y], np.asarray(labels)[p]
    return y, p, np.array([f"g{v}" for v in s])


def test_user_guide_example_reproduces_exactly():
    table = group_table(Y_TRUE, Y_PRED, SF, n_boot=0)
    expected = {
        "tpr": {"*": 0.5, "a": 0.5, "b": 0.6, "c": 0.4},
        "fpr": {"*": 2 / 3, "a": 1.0, "b": 0.0, "c": 2 / 3},
        "selection_rate": {"*": 5 / 9, "a": 0.75, "b": 0.5, "c": 0.5},
    }
    for metric, by_group in expected.items():
        for group, value in by_group.items():
            assert _value(table, group, metric, 1).value == pytest.approx(value, abs=1e-12)
    counts = table[table.metric == "accuracy"].set_index("group").n.to_dict()
    assert counts == {"*": 18, "a": 4, "b": 6, "c": 8}
    dp = disparity(Y_TRUE, Y_PRED, SF, metric="selection_rate", cls=1, n_boot=0, n_perm=0)
    assert dp["value"] == pytest.approx(0.25, abs=1e-12)
    ratio = disparity(Y_TRUE, Y_PRED, SF, metric="selection_rate", cls=1, kind="ratio", n_boot=0, n_perm=0)
    assert ratio["value"] == pytest.approx(2 / 3, abs=1e-12)
    assert round(ratio["value"], 4) == 0.6667
    assert equalized_odds_difference(Y_TRUE, Y_PRED, SF, cls=1) == pytest.approx(1.0, abs=1e-12)
    # and fairlearn agrees on the same data
    assert dp["value"] == pytest.approx(demographic_parity_difference(Y_TRUE, Y_PRED, sensitive_features=SF))
    assert ratio["value"] == pytest.approx(demographic_parity_ratio(Y_TRUE, Y_PRED, sensitive_features=SF))


def test_columns_and_rows():
    table = group_table(Y_TRUE, Y_PRED, SF, n_boot=20)
    assert {"group", "cls", "metric", "value", "ci_low", "ci_high", "n", "flaggable", "note"} <= set(table.columns)
    # overall + 3 groups, each accuracy + 3 metrics x 2 classes
    assert len(table) == 4 * (1 + 3 * 2)
    assert set(table.metric) == {"accuracy", "tpr", "fpr", "selection_rate"}
    assert (table[table.metric == "accuracy"].cls == "*").all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_point_estimates_equal_fairlearn_metricframe(seed):
    y, p, s = _random_multiclass(seed)
    table = group_table(y, p, s, n_boot=0)
    acc = MetricFrame(metrics=accuracy_score, y_true=y, y_pred=p, sensitive_features=s)
    for group, value in acc.by_group.items():
        assert _value(table, group, "accuracy", "*").value == pytest.approx(value, abs=1e-12)
    assert _value(table, "*", "accuracy", "*").value == pytest.approx(acc.overall, abs=1e-12)
    for k in range(5):
        frame = MetricFrame(
            metrics={"tpr": true_positive_rate, "fpr": false_positive_rate, "selection_rate": selection_rate},
            y_true=(y == k).astype(int),
            y_pred=(p == k).astype(int),
            sensitive_features=s,
        )
        for metric in ("tpr", "fpr", "selection_rate"):
            for group, value in frame.by_group[metric].items():
                assert abs(_value(table, group, metric, k).value - value) <= 1e-12
            assert abs(_value(table, "*", metric, k).value - frame.overall[metric]) <= 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_equalized_odds_difference_equals_fairlearn_on_binary(seed):
    rng = np.random.default_rng(seed)
    n = 500
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.7, y, 1 - y)
    s = rng.choice(["x", "y", "z"], n)
    ours = equalized_odds_difference(y, p, s, cls=1)
    assert ours == pytest.approx(fl_equalized_odds_difference(y, p, sensitive_features=s), abs=1e-12)


def test_multiclass_equalized_odds_is_max_over_classes():
    y, p, s = _random_multiclass(3, n_classes=4)
    by_class = [equalized_odds_difference(y, p, s, cls=k) for k in range(4)]
    summary = equalized_odds(y, p, s)
    assert summary["value"] == pytest.approx(max(by_class))
    assert summary["cls"] == int(np.argmax(by_class))
    assert equalized_odds_difference(y, p, s, cls=None) == pytest.approx(max(by_class))


def test_string_labels_match_integer_labels():
    emotions = ["angry", "happy", "neutral", "sad"]
    y, p, s = _random_multiclass(4, n_classes=4)
    ints = group_table(y, p, s, n_boot=50, seed=1)
    strs = group_table(np.asarray(emotions)[y], np.asarray(emotions)[p], s, n_boot=50, seed=1)
    assert set(strs.cls) == set(emotions) | {"*"}
    np.testing.assert_array_equal(ints.value.to_numpy(), strs.value.to_numpy())
    np.testing.assert_array_equal(ints.ci_low.to_numpy(), strs.ci_low.to_numpy())


def test_same_seed_same_output_and_different_seed_differs():
    y, p, s = _random_multiclass(5)
    first = group_table(y, p, s, n_boot=200, seed=7, interval="bootstrap")
    pd.testing.assert_frame_equal(first, group_table(y, p, s, n_boot=200, seed=7, interval="bootstrap"))
    assert not first.ci_low.equals(group_table(y, p, s, n_boot=200, seed=8, interval="bootstrap").ci_low)
    d1 = disparity(y, p, s, metric="tpr", cls=2, n_boot=200, n_perm=200, seed=3)
    assert d1 == disparity(y, p, s, metric="tpr", cls=2, n_boot=200, n_perm=200, seed=3)


def test_ci_brackets_point_estimate():
    y, p, s = _random_multiclass(6)
    table = group_table(y, p, s, n_boot=300)
    finite = table.dropna(subset=["ci_low"])
    assert len(finite) == len(table)
    assert (finite.ci_low <= finite.value + 1e-9).all() and (finite.value <= finite.ci_high + 1e-9).all()


def test_wilson_intervals_equal_scipy_for_every_rate():
    from scipy.stats import binomtest

    y, p, s = _random_multiclass(11)
    table = group_table(y, p, s, n_boot=0, confidence=0.9).dropna(subset=["value"])
    for row in table.sample(40, random_state=0).itertuples():
        k = int(round(row.value * row.support))
        ci = binomtest(k, int(row.support)).proportion_ci(confidence_level=0.9, method="wilson")
        assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_unknown_interval_is_a_usage_error():
    with pytest.raises(UsageError, match="interval must be one of wilson, bootstrap"):
        group_table(Y_TRUE, Y_PRED, SF, interval="exact")


def test_class_absent_in_group_gives_nan_with_reason():
    y = ["happy", "sad", "happy", "happy", "happy"]
    p = ["happy", "sad", "sad", "happy", "happy"]
    s = ["a", "a", "b", "b", "b"]
    table = group_table(y, p, s, n_boot=30)
    row = _value(table, "b", "tpr", "sad")
    assert np.isnan(row.value) and not row.flaggable
    assert "class absent" in row.note
    # FPR for 'sad' in b is still defined (1 of 3 negatives predicted sad)
    assert _value(table, "b", "fpr", "sad").value == pytest.approx(1 / 3)
    assert _value(table, "a", "tpr", "sad").value == 1.0


def test_empty_and_single_row_groups():
    s = pd.Categorical(["a"] * 40 + ["b"], categories=["a", "b", "empty"])
    y = np.array([0, 1] * 20 + [1])
    p = np.array([0, 1] * 20 + [0])
    table = group_table(y, p, s, n_boot=50, interval="bootstrap")
    empty = table[table.group == "empty"]
    assert len(empty) == 7 and empty.value.isna().all() and (empty.n == 0).all()
    assert empty.note.str.contains("empty group").all() and not empty.flaggable.any()
    single = _value(table, "b", "accuracy", "*")
    assert single.n == 1 and single.value == 0.0 and not single.flaggable
    assert single.ci_low == single.ci_high == 0.0  # one row: every resample is that row
    assert "min_group_size" in single.note
    big = _value(table, "a", "accuracy", "*")
    assert big.flaggable and big.n == 40 and big.note == ""


def test_explicit_groups_argument_keeps_empty_group():
    table = group_table([0, 1], [0, 1], ["x", "x"], groups=["x", "y"], n_boot=0)
    assert _value(table, "y", "accuracy", "*").n == 0


def test_min_group_size_marks_flaggable():
    y, p, s = _random_multiclass(7, n=200, n_groups=2)
    table = group_table(y, p, s, n_boot=0, min_group_size=150)
    acc = table[table.metric == "accuracy"].set_index("group")
    assert acc.flaggable.to_dict() == {"*": True, "g0": False, "g1": False}
    assert group_table(y, p, s, n_boot=0)[lambda t: t.metric == "accuracy"].flaggable.all()


def test_single_group():
    table = group_table([0, 1, 1], [0, 1, 0], ["a"] * 3, n_boot=20)
    assert set(table.group) == {"*", "a"}
    np.testing.assert_allclose(
        table[table.group == "a"].value.to_numpy(), table[table.group == "*"].value.to_numpy(), equal_nan=True
    )
    result = disparity([0, 1, 1], [0, 1, 0], ["a"] * 3, metric="accuracy", n_boot=20, n_perm=20)
    assert result["value"] == 0.0 and np.isnan(result["p_value"]) and "single group" in result["note"]


@pytest.mark.parametrize(
    "y_true, y_pred, sensitive",
    [
        ([0, 1, np.nan], [0, 1, 1], ["a", "a", "b"]),
        ([0, 1, 1], [0, None, 1], ["a", "a", "b"]),
        ([0, 1, 1], [0, 1, 1], ["a", np.nan, "b"]),
    ],
)
def test_nan_input_raises(y_true, y_pred, sensitive):
    with pytest.raises(InputError, match="missing values"):
        group_table(y_true, y_pred, sensitive)
    with pytest.raises(InputError, match="missing values"):
        disparity(y_true, y_pred, sensitive, metric="accuracy")


def test_mismatched_lengths_raise():
    with pytest.raises(InputError, match="different lengths"):
        group_table([0, 1, 1], [0, 1], ["a", "a", "b"])
    with pytest.raises(InputError, match="different lengths"):
        equalized_odds_difference([0, 1], [0, 1], ["a"], cls=1)


def test_bad_arguments_raise_usage_error():
    with pytest.raises(UsageError, match="metric"):
        disparity(Y_TRUE, Y_PRED, SF, metric="recall")
    with pytest.raises(UsageError, match="pass cls"):
        disparity(Y_TRUE, Y_PRED, SF, metric="tpr")
    with pytest.raises(UsageError, match="not one of the classes"):
        disparity(Y_TRUE, Y_PRED, SF, metric="tpr", cls=7)
    with pytest.raises(UsageError, match="kind"):
        disparity(Y_TRUE, Y_PRED, SF, metric="accuracy", kind="log")
    with pytest.raises(UsageError, match="confidence"):
        group_table(Y_TRUE, Y_PRED, SF, confidence=95)
    with pytest.raises(UsageError, match="n_boot"):
        group_table(Y_TRUE, Y_PRED, SF, n_boot=-1)


def test_disparity_variants_against_hand_values():
    common = dict(metric="tpr", cls=1, n_boot=0, n_perm=0)
    # TPR a 0.5, b 0.6, c 0.4, overall 0.5
    assert disparity(Y_TRUE, Y_PRED, SF, **common)["value"] == pytest.approx(0.2)
    assert disparity(Y_TRUE, Y_PRED, SF, kind="ratio", **common)["value"] == pytest.approx(0.4 / 0.6)
    assert disparity(Y_TRUE, Y_PRED, SF, relative_to="overall", **common)["value"] == pytest.approx(0.1)
    assert disparity(Y_TRUE, Y_PRED, SF, relative_to="overall", kind="ratio", **common)["value"] == pytest.approx(0.8)
    tpr = disparity(Y_TRUE, Y_PRED, SF, **common)
    assert (tpr["worst_group"], tpr["best_group"]) == ("c", "b")
    fpr = disparity(Y_TRUE, Y_PRED, SF, metric="fpr", cls=1, n_boot=0, n_perm=0)
    assert (fpr["worst_group"], fpr["best_group"]) == ("a", "b") and fpr["value"] == pytest.approx(1.0)


def test_ratio_conventions_zero_over_zero_is_one():
    # nobody is ever predicted 'x' → every selection rate is 0 → ratio 0/0 := 1
    y = ["x", "y"] * 10
    p = ["y"] * 20
    s = ["a", "b", "c", "d"] * 5
    result = disparity(y, p, s, metric="selection_rate", cls="x", kind="ratio", n_boot=10, n_perm=10)
    assert result["value"] == 1.0
    result = disparity(y, p, s, metric="selection_rate", cls="x", kind="ratio", relative_to="overall", n_boot=0, n_perm=0)
    assert result["value"] == 1.0


def test_disparity_excludes_undefined_groups_with_note():
    y = [1, 1, 0, 0, 0, 1]
    p = [1, 0, 0, 0, 1, 1]
    s = ["a", "a", "b", "b", "c", "c"]
    result = disparity(y, p, s, metric="tpr", cls=1, n_boot=20, n_perm=20)
    assert np.isnan(result["by_group"]["b"]) and "'b'" in result["note"]
    assert result["value"] == pytest.approx(0.5)


def test_planted_disparity_is_detected_and_flaggable():
    rng = np.random.default_rng(11)
    n = 4000
    s = rng.choice(["light", "dark"], n)
    y = rng.choice(["angry", "happy", "neutral"], n)
    p = y.copy()
    flip = (s == "dark") & (y == "neutral") & (rng.random(n) < 0.3)
    p[flip] = "angry"
    result = disparity(y, p, s, metric="fpr", cls="angry", n_boot=300, n_perm=300)
    assert result["worst_group"] == "dark" and result["flaggable"]
    assert result["p_value"] < 0.01
    assert result["ci_low"] <= result["value"] <= result["ci_high"] and result["ci_low"] > 0.05


def test_disparity_point_value_matches_group_table():
    y, p, s = _random_multiclass(8, n_groups=2)
    result = disparity(y, p, s, metric="accuracy", n_boot=200, n_perm=0, seed=4)
    table = group_table(y, p, s, n_boot=200, seed=4)
    acc = table[(table.metric == "accuracy") & (table.group != "*")].value.to_numpy()
    assert result["value"] == pytest.approx(abs(acc[0] - acc[1]))
    assert result["ci_high"] > result["value"] > 0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 60), st.integers(0, 2**16))
def test_counted_functions_equal_the_array_functions_on_the_same_items(n_classes, n_groups, n, seed):
    """cell_counts of index-coded rows is _tabulate's table of the same rows (groups sorted), so the
    count-based functions the audit calls give what the array functions give."""
    from tinyemo_audit.metrics import cell_counts, disparity_counts, equalized_odds_counts, group_table_counts

    rng = np.random.default_rng(seed)
    true, predicted = rng.integers(0, n_classes, n), rng.integers(0, n_classes, n)
    groups = np.array([f"g{i}" for i in range(n_groups)])
    codes = rng.integers(0, n_groups, n)
    present = np.unique(codes)  # the array functions tabulate the groups that occur
    codes = np.searchsorted(present, codes)
    counts = cell_counts(true, predicted, codes, groups[present], n_classes)
    sensitive, classes = groups[present][codes], np.arange(n_classes)
    kw = dict(n_boot=30, seed=seed, min_group_size=1)
    pd.testing.assert_frame_equal(group_table_counts(counts, **kw),
                                  group_table(true, predicted, sensitive, classes=classes, **kw))
    assert equalized_odds_counts(counts) == equalized_odds(true, predicted, sensitive, classes=classes)
    if len(present) > 1:
        ours = disparity_counts(counts, metric="accuracy", n_perm=30, **kw)
        assert ours == disparity(true, predicted, sensitive, metric="accuracy", classes=classes, n_perm=30, **kw)
