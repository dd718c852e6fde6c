"""Tests for tinyemo_audit/gates/_spec.py: loading and strict validation of gate files."""

from pathlib import Path

import pytest

from tinyemo_audit.errors import InputError, UnknownNameError
from tinyemo_audit.gates import Gate, GateSpec, list_gate_sets, load_gates, parse_gates
from tinyemo_audit.schema import gates as gate_schema

GOOD = """\
version: 1
description: test gates
gates:
  - name: accuracy gap
    metric: disparities.{attribute}.accuracy_difference
    attributes: ["*"]
    max: 0.05
    on: ci_low
    severity: fail
    description: a gap
  - name: overall accuracy
    metric: performance.overall.accuracy
    min: 0.5
"""


def write(tmp_path: Path, text: str, name: str = "gates.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def gate_file(tmp_path: Path, **gate) -> Path:
    """A one-gate file; ``None`` values drop the key from the defaults."""
    import yaml

    base = {"name": "g", "metric": "performance.overall.accuracy", "min": 0.5}
    base.update(gate)
    base = {k: v for k, v in base.items() if v is not None}
    return write(tmp_path, yaml.safe_dump({"version": 1, "gates": [base]}, sort_keys=False))


def test_good_file_loads_with_defaults(tmp_path):
    spec = load_gates(write(tmp_path, GOOD))
    assert isinstance(spec, GateSpec)
    assert spec.description == "test gates"
    first, second = spec.gates
    assert first == Gate(
        name="accuracy gap",
        metric="disparities.{attribute}.accuracy_difference",
        attributes=("*",),
        max=0.05,
        on="ci_low",
        severity="fail",
        description="a gap",
    )
    assert second.on == "value" and second.severity == "fail" and second.attributes is None
    assert second.min == 0.5 and second.max is None
    assert first.bound_text == "ci_low <= 0.05"
    assert second.bound_text == "value >= 0.5"


def test_bare_on_key_is_not_a_yaml_boolean(tmp_path):
    # YAML 1.1 reads `on` as True; the loader must keep it a string key.
    spec = load_gates(write(tmp_path, GOOD.replace("on: ci_low", "on: ci_high")))
    assert spec.gates[0].on == "ci_high"


def test_placeholder_defaults_to_every_attribute(tmp_path):
    spec = load_gates(gate_file(tmp_path, metric="counterfactual.{attribute}.flip_rate", min=None, max=0.1))
    assert spec.gates[0].attributes == ("*",)


def test_both_bounds(tmp_path):
    spec = load_gates(gate_file(tmp_path, min=0.1, max=0.9))
    assert spec.gates[0].bound_text == "0.1 <= value <= 0.9"


def _one_line_error(path, *fragments):
    with pytest.raises(InputError) as info:
        load_gates(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(
    ("gate", "fragments"),
    [
        ({"mx": 0.1}, ["gates[0] ('g'): unknown key 'mx'; valid keys: name, metric, attributes, min, max, on"]),
        ({"name": None}, ["gates[0]: missing required key 'name'"]),
        ({"metric": None}, ["gates[0] ('g'): missing required key 'metric'"]),
        ({"metric": 3}, ["gates[0] ('g').metric: must be a string; got 3"]),
        ({"name": ""}, ["gates[0].name: must not be empty"]),
        ({"name": "   "}, ["gates[0].name: must be a non-empty string"]),
        ({"name": "bell\x07"}, ["gates[0] ('bell\\x07').name: must not hold control characters"]),
        ({"name": "esc\x1b[31m red"}, ["must not hold control characters"]),
        ({"name": "rtl \u202e"}, ["must not hold control characters"]),
        ({"min": None}, ["gates[0] ('g'): missing bound"]),
        ({"min": "0.5"}, ["gates[0] ('g').min: must be a number; got '0.5'"]),
        ({"max": True}, ["gates[0] ('g').max: must be a number; got True"]),
        ({"min": float("nan")}, ["gates[0] ('g').min: must be a finite number; got nan"]),
        ({"min": float("inf")}, ["gates[0] ('g').min: must be a finite number; got inf"]),
        ({"min": 0.9, "max": 0.1}, ["'min' (0.9) is greater than 'max' (0.1)"]),
        ({"on": "ci_mid"}, ["gates[0] ('g').on: must be 'value', 'ci_low' or 'ci_high'; got 'ci_mid'"]),
        ({"severity": "error"}, ["gates[0] ('g').severity: must be 'fail' or 'warn'; got 'error'"]),
        ({"when_missing": "maybe"}, ["gates[0] ('g').when_missing: must be 'error' or 'skip'; got 'maybe'"]),
        ({"metric": "a..b"}, ["bad metric path", "empty segment"]),
        ({"metric": "a.{attr}.b"}, ["bad metric path", "'{attr}'"]),
        ({"metric": "a.b*"}, ["bad metric path"]),
        ({"metric": "{attribute}.x.{attribute}"}, ["only once"]),
        ({"attributes": ["gender"]}, ["has no {attribute} segment"]),
        ({"metric": "d.{attribute}.x", "attributes": []}, ["gates[0] ('g').attributes: must be a non-empty list"]),
        ({"metric": "d.{attribute}.x", "attributes": "*"}, ["gates[0] ('g').attributes: must be a list; got '*'"]),
        ({"metric": "d.{attribute}.x", "attributes": ["*", "gender"]}, ["'attributes'", "must be a non-empty list"][1:]),
        ({"metric": "d.{attribute}.x", "attributes": ["gender", "gender"]}, ["must be a non-empty list of distinct"]),
        ({"metric": "d.{attribute}.x", "attributes": ["a.b"]}, ["attribute names without dots"]),
        ({"description": 5}, ["gates[0] ('g').description: must be a string; got 5"]),
    ],
)
def test_gate_validation_errors_are_one_line(tmp_path, gate, fragments):
    _one_line_error(gate_file(tmp_path, **gate), *fragments)


def test_error_names_the_failing_gate_index_and_name(tmp_path):
    text = GOOD + "  - name: third\n    metric: x\n    max: 1\n    severity: loud\n"
    _one_line_error(write(tmp_path, text), "gates[2] ('third').severity: must be 'fail' or 'warn'; got 'loud'")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("version: 1\ngates: [\n", ["gate file", "is not valid YAML", "line"]),
        ("- just a list\n", ["must be a mapping"]),
        ("", ["missing required key 'version'"]),
        ("version: 2\ngates: [{name: g, metric: m, max: 1}]\n", ["version: must be 1", "got 2"]),
        ("gates: [{name: g, metric: m, max: 1}]\n", ["missing required key 'version'"]),
        ("version: true\ngates: [{name: g, metric: m, max: 1}]\n", ["version: must be an integer; got True"]),
        ("version: '1'\ngates: [{name: g, metric: m, max: 1}]\n", ["version: must be an integer; got '1'"]),
        ("version: 1\ngates: []\n", ["gates: must not be empty"]),
        ("version: 1\ngates: {a: 1}\n", ["gates: must be a list"]),
        ("version: 1\ngate: []\n", ["unknown key 'gate'; valid keys: version, description, when_missing, baseline, gates"]),
        ("version: 1\ngates: [3]\n", ["gates[0]: must be a mapping; got 3"]),
        ("version: 1\ngates: [{name: g, metric: m, max: 1}, {name: g, metric: n, max: 2}]\n",
         ["duplicate gate name 'g': gates[1] repeats gates[0]"]),
        ("version: 1\ngates:\n  - name: g\n    metric: m\n    max: 1\n    max: 2\n",
         ["the key 'max' is given twice", "line 6"]),
    ],
)
def test_file_level_errors_are_one_line(tmp_path, text, fragments):
    _one_line_error(write(tmp_path, text), *fragments)


