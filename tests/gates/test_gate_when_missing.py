"""Tests for ``when_missing: error | skip``: parsing, SKIP outcomes, JUnit <skipped/>, markdown, shipped sets."""

import xml.etree.ElementTree as ET

import pytest

from tinyemo_audit.errors import InputError
from tinyemo_audit.gates import (
    ERROR,
    PASS,
    SKIP,
    WARN,
    evaluate_gates,
    gates_exit_code,
    gates_markdown,
    junit_xml,
    load_gates,
    parse_gates,
)

LABEL_GATES = {"overall accuracy", "accuracy gap between groups", "equalized odds difference",
               "TPR gap per emotion", "FPR gap per emotion"}


def stat(value, low, high):
    return {"value": value, "ci_low": low, "ci_high": high, "q_value": 0.5, "n": 200}


# The shape the audit runner writes for an unlabelled dataset without twins.
LABEL_FREE = {
    "run": {"labelled": False},
    "performance": {"overall": None, "by_attribute": {"placebo": {"groups": {}}}},
    "disparities": {
        "placebo": {"selection_rate_difference": {"neutral": stat(0.02, 0.0, 0.1), "happy": stat(0.03, 0.0, 0.1)}},
        "brightness": {"selection_rate_difference": {"neutral": stat(0.45, 0.35, 0.55), "happy": stat(0.1, 0.0, 0.2)}},
    },
    "findings_count": 0,
}


def gate(**extra):
    return {"name": "accuracy", "metric": "performance.overall.accuracy", "min": 0.5, **extra}


def evaluate(gates, results, **top):
    return evaluate_gates(parse_gates({"version": 1, **top, "gates": gates}), results)


def test_default_is_error_and_file_default_applies():
    assert parse_gates({"version": 1, "gates": [gate()]}).gates[0].when_missing == "error"
    spec = parse_gates({"version": 1, "when_missing": "skip", "gates": [gate(), gate(name="b", when_missing="error")]})
    assert [g.when_missing for g in spec.gates] == ["skip", "error"]  # a gate's own key wins


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"version": 1, "gates": [gate(when_missing="ignore")]},
         "<dict>: gates[0] ('accuracy').when_missing: must be 'error' or 'skip'; got 'ignore'"),
        ({"version": 1, "when_missing": True, "gates": [gate()]}, "<dict>: when_missing: must be 'error' or 'skip'"),
        ({"version": 1, "gates": [gate(skip_reason=3)]}, "<dict>: gates[0] ('accuracy').skip_reason: must be a string; got 3"),
    ],
)
def test_bad_values_are_one_line_input_errors(document, fragment):
    with pytest.raises(InputError) as err:
        parse_gates(document)
    assert str(err.value).startswith(fragment)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        ("performance.overall.accuracy", "'performance.overall' is null"),          # a null section
        ("disparities.{attribute}.tpr_difference.*", "missing key 'tpr_difference'"),  # a missing key
        ("counterfactual.{attribute}.flip_rate", "missing key 'counterfactual'"),
    ],
)
def test_absent_metric_skips_with_reason(metric, problem):
    outcomes = evaluate([gate(metric=metric, when_missing="skip", skip_reason="needs labels")], LABEL_FREE)
    assert outcomes and {o.status for o in outcomes} == {SKIP}
    for o in outcomes:
        assert o.details.startswith("skipped: needs labels (") and problem in o.details
        assert o.observed is None and not o.failed
    assert gates_exit_code(outcomes) == 0
    # The same gate without the option is an ERROR, as before.
    assert {o.status for o in evaluate([gate(metric=metric)], LABEL_FREE)} == {ERROR}


def test_empty_expansion_skips():
    results = {"disparities": {}}
    (o,) = evaluate([{"name": "gap", "metric": "disparities.{attribute}.accuracy_difference", "max": 0.1,
                      "when_missing": "skip"}], results)
    assert o.status == SKIP and "found nothing" in o.details


@pytest.mark.parametrize(
    "results",
    [
        {"performance": {"overall": {"accuracy": {"value": None, "ci_low": None, "ci_high": None}}}},  # null number
        {"performance": {"overall": {"accuracy": "high"}}},  # present, wrong type
        {"performance": {"overall": "n/a"}},  # a section of the wrong type
    ],
)
def test_present_but_unusable_is_still_an_error(results):
    """Only an absent metric may be skipped: a null statistic or a wrong shape still fails the run."""
    (o,) = evaluate([gate(when_missing="skip")], results)
    assert o.status == ERROR and gates_exit_code([o]) == 1


def test_junit_marks_skips_as_skipped():
    outcomes = evaluate([gate(when_missing="skip", skip_reason="needs labels"),
                         {"name": "n", "metric": "findings_count", "max": 0}], LABEL_FREE)
    root = ET.fromstring(junit_xml(outcomes))
    suite = root.find("testsuite")
    assert suite.get("skipped") == "1" and suite.get("failures") == "0" and suite.get("errors") == "0"
    skipped = suite.findall("testcase/skipped")
    assert len(skipped) == 1 and skipped[0].get("message").startswith("skipped: needs labels")
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["verdict"] == PASS


def test_markdown_lists_skips_with_reason():
    outcomes = evaluate([gate(when_missing="skip", skip_reason="needs labels"),
                         {"name": "n", "metric": "findings_count", "max": 0}], LABEL_FREE)
    text = gates_markdown(outcomes)
    assert "**PASS**: 0 failed, 0 errors, 0 warnings, 1 passed, 1 skipped (2 checks)" in text
    assert "1 check skipped:" in text and "when\\_missing" not in text  # code span, not escaped prose
    rows = [line for line in text.splitlines() if line.startswith("| SKIP")]
    assert len(rows) == 1 and "needs labels" in rows[0]


REASONING_GATES = {"reasoning stated-label flips", "reasoning leakage amplification"}


@pytest.mark.parametrize("name", ["strict", "lenient"])
def test_shipped_sets_skip_label_and_twin_gates_on_label_free_results(name):
    outcomes = evaluate_gates(load_gates(name), LABEL_FREE)
    assert not [o for o in outcomes if o.status == ERROR]
    skipped = {o.gate for o in outcomes if o.status == SKIP}
    assert skipped == LABEL_GATES | {"counterfactual flip rate"} | REASONING_GATES
    for o in outcomes:
        if o.status == SKIP:
            assert ("needs labels" in o.details) == (o.gate in LABEL_GATES)
            assert ("needs counterfactual twins" in o.details) == (o.gate == "counterfactual flip rate")
            assert ("needs a bundle with a reasoning part" in o.details) == (o.gate in REASONING_GATES)
    # What a label-free audit can still gate: selection-rate gaps and findings.
    checked = {o.gate for o in outcomes if o.status != SKIP}
    assert checked == {"selection-rate gap per emotion", "confirmed findings"}
    brightness = [o for o in outcomes if o.path == "disparities.brightness.selection_rate_difference.neutral"]
    assert [o.status for o in brightness] == (["FAIL"] if name == "strict" else [WARN])


def test_shipped_sets_keep_error_for_always_present_metrics():
    for name in ("strict", "lenient"):
        by_name = {g.name: g for g in load_gates(name).gates}
        assert by_name["confirmed findings"].when_missing == "error"
        assert by_name["selection-rate gap per emotion"].when_missing == "error"
        assert all(by_name[g].when_missing == "skip" and by_name[g].skip_reason for g in LABEL_GATES)
