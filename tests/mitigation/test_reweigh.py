"""Reweighing weights against a hand computation and against their defining property."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.mitigation import reweighing_weights


def test_weights_of_a_hand_computed_case():
    # n = 4; P(a) = 3/4, P(b) = 1/4, P(y=1) = P(y=0) = 1/2
    # (a, 1): 3/8 / (2/4) = 0.75; (a, 0): 3/8 / (1/4) = 1.5; (b, 0): 1/8 / (1/4) = 0.5
    weights = reweighing_weights(np.array([1, 1, 0, 0]), np.array(["a", "a", "a", "b"]))
    assert weights.tolist() == [0.75, 0.75, 1.5, 0.5]


def test_the_planted_annotation_bias_is_weighed_down():
    # 100 dark and 100 light faces, 10 classes-worth of labels: dark carries 'angry' twice as often
    labels = np.array([0] * 20 + [1] * 80 + [0] * 10 + [1] * 90)
    groups = np.array(["dark"] * 100 + ["light"] * 100)
    weights = reweighing_weights(labels, groups)
    # P(dark) P(angry) / P(dark, angry) = (1/2)(30/200) / (20/200) = 0.75
    assert weights[0] == 0.75 and weights[100] == 1.5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from("abc")), min_size=1, max_size=80))
def test_weighted_label_and_group_are_independent(rows):
    frame = pd.DataFrame(rows, columns=["label", "group"])
    weights = reweighing_weights(frame["label"].to_numpy(), frame["group"].to_numpy())
    n = len(frame)
    frame["w"] = weights
    cell = frame.groupby(["group", "label"])["w"].sum()
    n_group = frame.groupby("group").size()
    n_label = frame.groupby("label").size()
    # Kamiran & Calders: every observed cell's weighted count is its expected count under independence
    for (group, label), total in cell.items():
        assert np.isclose(total, n_group[group] * n_label[label] / n)
    assert (weights > 0).all()
