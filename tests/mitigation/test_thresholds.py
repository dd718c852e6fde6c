"""Per-group post-processing: offsets and fairlearn's ThresholdOptimizer equalise the target's rates on validation."""

import numpy as np
from fairlearn.metrics import equalized_odds_difference

from tinyemo_audit.mitigation import fit_offsets, fit_threshold_optimizer
from tinyemo_audit.mitigation._thresholds import group_offsets, target_margins
from tinyemo_audit.model.steps import threshold_decisions


def _validation(seed=0, n=3000, shift=1.5):
    """3 classes; group b's logit of class 0 (the target) is ``shift`` higher: the planted bias."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 2.5 * np.eye(3)[labels]
    groups = np.where(rng.random(n) < 0.5, "a", "b")
    logits[groups == "b", 0] += shift
    return logits, labels, groups


def _rates(logits, labels, keys, target=0):
    pred = logits.argmax(1) == target
    pos = labels == target
    return {k: (pred[(keys == k) & pos].mean(), pred[(keys == k) & ~pos].mean()) for k in np.unique(keys)}


def test_offsets_equalise_the_target_rates_of_each_group():
    logits, labels, keys = _validation()
    before = _rates(logits, labels, keys)
    assert abs(before["a"][1] - before["b"][1]) > 0.1  # FPR gap planted
    offsets = fit_offsets(logits, labels, keys, 0)
    adjusted = logits.copy()
    adjusted[:, 0] += np.array([offsets[k] for k in keys])
    after = _rates(adjusted, labels, keys)
    margins = target_margins(logits, 0)
    overall = ((margins[labels == 0] < 0).mean(), (margins[labels != 0] < 0).mean())
    for key in ("a", "b"):
        assert abs(after[key][0] - overall[0]) < 0.03 and abs(after[key][1] - overall[1]) < 0.03
    assert offsets["b"] < offsets["a"]  # the group whose target logit was raised gets the lower offset


def test_offsets_of_a_hand_computed_case():
    # one class-0 item and one other item per group; overall TPR 1, FPR 1/2 (group b's negative is predicted 0)
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.5, 0.0]])
    labels = np.array([0, 1, 0, 1])
    keys = np.array(["a", "a", "b", "b"])
    offsets = fit_offsets(logits, labels, keys, 0)
    # a: TPR 1, FPR 0 -> gap 1/2 at any offset that keeps it; raising the target by > 1 makes FPR 1, gap 1/2 too:
    # the smallest offset of the ties is 0. b: TPR 1, FPR 1 -> gap 1/2 everywhere from -0.5 to 2: 0 again
    assert offsets == {"a": 0.0, "b": 0.0}


def test_offsets_for_several_targets_are_bundle_rows():
    logits, labels, keys = _validation()
    groups = [{"skin": k} for k in keys]
    rows = group_offsets(logits, labels, groups, ["skin"], [0, 1], ("angry", "happy", "neutral"))
    assert {tuple(r["group"].items()) for r in rows} == {(("skin", "a"),), (("skin", "b"),)}
    assert all(set(r["logits"]) == {"angry", "happy"} for r in rows)


def test_threshold_optimizer_equalises_odds_on_validation():
    logits, labels, keys = _validation(seed=1)
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob = (prob / prob.sum(1, keepdims=True))[:, 0]
    groups = [{"skin": k} for k in keys]
    rows = fit_threshold_optimizer(prob, labels == 0, groups, ["skin"])
    decision = {"attributes": ["skin"], "groups": rows}
    # the expected decision of each item over the randomised rule (a fine grid of draws)
    draws = np.linspace(0, 1, 401, endpoint=False)
    expected = np.mean([threshold_decisions(decision, prob, keys, np.full(len(prob), u)) for u in draws], axis=0)
    y = (labels == 0).astype(int)
    rates = {k: (expected[(keys == k) & (y == 1)].mean(), expected[(keys == k) & (y == 0)].mean()) for k in ("a", "b")}
    assert abs(rates["a"][0] - rates["b"][0]) < 0.02 and abs(rates["a"][1] - rates["b"][1]) < 0.02
    plain = prob > 0.5
    assert equalized_odds_difference(y, plain, sensitive_features=keys) > 0.1
    # each group's randomised rule is a mixture: its operations' shares sum to 1
    assert all(abs(sum(op["p"] for op in row["operations"]) - 1) < 1e-9 for row in rows)
