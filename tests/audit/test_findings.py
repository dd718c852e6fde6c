"""Findings: one BH over the audit, flag rules (q, effect size, group size), ranking and wording."""

import copy

import pytest

from tinyemo_audit.audit._findings import apply_fdr, rank_findings
from tinyemo_audit.audit.settings import load_settings


def _shift(value, true_class, label, mean, prob, p, n=60):
    return {"value": value, "reference": "light", "true_class": true_class, "label": label, "mean_shift": mean,
            "ci_low": mean - 0.01, "ci_high": mean + 0.01, "p_value": p, "prob_shift": prob, "n": n,
            "flaggable": n >= 30}


def _disp(value, p, n=1000, flaggable=True):
    return {"value": value, "ci_low": value - 0.02, "ci_high": value + 0.02, "n": n, "p_value": p,
            "worst_group": "dark", "best_group": "light", "flaggable": flaggable,
            "by_group": {"light": 0.03, "dark": 0.03 + value}}


def synthetic_results():
    classes = ["angry", "happy", "neutral"]
    rate_block = {c: _disp(0.0, 0.9) for c in classes}
    return {
        "disparities": {
            "skin_group": {
                "accuracy_difference": _disp(0.01, 0.5),
                "tpr_difference": copy.deepcopy(rate_block),
                "fpr_difference": {**copy.deepcopy(rate_block), "angry": _disp(0.09, 0.0005)},
                "selection_rate_difference": copy.deepcopy(rate_block),
            }
        },
        "counterfactual": {
            "skin_group": {
                "shifts": [
                    _shift("dark", "neutral", "angry", 0.05, 0.15, 0.0001),   # the planted bias
                    _shift("dark", "neutral", "happy", 0.01, 0.02, 0.0001),   # significant but too small
                    _shift("dark", "neutral", "neutral", -0.05, -0.17, 0.0001),  # the other side: not a finding
                    _shift("dark", "happy", "angry", 0.04, 0.10, 0.2),        # large but not significant
                    _shift("dark", "sad", "angry", 0.06, 0.20, 0.0001, n=12),  # too few twins
                ]
            }
        },
        "association": [],
        "skew": {"k": 100, "by_label": {}},
        "clusters": {"items": []},
    }


def test_bh_covers_every_test_and_is_monotone():
    results = synthetic_results()
    m = apply_fdr(results, 0.05)
    assert m == 1 + 3 * 3 + 5
    shifts = results["counterfactual"]["skin_group"]["shifts"]
    assert all("q_value" in s for s in shifts)
    assert all(s["q_value"] >= s["p_value"] for s in shifts)


def test_flag_rules_and_ranking():
    results = synthetic_results()
    apply_fdr(results, 0.05)
    findings = rank_findings(results, load_settings())
    titles = [f["title"] for f in findings]
    assert len(findings) == 2, titles
    top = findings[0]
    assert top["kind"] == "counterfactual" and top["id"] == "F1"
    assert top["title"] == 'Darker skin pushes neutral faces toward "angry"'
    assert "15.0 points" in top["summary"]
    assert top["review"] == {"status": "unreviewed", "note": ""}
    second = findings[1]
    assert second["kind"] == "disparity" and "wrongly called \"angry\"" in second["title"]
    assert [f["severity"] for f in findings] == sorted((f["severity"] for f in findings), reverse=True)


def test_not_flaggable_disparity_is_not_a_finding():
    results = synthetic_results()
    results["disparities"]["skin_group"]["fpr_difference"]["angry"]["flaggable"] = False
    apply_fdr(results, 0.05)
    assert all(f["kind"] != "disparity" for f in rank_findings(results, load_settings()))


def test_nothing_significant_means_no_findings():
    results = synthetic_results()
    for s in results["counterfactual"]["skin_group"]["shifts"]:
        s["p_value"] = 0.5
    results["disparities"]["skin_group"]["fpr_difference"]["angry"]["p_value"] = 0.5
    apply_fdr(results, 0.05)
    assert rank_findings(results, load_settings()) == []


def test_settings_override_and_errors(tmp_path):
    from tinyemo_audit.audit.settings import load_settings
    from tinyemo_audit.errors import InputError

    path = tmp_path / "a.yaml"
    path.write_text("q_max: 0.01\nmin_effect: {disparity: 0.1}\n")
    s = load_settings(path)
    assert s["q_max"] == 0.01 and s["min_effect"]["disparity"] == 0.1 and s["min_effect"]["skew"] == 0.4
    path.write_text("q_maks: 0.01\n")
    with pytest.raises(InputError, match="unknown key .q_maks.; valid keys: n_boot"):
        load_settings(path)
    path.write_text("n_boot: lots\n")
    with pytest.raises(InputError, match="n_boot: must be an integer"):
        load_settings(path)
