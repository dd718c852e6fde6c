"""The flag rule: one decision per record, the stated rules, severity, and a reason for every non-finding."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit import _rules
from tinyemo_audit.audit._findings import apply_fdr, rank_findings, probe_records
from tinyemo_audit.audit.settings import load_settings

from planted_audit import planted_results, skew_record

SETTINGS = load_settings()


def test_stated_rules_cover_every_probe():
    rules = _rules.rules(SETTINGS)
    assert rules["q_max"] == 0.05 and rules["min_group_size"] == 30
    assert set(rules["min_effect"]) == set(rules["tests"]) == set(rules["categories"]) == set(_rules.PROBES)
    assert rules["min_effect"]["counterfactual"] == 0.03 and rules["min_effect"]["cluster"] == 1.5
    assert {rules["categories"][k] for k in ("counterfactual", "disparity", "cluster")} == {"decision"}
    assert {rules["categories"][k] for k in ("skew", "association", "text_probe")} == {"metric_space"}
    assert "q_max" in rules["flag_rule"] and "min_group_size" in rules["flag_rule"]
    assert "w × r / (1 + r)" in rules["severity"]


@pytest.mark.parametrize("kind, record, reason", [
    ("counterfactual", {"q_value": 0.2, "n": 60}, "q = 0.2 is not below q_max 0.05"),
    ("text_probe", {"q_value": 0.001, "n": 16, "mean_shift": 0.05, "label": "sad", "emotion": "*"},
     "rests on 16 prompt pairs, fewer than min_group_size 30"),
    ("counterfactual", {"q_value": 0.001, "n": 60, "label": "angry", "true_class": "neutral", "mean_shift": 0.2,
                        "prob_shift": 0.026}, "effect +2.6 points is below the 3-point bar, 0.4 points short"),
    ("counterfactual", {"q_value": 0.001, "n": 60, "label": "neutral", "true_class": "neutral",
                        "mean_shift": 0.2, "prob_shift": 0.2},
     "the change moves neutral faces toward their own expression; findings report the other label they move toward"),
    ("counterfactual", {"q_value": 0.001, "n": 60, "label": "happy", "true_class": "neutral",
                        "mean_shift": -0.2, "prob_shift": -0.1},
     'the change moves faces away from "happy"; findings report the label they move toward'),
    ("disparity", {"q_value": 0.001, "n": 900, "value": 0.04, "flaggable": True, "worst_group": "a",
                   "best_group": "b", "trials_by_group": {"a": 300, "b": 300}},
     "effect +4.0 points is below the 5-point bar, 1.0 points short"),
    ("disparity", {"q_value": 0.001, "n": 900, "value": 0.2, "flaggable": False, "worst_group": "a",
                   "best_group": "b", "trials_by_group": {"a": 16, "b": 300}},
     "rests on 16 items in the rate's denominator of the smaller deciding group, fewer than min_group_size 30"),
    ("cluster", {"q_value": 0.001, "size": 100, "error_ratio": 4.0, "over_represented": []},
     "the cluster over-represents no protected group (no value at 1.5× its share or more): a hard region of the "
     "embedding space, not a group effect"),
    ("cluster", {"q_value": 0.001, "size": 100, "error_ratio": 1.2, "over_represented": ["skin_group=dark"]},
     "error ratio 1.20× is below the 1.5× bar, 0.30× short"),
    ("skew", {"q_value": 0.001, "n": 100, "max_skew": -0.0001}, "effect +0.000 is below the 0.4 bar"),
    ("association", {"q_value": 0.001, "n_x": 300, "n_y": 300, "effect_size": -0.7}, None),
])
def test_not_flagged_reason(kind, record, reason):
    assert _rules.not_flagged_reason(kind, record, SETTINGS) == reason


_kinds = st.sampled_from(sorted(_rules.PROBES))


@settings(max_examples=100, deadline=None)
@given(kind=_kinds, q=st.floats(0, 1), n=st.integers(0, 500), effect=st.floats(-1, 6),
       flaggable=st.booleans())
def test_a_passing_record_meets_every_part_of_the_rule(kind, q, n, effect, flaggable):
    record = {"q_value": q, "n": n, "n_x": n, "n_y": n, "size": n, "flaggable": flaggable, "value": effect,
              "prob_shift": effect, "mean_shift": effect, "max_skew": effect, "effect_size": effect,
              "error_ratio": effect, "excess": effect, "label": "angry", "true_class": "neutral", "emotion": "*",
              "over_represented": ["skin_group=dark"], "worst_group": "a", "best_group": "b",
              "trials_by_group": {"a": n, "b": n}}
    reason = _rules.not_flagged_reason(kind, record, SETTINGS)
    passes = (q < SETTINGS["q_max"] and flaggable and n >= SETTINGS["min_group_size"]
              and _rules.effect(kind, record) >= _rules.bar(kind, SETTINGS)
              and (kind not in ("counterfactual", "text_probe") or effect > 0))
    assert (reason is None) == passes
    if reason is not None:
        assert isinstance(reason, str) and reason


def test_severity_is_half_the_weight_at_the_bar_and_grows_with_the_effect():
    for kind, probe in _rules.PROBES.items():
        at_bar = _rules.bar(kind, SETTINGS)
        assert _rules.severity(kind, at_bar, SETTINGS) == pytest.approx(probe.weight / 2, abs=1e-4)
        assert _rules.severity(kind, 3 * at_bar, SETTINGS) > _rules.severity(kind, 2 * at_bar, SETTINGS)


def test_no_finding_breaks_the_rule_and_every_significant_non_finding_says_why():
    results = planted_results(skews={"happy": {"skin_group": skew_record("dark", skew=0.1)}})
    results["text_probes"] = {"by_attribute": {"gender": {"shifts": [
        {"value": "feminine", "reference": "masculine", "emotion": "*", "label": "sad", "mean_shift": 0.05,
         "ci_low": 0.03, "ci_high": 0.07, "p_value": 1e-6, "n": 16}]}}}
    apply_fdr(results, SETTINGS["q_max"])
    findings = rank_findings(results, SETTINGS)
    finding_records = {id(f["_record"]) for f in findings}
    for kind, record in probe_records(results):
        if id(record) in finding_records:
            assert _rules.not_flagged_reason(kind, record, SETTINGS) is None and "not_flagged" not in record
            assert record["finding_id"].startswith("F")
        elif record["q_value"] < SETTINGS["q_max"]:
            assert record["not_flagged"], record
        else:
            assert "not_flagged" not in record
    text = results["text_probes"]["by_attribute"]["gender"]["shifts"][0]
    assert text["not_flagged"] == "rests on 16 prompt pairs, fewer than min_group_size 30"
