"""Bundle steps: the stored CorrelationRemover equals fairlearn's transform; steps need the attributes they read."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.preprocessing import CorrelationRemover
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.errors import InputError
from tinyemo_audit.mitigation import fit_correlation_remover
from tinyemo_audit.model.steps import MSG_NEEDS_ATTRIBUTES, decide, group_key, group_keys, one_hot, remove_correlation


def _data(seed=0, n=400, d=6):
    rng = np.random.default_rng(seed)
    attrs = pd.DataFrame({"skin": rng.choice(["light", "dark", "medium"], n), "gender": rng.choice(["f", "m"], n)})
    x = rng.normal(size=(n, d)) + 2.0 * (attrs["skin"] == "dark").to_numpy()[:, None]
    return x.astype(np.float32), attrs


def test_stored_correlation_remover_equals_fairlearns_transform():
    x, attrs = _data()
    tensors, columns = fit_correlation_remover(x, attrs, ["skin", "gender"], alpha=0.7)
    sensitive = one_hot(attrs, columns, step="correlation-remover")
    ours = remove_correlation(x, sensitive, tensors["beta"].astype(np.float64),
                              tensors["sensitive_mean"].astype(np.float64), 0.7)
    remover = CorrelationRemover(sensitive_feature_ids=list(range(6, 6 + len(columns))), alpha=0.7)
    table = np.concatenate([x.astype(np.float64), sensitive], axis=1)
    assert np.allclose(ours, remover.fit(table).transform(table), atol=1e-4)


def test_filtered_features_are_uncorrelated_with_the_groups():
    x, attrs = _data(seed=3)
    tensors, columns = fit_correlation_remover(x, attrs, ["skin"])
    sensitive = one_hot(attrs, columns, step="correlation-remover")
    out = remove_correlation(x, sensitive, tensors["beta"].astype(np.float64), tensors["sensitive_mean"].astype(np.float64), 1.0)
    centred = sensitive - sensitive.mean(0)
    assert np.abs(centred.T @ (out - out.mean(0)) / len(out)).max() < 1e-3


def test_a_step_without_its_attribute_is_one_input_error():
    with pytest.raises(InputError, match="at prediction time"):
        one_hot(pd.DataFrame({"age": ["a"]}), [("skin", "dark")], step="correlation-remover")
    with pytest.raises(InputError, match="no entry for skin=.purple"):
        one_hot(pd.DataFrame({"skin": ["purple"]}), [("skin", "dark")], step="correlation-remover")
    assert "{attribute" in MSG_NEEDS_ATTRIBUTES


class _Bundle:
    temperature = 0.5

    def __init__(self, decision):
        self.spec = {"decision": decision}


def test_group_offsets_move_the_decision_of_their_group_only():
    decision = {"kind": "group-offsets", "attributes": ["skin"],
                "offsets": [{"group": {"skin": "dark"}, "logits": {"angry": -2.0}},
                            {"group": {"skin": "light"}, "logits": {}}]}
    sims = np.array([[0.6, 0.5], [0.6, 0.5]])
    attrs = pd.DataFrame({"skin": ["dark", "light"]})
    scores, probs, predicted = decide(_Bundle(decision), sims, np.zeros((2, 3)), attrs, ("angry", "neutral"))
    # dark: 0.6 + 0.5 * -2 = -0.4 < 0.5 -> neutral; light unchanged -> angry
    assert predicted.tolist() == [1, 0]
    assert np.allclose(scores, sims) and np.allclose(probs.sum(1), 1)  # the metric space stays as it is
    # P(angry) of the dark item: softmax of the moved logits (-0.4, 0.5) / 0.5
    assert np.isclose(probs[0, 0], 1 / (1 + np.exp((0.5 + 0.4) / 0.5)))
    with pytest.raises(InputError, match="at prediction time"):
        decide(_Bundle(decision), sims, np.zeros((2, 3)), None, ("angry", "neutral"))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=4), st.text(max_size=4), st.integers(-3, 3)), max_size=30),
       st.sampled_from([["a"], ["a", "b"], ["b", "c", "a"], []]))
def test_group_keys_join_each_items_values_as_group_key_does(rows, names):
    attrs = pd.DataFrame(rows, columns=["a", "b", "c"]) if rows else pd.DataFrame({"a": [], "b": [], "c": []})
    keys = group_keys(attrs, names, step="group-offsets")
    assert keys.tolist() == [group_key(row, names) for row in attrs.astype(str).to_dict("records")]
