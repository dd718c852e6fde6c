"""Tests for tinyemo_audit/gates/_evaluate.py: expansion, statuses, ERROR handling, exit code, JSON."""

import json
import math

import numpy as np
import pytest

from tinyemo_audit.errors import UsageError
from tinyemo_audit.gates import (
    ERROR,
    FAIL,
    PASS,
    SKIP,
    WARN,
    GateOutcome,
    evaluate_gates,
    gates_counts,
    gates_exit_code,
    gates_summary_line,
    gates_to_json,
    gates_verdict,
    load_gates,
    parse_gates,
)


def stat(value, low=None, high=None, **extra):
    out = {"value": value, "ci_low": value if low is None else low, "ci_high": value if high is None else high}
    out.update(extra)
    return out


RESULTS = {
    "performance": {"overall": {"accuracy": stat(0.82, 0.79, 0.85, n=1200)}},
    "disparities": {
        "skin_group": {
            "accuracy_difference": stat(0.12, 0.08, 0.16, q_value=0.004, n=1200),
            # As the audit runner writes it: a point estimate and its class, no CI.
            "equalized_odds_difference": {"value": 0.30, "cls": "neutral"},
            "tpr_difference": {"neutral": stat(0.25, 0.15, 0.35), "angry": stat(0.02, -0.01, 0.05)},
            "fpr_difference": {"neutral": stat(0.01, 0.0, 0.03), "angry": stat(0.09, 0.06, 0.12)},
            "selection_rate_difference": {"neutral": stat(0.06, 0.02, 0.10), "angry": stat(0.05, 0.01, 0.09)},
        },
        "gender": {
            "accuracy_difference": stat(0.02, 0.00, 0.04),
            "equalized_odds_difference": {"value": 0.05, "cls": "angry"},
            "tpr_difference": {"neutral": stat(0.03, 0.0, 0.06), "angry": stat(0.01, 0.0, 0.02)},
            "fpr_difference": {"neutral": stat(0.0, 0.0, 0.01), "angry": stat(0.01, 0.0, 0.02)},
            "selection_rate_difference": {"neutral": stat(0.01, 0.0, 0.03), "angry": stat(0.0, 0.0, 0.01)},
        },
    },
    "counterfactual": {"skin_group": {"flip_rate": stat(0.04, 0.02, 0.06), "n_identities": 300}},
    "findings_count": 2,
}


def spec(*gates):
    return parse_gates({"version": 1, "gates": list(gates)})


def one(gate, results=RESULTS):
    (outcome,) = evaluate_gates(spec(gate), results)
    return outcome


def test_attribute_wildcard_expands_to_every_attribute_present():
    outcomes = evaluate_gates(
        spec({"name": "gap", "metric": "disparities.{attribute}.accuracy_difference", "max": 0.05, "on": "ci_low"}),
        RESULTS,
    )
    assert [(o.attribute, o.path, o.status) for o in outcomes] == [
        ("skin_group", "disparities.skin_group.accuracy_difference", FAIL),
        ("gender", "disparities.gender.accuracy_difference", PASS),
    ]
    fail = outcomes[0]
    assert fail.observed == pytest.approx(0.08)
    assert fail.bound == "ci_low <= 0.05"
    assert "0.08 > max 0.05" in fail.details and "q_value 0.004" in fail.details


def test_star_segment_expands_every_key_as_its_own_check():
    outcomes = evaluate_gates(
        spec({"name": "fpr", "metric": "disparities.{attribute}.fpr_difference.*", "max": 0.05, "on": "ci_low"}),
        RESULTS,
    )
    assert {(o.path, o.status) for o in outcomes} == {
        ("disparities.skin_group.fpr_difference.neutral", PASS),
        ("disparities.skin_group.fpr_difference.angry", FAIL),
        ("disparities.gender.fpr_difference.neutral", PASS),
        ("disparities.gender.fpr_difference.angry", PASS),
    }
    assert {o.attribute for o in outcomes} == {"skin_group", "gender"}


def test_plain_star_without_attribute_placeholder():
    outcomes = evaluate_gates(spec({"name": "any", "metric": "disparities.*.accuracy_difference", "max": 0.5}), RESULTS)
    assert [o.attribute for o in outcomes] == [None, None]
    assert [o.status for o in outcomes] == [PASS, PASS]


