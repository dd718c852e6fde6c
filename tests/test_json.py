"""tinyemo_audit/_json.py: strict JSON — finite numbers, bounded integers and depth, no duplicates — as one line."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schema_strategies import LONG, QUICK, RAW_TOKENS, assert_one_line, junk_values
from tinyemo_audit._json import MAX_DEPTH, MAX_INT_DIGITS, parse_json, read_json
from tinyemo_audit.errors import InputError


@pytest.mark.parametrize("text, fragment", [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": Infinity}', "Infinity is not a JSON number"),
    ('[-Infinity]', "-Infinity is not a JSON number"),
    ('{"a": 1e999}', "the number 1e999 is too large to be a finite number"),
    ('{"a": -1e400}', "too large to be a finite number"),
    ('{"n": ' + "9" * 5000 + "}", "an integer of 5,000 digits (at most 20 are read)"),
    ('{"n": -' + "9" * 21 + "}", "an integer of 21 digits"),
    ("[" * 100_000 + "]" * 100_000, f"nested more than {MAX_DEPTH} levels deep"),
    ('{"a": ' * 70 + "1" + "}" * 70, f"nested more than {MAX_DEPTH} levels deep"),
    ('{"a": 1, "a": 2}', "the key 'a' is given twice in one object"),
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"\\udc00": 1}', "lone surrogate"),
    ("{not json", "is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
    ("", "is not valid JSON: Expecting value (line 1, column 1)"),
])
def test_refusals_are_one_line(text, fragment):
    with pytest.raises(InputError) as info:
        parse_json(text, source="/x/results.json", what="results file")
    assert fragment in str(info.value), str(info.value)
    assert "/x/results.json" in str(info.value)
    assert_one_line(str(info.value))


def test_plain_json_reads_as_json_module_would():
    text = '{"a": [1, -2, 2.5, 1e-300, true, false, null, "x\\u00e9"], "b": {"c": ' + "9" * MAX_INT_DIGITS + "}}"
    assert parse_json(text, source="x") == json.loads(text)


def test_files_are_read_through_input_files(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"a": 1}' + " " * 100)
    assert read_json(path, what="results file", max_bytes=1000) == {"a": 1}
    with pytest.raises(InputError, match="results file .* is 108 bytes; at most 100 are accepted"):
        read_json(path, what="results file", max_bytes=100)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InputError, match="is not UTF-8 text"):
        read_json(path, what="results file", max_bytes=1000)


json_documents = st.one_of(
    junk_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.lists(st.sampled_from(RAW_TOKENS + ["[", "]", "{", "}", ",", ":", '"k"', "1", "true", " "]),
             max_size=12).map("".join),
)


def _outcome(text: str):
    try:
        data = parse_json(text, source="x.json")
    except InputError as err:
        assert_one_line(str(err))
        return
    # What comes back is plain, finite data.
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            assert math.isfinite(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@QUICK
@given(json_documents)
def test_any_text_parses_to_finite_data_or_is_one_input_error(text):
    _outcome(text)


@pytest.mark.slow
@LONG
@given(json_documents)
def test_any_text_parses_to_finite_data_or_is_one_input_error_long(text):
    _outcome(text)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300))
def test_a_cache_entry_of_any_bytes_reads_as_itself_or_none(tmp_path_factory, raw):
    # a cache's entry is never trusted and never an error: damaged, foreign or huge reads as None
    from tinyemo_audit._json import read_cache_entry

    path = tmp_path_factory.mktemp("entry") / "e.json"
    path.write_bytes(raw)
    entry = read_cache_entry(path, "k", what="entry", max_bytes=200)
    assert entry is None or (isinstance(entry, dict) and entry["key"] == "k")


def test_a_cache_entry_with_its_key_is_read_and_others_are_not(tmp_path):
    from tinyemo_audit._json import read_cache_entry

    path = tmp_path / "e.json"
    assert read_cache_entry(path, "k", what="entry", max_bytes=100) is None  # absent
    path.write_text('{"key": "k", "rows": [1]}')
    assert read_cache_entry(path, "k", what="entry", max_bytes=100) == {"key": "k", "rows": [1]}
    assert read_cache_entry(path, "other", what="entry", max_bytes=100) is None
    assert read_cache_entry(path, "k", what="entry", max_bytes=10) is None  # over the size bound
    path.write_text('["k"]')
    assert read_cache_entry(path, "k", what="entry", max_bytes=100) is None


def test_a_cache_entry_written_reads_back_and_an_unwritable_cache_is_passed_over(tmp_path):
    from tinyemo_audit._json import read_cache_entry, write_cache_entry

    path = tmp_path / "sub" / "entry.json"
    assert write_cache_entry(path, "k1", {"rows": [[1, "a"]]})
    assert read_cache_entry(path, "k1", what="entry", max_bytes=1024) == {"key": "k1", "rows": [[1, "a"]]}
    assert read_cache_entry(path, "k2", what="entry", max_bytes=1024) is None  # another key: not this entry
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert not write_cache_entry(blocker / "entry.json", "k1", {"rows": []})  # its folder cannot be made
    assert blocker.read_text() == "not a folder"
