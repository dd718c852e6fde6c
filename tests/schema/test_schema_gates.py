"""tinyemo_audit/schema/gates.py: any gate document is a GateSpec or one bounded InputError line."""

from __future__ import annotations

import pytest
from hypothesis import given

from schema_strategies import BILLION_LAUGHS, LONG, QUICK, assert_one_line, gate_documents, yaml_text
from tinyemo_audit.errors import InputError
from tinyemo_audit.gates import GateSpec, load_gates, parse_gates
from tinyemo_audit.user_text import has_control


def _outcome(document) -> None:
    try:
        spec = parse_gates(document, source="gates.yaml")
    except InputError as err:
        assert_one_line(str(err))
        return
    assert isinstance(spec, GateSpec) and spec.gates
    for gate in spec.gates:
        # What the evaluator and every writer may rely on.
        assert gate.name and not has_control(gate.name) and gate.name == gate.name.strip()
        assert gate.min is not None or gate.max is not None
        assert gate.on in ("value", "ci_low", "ci_high") and gate.when_missing in ("error", "skip")
        assert not has_control(gate.description + gate.skip_reason)


@QUICK
@given(gate_documents)
def test_any_gate_document_is_a_spec_or_one_line(document):
    _outcome(document)


@pytest.mark.slow
@LONG
@given(gate_documents)
def test_any_gate_document_is_a_spec_or_one_line_long(document):
    _outcome(document)


@QUICK
@given(gate_documents)
def test_any_gate_file_loads_or_is_one_line(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("gates") / "gates.yaml"
    path.write_text(yaml_text(document), encoding="utf-8")
    try:
        load_gates(path)
    except InputError as err:
        assert_one_line(str(err))


@pytest.mark.parametrize("name", ["\x1b[31mred\x1b[0m", "bell\x07", "rtl\u202eevil", "nul\x00", "tab\tname",
                                  "line\nbreak"])
def test_gate_names_with_control_characters_are_refused(name):
    document = {"version": 1, "gates": [{"name": name, "metric": "findings_count", "max": 0}]}
    with pytest.raises(InputError, match="name: must not hold control characters") as info:
        parse_gates(document)
    assert_one_line(str(info.value))


def test_a_440_byte_alias_bomb_gate_file_is_one_short_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("version: 1\n" + BILLION_LAUGHS + "gates: [{name: g, metric: findings_count, max: 0}]\n")
    with pytest.raises(InputError) as info:
        load_gates(path)
    assert "its aliases expand to more than 10,000 values" in str(info.value)
    assert_one_line(str(info.value))