def test_explicit_attribute_list_and_missing_attribute_is_error():
    outcomes = evaluate_gates(
        spec({"name": "flip", "metric": "counterfactual.{attribute}.flip_rate", "attributes": ["skin_group", "age"],
              "max": 0.05, "on": "ci_high"}),
        RESULTS,
    )
    assert [(o.attribute, o.status) for o in outcomes] == [("skin_group", FAIL), ("age", ERROR)]
    error = outcomes[1]
    assert error.path == "counterfactual.age.flip_rate"
    assert "missing key 'age' under 'counterfactual'" in error.details and "skin_group" in error.details
    assert error.observed is None


@pytest.mark.parametrize(
    ("on", "bound", "expected"),
    [
        ("value", {"max": 0.10}, FAIL),   # 0.12 > 0.10
        ("ci_low", {"max": 0.10}, PASS),  # 0.08: not a confident violation
        ("ci_high", {"max": 0.16}, PASS),  # bounds are inclusive
        ("ci_high", {"min": 0.2}, FAIL),
        ("value", {"min": 0.0, "max": 0.2}, PASS),
    ],
)
def test_bound_applies_to_the_chosen_number(on, bound, expected):
    gate = {"name": "g", "metric": "disparities.skin_group.accuracy_difference", "on": on, **bound}
    assert one(gate).status == expected


def test_warn_severity_violation_is_warn_and_exits_zero():
    outcome = one({"name": "findings", "metric": "findings_count", "max": 0, "severity": "warn"})
    assert (outcome.status, outcome.observed) == (WARN, 2)
    assert outcome.details == "value = 2 > max 0"
    assert gates_exit_code([outcome]) == 0


def test_min_violation_message():
    outcome = one({"name": "acc", "metric": "performance.overall.accuracy", "min": 0.9, "on": "ci_high"})
    assert outcome.status == FAIL
    assert outcome.details.startswith("ci_high = 0.85 < min 0.9")


@pytest.mark.parametrize(
    ("results", "metric", "on", "fragment"),
    [
        ({}, "performance.overall.accuracy", "value", "missing key 'performance' under the results root"),
        ({"performance": {"overall": {}}}, "performance.overall.accuracy", "value",
         "missing key 'accuracy' under 'performance.overall' (present: none)"),
        ({"performance": 3}, "performance.overall.accuracy", "value", "'performance' is a number (3), not a mapping"),
        ({"m": stat(None)}, "m", "value", "value of 'm' is null"),
        ({"m": stat(float("nan"))}, "m", "value", "value of 'm' is nan, not a finite number"),
        ({"m": float("nan")}, "m", "value", "value of 'm' is nan, not a finite number"),
        ({"m": float("inf")}, "m", "value", "value of 'm' is inf, not a finite number"),
        ({"m": {"value": 0.1, "ci_low": -math.inf, "ci_high": 0.2}}, "m", "ci_low",
         "ci_low of 'm' is -inf, not a finite number"),
        ({"m": None}, "m", "value", "value of 'm' is null"),
        ({"m": "high"}, "m", "value", "is a string, not a number"),
        ({"m": True}, "m", "value", "not a number"),
        ({"m": 0.1}, "m", "ci_low", "plain number without a CI"),
        ({"m": {"value": 0.1}}, "m", "ci_low", "has no 'ci_low'"),
        ({"m": {}}, "m.*", "value", "expansion of '*' found nothing: 'm' is empty"),
        ({"m": stat(0.1)}, "m.*", "value", "'m' is a single statistic"),
        ({"d": {}}, "d.{attribute}.x", "value", "expansion of '{attribute}' found nothing"),
        ({"d": [1, 2]}, "d.*", "value", "'d' is a list, not a mapping"),
    ],
)
def test_unevaluable_checks_are_errors_not_crashes(results, metric, on, fragment):
    outcomes = evaluate_gates(spec({"name": "g", "metric": metric, "max": 1, "on": on, "severity": "warn"}), results)
    assert len(outcomes) == 1
    (outcome,) = outcomes
    assert outcome.status == ERROR  # even for a warn gate: it could not be checked
    assert fragment in outcome.details, outcome.details
    assert "\n" not in outcome.details
    assert outcome.observed is None


def test_numpy_scalars_and_integer_keys_in_memory_results():
    results = {"d": {0: {"value": np.float64(0.3)}}, "n": np.int64(4)}
    assert one({"name": "a", "metric": "d.0", "max": 0.2}, results).status == FAIL
    assert one({"name": "b", "metric": "n", "max": 5}, results).observed == 4


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("bound", [{"max": 2}, {"min": -2}, {"min": -2, "max": 2}])
def test_a_non_finite_observed_value_never_passes(bad, bound):
    # Before: -inf passed every max bound and +inf every min bound (a non-finite CI end passed a gate).
    for on in ("value", "ci_low", "ci_high"):
        leaf = {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0, on: bad}
        outcome = one({"name": "ratio", "metric": "r", "on": on, **bound}, {"r": leaf})
        assert outcome.status == ERROR and outcome.observed is None, (on, outcome)
        assert "not a finite number" in outcome.details
        json.dumps(gates_to_json([outcome]), allow_nan=False)


