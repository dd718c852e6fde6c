"""The verdict: statuses by precedence, headlines that count causes, what could not be tested, next steps."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit._verdict import NOTHING_COMPARED, verdict

RUN = {"protected_attributes": ["skin_group", "gender"], "skipped": [], "q_max": 0.05}


def _cause(i, category, title="t"):
    return {"id": f"C{i}", "category": category, "title": title, "q_value": 1e-5, "probes": ["counterfactual twins"],
            "outcome": {"text": "2 of 59 twin pairs change prediction; P(angry) +11.8 points"},
            "next_steps": [f"step of C{i}", "re-audit"]}


def _results(run=RUN, n_findings=0):
    return {"run": run, "findings": [{}] * n_findings,
            "disparities": {"skin_group": {"accuracy_difference": {"p_value": 0.5, "q_value": 0.5}}}}


def test_biased_headline_counts_causes_and_says_how_big():
    causes = [_cause(1, "decision", 'Darker skin pushes neutral faces toward "angry"'), _cause(2, "decision"),
              _cause(3, "metric_space")]
    v = verdict(_results(n_findings=7), causes, None)
    assert v["status"] == "biased"
    assert v["headline"].startswith("2 decision biases found and 1 metric-space property. Most severe: Darker skin")
    assert "2 of 59 twin pairs change prediction; P(angry) +11.8 points" in v["headline"]
    assert (v["n_findings"], v["n_causes"], v["n_decision_causes"], v["n_metric_space_causes"]) == (7, 3, 2, 1)
    assert v["next_steps"] == ["C1: step of C1", "C2: step of C2"]
    assert v["untested"] == []


def test_metric_space_only_is_not_a_decision_bias():
    v = verdict(_results(n_findings=2), [_cause(1, "metric_space", "Dark faces sit near happy")], None)
    assert v["status"] == "metric-space-only"
    assert v["headline"].startswith("No decision bias was flagged; 1 metric-space property found")
    assert v["next_steps"] == ["C1: step of C1"]


def test_no_flag_counts_the_tests_and_lists_what_was_not_tested():
    run = {**RUN, "skipped": [{"probe": "counterfactual image twins", "reason": "only the faces corpus has twins"}]}
    v = verdict(_results(run), [], None)
    assert v["status"] == "no-flag"
    assert v["headline"].startswith("No bias was flagged: none of the 1 tests over skin_group, gender passed")
    assert "Not tested: counterfactual image twins." in v["headline"]
    assert v["untested"] == [{"what": "counterfactual image twins", "why": "only the faces corpus has twins"}]


@settings(max_examples=40, deadline=None)
@given(categories=st.lists(st.sampled_from(["decision", "metric_space"]), max_size=4),
       gate=st.sampled_from([None, "passed", "failed"]),
       skipped=st.lists(st.text(min_size=1, max_size=8), max_size=2))
def test_without_a_protected_attribute_the_audit_is_untested_never_clean(categories, gate, skipped):
    run = {"protected_attributes": [], "skipped": [{"probe": s, "reason": "r"} for s in skipped]}
    causes = [_cause(i + 1, c) for i, c in enumerate(categories)]
    v = verdict(_results(run), causes, gate)
    assert v["status"] == ("gate-failed" if gate == "failed" else "untested")
    assert NOTHING_COMPARED in v["headline"] and "No bias was flagged" not in v["headline"]
    assert v["untested"][0]["what"].startswith("every group comparison")
    assert len(v["untested"]) == 1 + len(skipped)
    assert v["next_steps"][0].startswith("Give the audit protected attributes")


@pytest.mark.parametrize("causes, status", [([], "no-flag"), ([_cause(1, "decision")], "biased")])
def test_a_failed_gate_takes_precedence(causes, status):
    v = verdict(_results(), causes, "failed")
    assert v["status"] == "gate-failed" and v["headline"].startswith("A gate failed. ")
    assert verdict(_results(), causes, "passed")["status"] == status
