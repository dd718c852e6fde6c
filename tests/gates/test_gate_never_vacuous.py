"""Gates never pass on nothing: a metric that does not exist, or a non-finite number, is ERROR or SKIP."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema_strategies import LONG, QUICK, junk_values
from tinyemo_audit.gates import ERROR, PASS, SKIP, evaluate_gates, gates_exit_code, load_gates, parse_gates

STAT = {"value": 0.01, "ci_low": 0.0, "ci_high": 0.02, "n": 100}


def spec(**gate):
    return parse_gates({"version": 1, "gates": [{"name": "g", **gate}]})


def no_attribute_results() -> dict:
    """An audit with no protected attribute: nothing was compared, yet sections may hold leftovers."""
    return {"run": {"protected_attributes": []}, "findings_count": 0,
            "disparities": {"site": {"accuracy_difference": STAT}},  # not an audited attribute
            "counterfactual": {}}


@pytest.mark.parametrize("when_missing, status", [("error", ERROR), ("skip", SKIP)])
def test_attribute_gate_on_an_audit_without_protected_attributes(when_missing, status):
    outcomes = evaluate_gates(spec(metric="disparities.{attribute}.accuracy_difference", max=0.05, on="ci_low",
                                   when_missing=when_missing), no_attribute_results())
    assert [o.status for o in outcomes] == [status]
    assert "the audit has no protected attribute" in outcomes[0].details
    assert gates_exit_code(outcomes) == (1 if status == ERROR else 0)


@pytest.mark.parametrize("gate_set", ["strict", "lenient"])
def test_shipped_gate_sets_never_pass_a_group_gate_without_attributes(gate_set):
    outcomes = evaluate_gates(load_gates(gate_set), no_attribute_results())
    group_gates = [o for o in outcomes if "{attribute}" in next(
        g.metric for g in load_gates(gate_set).gates if g.name == o.gate)]
    assert group_gates and all(o.status in (ERROR, SKIP) for o in group_gates)


def test_an_audited_attribute_missing_from_a_section_is_visible():
    results = {"run": {"protected_attributes": ["gender", "age"]},
               "disparities": {"gender": {"accuracy_difference": STAT}}}
    outcomes = evaluate_gates(spec(metric="disparities.{attribute}.accuracy_difference", max=0.05), results)
    assert [(o.attribute, o.status) for o in outcomes] == [("gender", PASS), ("age", ERROR)]
    assert "missing key 'age'" in outcomes[1].details


def test_without_run_the_keys_present_are_expanded():
    # In-memory results without `run` (the API's older use): every key at the level, as before.
    outcomes = evaluate_gates(spec(metric="d.{attribute}.x", max=1), {"d": {"a": {"x": 0.5}, "b": {"x": 0.2}}})
    assert [o.status for o in outcomes] == [PASS, PASS]


finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                          st.sampled_from([math.inf, -math.inf, math.nan]))


def _check_non_finite(value, low, high, on):
    leaf = {**STAT, on: value}
    (outcome,) = evaluate_gates(spec(metric="m", min=low, max=high, on=on), {"m": leaf})
    if not math.isfinite(value):
        assert outcome.status == ERROR and outcome.observed is None
    elif outcome.status == PASS:
        assert low <= value <= high


@QUICK
@given(finite_or_not, st.floats(-1e6, 0), st.floats(0, 1e6), st.sampled_from(["value", "ci_low", "ci_high"]))
def test_a_non_finite_number_never_passes(value, low, high, on):
    _check_non_finite(value, low, high, on)


KEYS = st.sampled_from(["a", "b", "value", "ci_low", "x"])
results_trees = st.recursive(
    st.one_of(junk_values, finite_or_not),
    lambda inner: st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
).filter(lambda r: isinstance(r, dict))


def _resolve(results, path: str):
    node = results
    for key in path.split("."):
        node = node[key]
    return node


def _check_pass_means_a_number(results, metric, on):
    for outcome in evaluate_gates(spec(metric=metric, min=-1e9, max=1e9, on=on), results):
        if outcome.status == PASS:
            leaf = _resolve(results, outcome.path)
            number = leaf[on] if isinstance(leaf, dict) else leaf
            assert isinstance(number, (int, float)) and not isinstance(number, bool)
            assert math.isfinite(number) and outcome.observed == float(number)


metrics = st.lists(st.one_of(KEYS, st.just("*")), min_size=1, max_size=3).map(".".join)


@QUICK
@given(results_trees, metrics, st.sampled_from(["value", "ci_low"]))
def test_a_pass_always_rests_on_a_finite_number_that_exists(results, metric, on):
    _check_pass_means_a_number(results, metric, on)


@pytest.mark.slow
@LONG
@given(results_trees, metrics, st.sampled_from(["value", "ci_low"]))
def test_a_pass_always_rests_on_a_finite_number_that_exists_long(results, metric, on):
    _check_pass_means_a_number(results, metric, on)