def test_a_raising_gate_becomes_an_error(monkeypatch):
    from tinyemo_audit.gates import _evaluate

    def boom(gate, found):
        raise RuntimeError("bad\nthing")

    monkeypatch.setattr(_evaluate, "_judge", boom)
    (outcome,) = evaluate_gates(spec({"name": "g", "metric": "findings_count", "max": 0}), RESULTS)
    assert outcome.status == ERROR and outcome.details == "could not evaluate: RuntimeError: bad thing"


def test_results_must_be_a_mapping():
    with pytest.raises(UsageError, match="must be a mapping"):
        evaluate_gates(spec({"name": "g", "metric": "m", "max": 1}), [1, 2])


def _outcome(status):
    return GateOutcome("g", "p", None, status, None, "value <= 1", "d")


@pytest.mark.parametrize(
    ("statuses", "code", "verdict"),
    [
        ([], 0, PASS),
        ([PASS, PASS], 0, PASS),
        ([PASS, WARN], 0, WARN),
        ([PASS, ERROR, WARN], 1, ERROR),  # ERROR counts as a failure
        ([FAIL, PASS], 1, FAIL),
        ([ERROR, FAIL], 1, FAIL),
        ([SKIP, SKIP], 0, SKIP),  # nothing was checked at all
        ([SKIP, PASS], 0, PASS),  # a SKIP does not fail the run
        ([SKIP, WARN], 0, WARN),
        ([SKIP, ERROR], 1, ERROR),
    ],
)
def test_exit_code_and_verdict(statuses, code, verdict):
    outcomes = [_outcome(s) for s in statuses]
    assert gates_exit_code(outcomes) == code
    assert gates_verdict(outcomes) == verdict
    assert gates_summary_line(outcomes).startswith(verdict)


def test_counts_and_summary_line():
    outcomes = [_outcome(s) for s in (FAIL, FAIL, ERROR, WARN, PASS)]
    assert gates_counts(outcomes) == {PASS: 1, WARN: 1, FAIL: 2, ERROR: 1, SKIP: 0}
    assert gates_summary_line(outcomes) == "FAIL: 2 failed, 1 error, 1 warning, 1 passed (5 checks)"
    outcomes += [_outcome(SKIP), _outcome(SKIP)]
    assert gates_counts(outcomes)[SKIP] == 2
    assert gates_summary_line(outcomes) == "FAIL: 2 failed, 1 error, 1 warning, 1 passed, 2 skipped (7 checks)"


def test_strict_and_lenient_on_a_biased_model():
    results = dict(RESULTS, counterfactual={"skin_group": {"flip_rate": stat(0.12, 0.09, 0.15)}})
    strict = evaluate_gates(load_gates("strict"), results)
    lenient = evaluate_gates(load_gates("lenient"), results)
    assert gates_exit_code(strict) == 1
    failed = {o.gate for o in strict if o.status == FAIL}
    assert {"accuracy gap between groups", "TPR gap per emotion", "FPR gap per emotion",
            "counterfactual flip rate", "confirmed findings"} == failed
    assert [(o.gate, o.attribute) for o in strict if o.status == WARN] == [("equalized odds difference", "skin_group")]
    assert not [o for o in strict if o.status == ERROR]
    assert gates_exit_code(lenient) == 0
    # Results without a reasoning section skip the reasoning gates (when_missing: skip).
    assert {o.status for o in lenient if not o.gate.startswith("reasoning ")} == {PASS, WARN}
    assert {o.status for o in lenient if o.gate.startswith("reasoning ")} == {SKIP}
    assert [o.gate for o in lenient if o.status == WARN] == ["confirmed findings"]


def test_gates_to_json_is_plain_strict_json():
    outcomes = evaluate_gates(load_gates("strict"), {"findings_count": 0})
    rows = gates_to_json(outcomes)
    text = json.dumps(rows, allow_nan=False)
    assert json.loads(text) == rows
    assert set(rows[0]) == {"gate", "path", "attribute", "status", "observed", "bound", "details", "severity",
                            "description"}
    assert {r["status"] for r in rows} == {ERROR, PASS, SKIP}  # label gates skip; the selection-rate gate errors
    assert all(r["observed"] is None for r in rows if r["status"] == SKIP)
