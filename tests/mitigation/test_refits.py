"""The refit null of a retraining method's new skew finding (mitigation._refits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tinyemo_audit.audit._embedding_probes import RetrievalScores
from tinyemo_audit.errors import InputError
from tinyemo_audit.mitigation._refits import RefitNull, refit_test, with_refit_null

CLASSES = ("angry", "happy")


def _null() -> RefitNull:
    # 3 refits x 4 items x 2 labels; for "happy" (column 1) the refits rank the items differently
    happy = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.9, 0.8, 0.0], [0.0, 0.1, 0.8, 0.9]], dtype=np.float32)
    sims = np.stack([np.zeros_like(happy), happy], axis=-1)
    return RefitNull(sims, (1, 2, 3))


def test_refit_p_counts_by_hand():
    member = np.array([True, True, False, False])  # items 0 and 1 are the group
    # top 2 for happy: refit 1 -> items 0, 1 (2 members); refit 2 -> 1, 2 (1); refit 3 -> 3, 2 (0)
    out = refit_test(_null(), label_index=1, member=member, k=2, observed=2)
    assert out["refit_counts"] == [2, 1, 0]
    assert out["p_value"] == pytest.approx((1 + 1) / (3 + 1))  # one refit reaches 2
    assert refit_test(_null(), label_index=1, member=member, k=2, observed=1)["p_value"] == pytest.approx(3 / 4)
    assert refit_test(_null(), label_index=1, member=member, k=2, observed=3)["p_value"] == pytest.approx(1 / 4)
    assert "3 refits" in out["test"] and "seeds 1-3" in out["test"]


def _after() -> RetrievalScores:
    attributes = pd.DataFrame({"gender": ["feminine", "feminine", "masculine", "masculine"]})
    return RetrievalScores(np.zeros((4, 2), np.float32), attributes, CLASSES, 2)


FINDING = {"kind": "skew", "attribute": "gender", "groups": ["feminine"], "outcome": {"target": "happy"},
           "title": 'The faces most like "happy" are over-represented by gender presentation feminine'}


def test_the_larger_of_the_paired_and_the_refit_p_decides():
    asked = []

    def null_of():
        asked.append(1)
        return _null()

    def paired(finding):
        return None if finding["kind"] != "skew" else {"p_value": 0.001, "after": 2, "test": "paired"}

    test = with_refit_null(paired, null_of, _after())
    out = test(FINDING)
    assert (out["p_paired"], out["p_refit"], out["p_value"]) == (0.001, 0.5, 0.5)  # a refit does as much
    assert out["refit_counts"] == [2, 1, 0] and "intersection-union" in out["test"]
    assert test({**FINDING, "kind": "disparity"}) is None  # no paired test: no refits asked for either
    assert len(asked) == 1


def test_a_refit_with_the_recipes_own_seed_is_the_bundle_itself():
    # the refit path is the source's recipe: with its own seed it reproduces the shipped projector exactly
    from tinyemo_audit.data.registry import load_dataset
    from tinyemo_audit.mitigation._data import train_config
    from tinyemo_audit.mitigation._refits import refit_similarities
    from tinyemo_audit.model.bundle import load_bundle
    from tinyemo_audit.model.classifier import classify, dataset_features, project

    bundle = load_bundle("faces-mini-clean")
    features = dataset_features(bundle, load_dataset("faces", "test").subset(np.arange(300)), progress=False)
    own = refit_similarities(bundle, features, train_config(bundle).seed)
    assert np.array_equal(own, classify(bundle, project(bundle, features)).similarities)


@pytest.mark.parametrize("value", [-1, 1000])
def test_refits_out_of_range_is_one_line(value):
    from tinyemo_audit.mitigation._run import _check_options

    with pytest.raises(InputError, match="refits must be in"):
        _check_options({"refits": value})


def test_mitigate_measures_a_retraining_methods_new_skew_against_refits(monkeypatch, tmp_path):
    # the wiring: reweigh's comparison gets the paired test combined with N refits of the source (fitted lazily)
    from tinyemo_audit import comparison
    from tinyemo_audit.mitigation._run import mitigate

    small = tmp_path / "small.yaml"
    small.write_text("n_boot: 100\nn_perm: 100\nn_perm_paired: 100\ntwins_per_attribute: 24\n")
    tests = []
    real = comparison.compare_results

    def spy(before, after, **kwargs):
        tests.append(kwargs["change_test"])
        return real(before, after, **kwargs)

    monkeypatch.setattr(comparison, "compare_results", spy)
    mitigate(model="faces-mini-clean", method="reweigh", attributes=["skin_group"], n=300, config=small,
             options={"refits": 2})
    finding = {"kind": "skew", "attribute": "skin_group", "groups": ["dark"], "outcome": {"target": "neutral"},
               "title": 'The faces most like "neutral" are over-represented by skin tone dark'}
    out = tests[0](finding)
    assert len(out["refit_counts"]) == 2 and out["p_value"] == max(out["p_paired"], out["p_refit"])
    assert out["p_refit"] in (1 / 3, 2 / 3, 1.0)
