"""Metric changes: each rate's CI drawn from its own trials (a class's positives or negatives, not the group's size)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.comparison import metric_changes
from tinyemo_audit.comparison._metrics import NO_COUNTS


def results(tp: int, positives: int, fp: int, negatives: int, *, confusion=True):
    """Two classes; one group whose rates of class ``a`` are tp / positives (TPR) and fp / negatives (FPR)."""
    n = positives + negatives
    group = {"n": n, "tpr": {"a": {"value": tp / positives, "n": n}}, "fpr": {"a": {"value": fp / negatives, "n": n}}}
    if confusion:
        group["confusion"] = [[tp, positives - tp], [fp, negatives - fp]]
    return {"schema_version": "1.1", "run": {"dataset": "d", "classes": ["a", "b"]},
            "performance": {"overall": None, "by_attribute": {"site": {"groups": {"x": group}}}}}


def change(changes, rate):
    return next(c for c in changes if c["path"] == f"performance.by_attribute.site.groups.x.{rate}.a")


@settings(max_examples=25, deadline=None)
@given(positives=st.integers(4, 40), negatives=st.integers(400, 4000))
def test_tpr_ci_comes_from_the_class_positives(positives, negatives):
    """Half the positives found in both runs: the change's CI is as wide as `positives` trials make it.

    Drawn from the group's size instead, it would be about sqrt(n / positives) (at least 3x) narrower.
    """
    half = positives // 2
    tpr = change(metric_changes(results(half, positives, 0, negatives), results(half, positives, 0, negatives)), "tpr")
    assert tpr["value"] == 0 and tpr["ci_high"] - tpr["ci_low"] >= 0.25


def test_fpr_trials_are_the_class_negatives():
    base, new = results(450, 900, 10, 100), results(450, 900, 30, 100)  # FPR 10/100 -> 30/100 in a group of 1000
    fpr = change(metric_changes(base, new), "fpr")
    # 100 trials give a CI about 0.2 wide; the group's 1000 would give one about 0.07 wide
    assert fpr["value"] == pytest.approx(0.2) and fpr["ci_low"] < fpr["value"] < fpr["ci_high"]
    assert fpr["ci_high"] - fpr["ci_low"] > 0.15


def test_without_a_confusion_matrix_no_ci():
    changes = metric_changes(results(5, 10, 10, 990, confusion=False), results(5, 10, 20, 990, confusion=False))
    assert change(changes, "tpr")["ci_low"] is None and change(changes, "tpr")["note"] == NO_COUNTS
