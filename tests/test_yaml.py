"""tinyemo_audit/_yaml.py: the one YAML reader refuses alias bombs, deep nesting, huge integers and duplicates, fast."""

from __future__ import annotations

import os
import time
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema_strategies import (
    BILLION_LAUGHS, LONG, QUICK, alias_bombs, assert_one_line, junk_values, yaml_fragments, yaml_text,
)
from tinyemo_audit._yaml import (
    MAX_ALIAS_EXPANSION,
    MAX_DEPTH,
    MAX_YAML_BYTES,
    load_yaml_text,
    read_yaml,
    read_yaml_mapping,
)
from tinyemo_audit.errors import InputError

def test_billion_laughs_fails_fast_in_little_memory():
    assert 300 < len(BILLION_LAUGHS) < 500
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InputError) as info:
            load_yaml_text(BILLION_LAUGHS, source="bomb.yaml", what="gate file")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert message.startswith("gate file bomb.yaml: its aliases expand to more than 10,000 values")
    assert_one_line(message)
    assert peak < 20 * 2**20, peak  # the issue saw 0.9 GB; composing the nodes takes kilobytes
    assert elapsed < 30, elapsed  # generous: this is a hang guard, not a benchmark


def test_billion_laughs_from_a_file(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    with pytest.raises(InputError, match="its aliases expand to more than"):
        read_yaml(path, what="audit config")


@pytest.mark.parametrize("text, fragment", [
    ("&a [*a]", "an alias refers to the node that contains it"),
    ("a: &a {b: *a}", "an alias refers to the node that contains it"),
    ("[" * 100_000 + "]" * 100_000, f"nested more than {MAX_DEPTH} levels deep"),
    ("".join("  " * i + "- \n" for i in range(200)), f"nested more than {MAX_DEPTH} levels deep"),
    ("a: &a " + "[" * 30 + "]" * 30 + "\nb: " + "[" * 30 + "*a" + "]" * 30, f"nested more than {MAX_DEPTH}"),
    ("n: " + "9" * 5000, "an integer 5,000 characters long (at most 100 are read)"),
    ("n: 0x" + "f" * 500, "an integer 502 characters long"),
    ("a: 1\na: 2\n", "the key 'a' is given twice"),
    ("seed: !!python/object/apply:os.system ['true']\n", "could not determine a constructor for the tag"),
    ("a: *nowhere\n", "found undefined alias"),
    ("a: 1\n---\nb: 2\n", "expected a single document"),
    ("a: \x07\n", "character U+0007 is not allowed in YAML (line 1)"),
    ("a: [1, 2\n", "is not valid YAML"),
])
def test_refusals_are_one_line(text, fragment):
    with pytest.raises(InputError) as info:
        load_yaml_text(text, source="x.yaml", what="config")
    assert fragment in str(info.value)
    assert_one_line(str(info.value))


def test_safe_load_semantics_are_kept():
    text = "a: [1, 2.5, true, null, x]\nb: &base {k: 1}\nc: {<<: *base, j: 2}\nd: 2001-01-01\non: ci_low\nno: yes\n"
    data = load_yaml_text(text, source="x.yaml")
    assert data["a"] == [1, 2.5, True, None, "x"]
    assert data["c"] == {"k": 1, "j": 2}
    assert str(data["d"]) == "2001-01-01"
    # YAML 1.2 booleans: the gate key `on`, a group named `no`, the value `yes` stay strings.
    assert data["on"] == "ci_low" and data["no"] == "yes"


def test_aliases_within_the_limit_are_fine():
    text = "t: &t [\"a {emotion} {group}\", \"the {group}\"]\nu: *t\nv: *t\n"
    assert load_yaml_text(text, source="x.yaml")["v"] == ["a {emotion} {group}", "the {group}"]
    wide = "a: &a [" + ", ".join(["x"] * 100) + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_EXPANSION // 101)) + "]\n"
    assert len(load_yaml_text(wide, source="x.yaml")["b"]) == MAX_ALIAS_EXPANSION // 101


def test_file_rules_come_from_input_files(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * MAX_YAML_BYTES)
    with pytest.raises(InputError, match="at most 1,048,576 are accepted"):
        read_yaml(big, what="audit config")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO"):  # never blocks
        read_yaml(fifo, what="audit config")
    with pytest.raises(InputError, match="audit config not found"):
        read_yaml(tmp_path / "nope.yaml", what="audit config")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(InputError, match="expected a mapping of settings, got list"):
        read_yaml_mapping(listed, what="audit config")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml_mapping(empty) == {}


def _outcome(text: str):
    try:
        return load_yaml_text(text, source="x.yaml", what="config")
    except InputError as err:
        assert_one_line(str(err))
        return err


def _check_alias_bomb(text: str):
    result = _outcome(text)
    if isinstance(result, InputError):
        assert "expand" in str(result) or "nested" in str(result)


@QUICK
@given(alias_bombs())
def test_any_alias_nest_parses_or_is_refused(text):
    _check_alias_bomb(text)


@QUICK
@given(st.one_of(yaml_fragments, junk_values.map(yaml_text)))
def test_any_text_parses_or_is_one_input_error(text):
    _outcome(text)  # never another exception type, never a multi-line or unbounded message


@pytest.mark.slow
@LONG
@given(st.one_of(yaml_fragments, junk_values.map(yaml_text), alias_bombs()))
def test_any_text_parses_or_is_one_input_error_long(text):
    _outcome(text)