def test_missing_file_and_unknown_gate_set(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError, match="gate file not found") as info:
        load_gates(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(UnknownNameError) as info:
        load_gates("strictest")
    assert "strict" in info.value.choices and "lenient" in info.value.choices


def test_non_utf8_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"version: 1\n\xff\xfe\n")
    _one_line_error(path, "gate file", "is not UTF-8 text")


def test_parse_gates_from_dict_names_its_source():
    with pytest.raises(InputError, match=r"^<mine>: gates\[0\] \('g'\): missing bound"):
        parse_gates({"version": 1, "gates": [{"name": "g", "metric": "m"}]}, source="<mine>")


def test_message_constants_match_raised_messages(tmp_path):
    path = gate_file(tmp_path, min=None)
    with pytest.raises(InputError) as info:
        load_gates(path)
    assert str(info.value) == f"{path}: gates[0] ('g'): {gate_schema.PROBLEM_MISSING_BOUND}"


@pytest.mark.parametrize("name", ["strict", "lenient"])
def test_shipped_gate_sets_load(name):
    assert name in list_gate_sets()
    spec = load_gates(name)
    assert spec.gates and spec.description
    metrics = {g.metric for g in spec.gates}
    assert {
        "performance.overall.accuracy",
        "disparities.{attribute}.accuracy_difference",
        "disparities.{attribute}.equalized_odds_difference",
        "disparities.{attribute}.tpr_difference.*",
        "disparities.{attribute}.fpr_difference.*",
        "counterfactual.{attribute}.flip_rate",
        "findings_count",
    } <= metrics
    findings = next(g for g in spec.gates if g.metric == "findings_count")
    assert findings.max == 0 and findings.on == "value"
    assert findings.severity == ("fail" if name == "strict" else "warn")
    # Only confident violations fail: a failing bound sits on the CI end facing away from it;
    # a point estimate without a CI (equalized odds) may only warn.
    for gate in spec.gates:
        if gate.metric == "findings_count":
            continue
        if gate.on == "value":
            assert gate.severity == "warn", gate.name
        else:
            assert gate.on == ("ci_high" if gate.min is not None else "ci_low"), gate.name


def test_strict_is_tighter_than_lenient():
    strict = {g.name: g for g in load_gates("strict").gates}
    lenient = {g.name: g for g in load_gates("lenient").gates}
    assert strict.keys() == lenient.keys()
    for name, gate in strict.items():
        if gate.max is not None:
            assert gate.max <= lenient[name].max, name
        if gate.min is not None:
            assert gate.min >= lenient[name].min, name
