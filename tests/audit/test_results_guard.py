"""Finite numbers only in results.json: null for undefined statistics, and the guard before writing."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit import _results_guard
from tinyemo_audit.audit._results_guard import NonFiniteResultError, check_finite, finite_or_none, undefined_note
from tinyemo_audit.errors import TinyEmoAuditError


def test_doctests():
    assert doctest.testmod(_results_guard).failed == 0


@pytest.mark.parametrize("value, expected", [(None, None), (float("nan"), None), (float("inf"), None),
                                             (-np.inf, None), (np.float32(0.5), 0.5), (3, 3.0)])
def test_finite_or_none(value, expected):
    assert finite_or_none(value) == expected


def test_undefined_note_names_the_missing_fields():
    assert undefined_note({"a": 1.0, "b": None, "c": None}, "no spread") == "b, c undefined: no spread"
    assert undefined_note({"a": 1.0}, "no spread") is None


def test_the_error_is_a_bug_not_bad_input():
    assert not issubclass(NonFiniteResultError, TinyEmoAuditError)  # exit 3 at the CLI, never exit 2


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _paths(value, path="$"):
    """Every (JSON path, container, key) where a number could be replaced."""
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if k.isidentifier() else f"{path}[{k!r}]"
            yield sub, value, k
            yield from _paths(v, sub)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield f"{path}[{i}]", value, i
            yield from _paths(v, f"{path}[{i}]")


@settings(max_examples=100, deadline=None)
@given(doc=JSON, bad=st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan")]), data=st.data())
def test_any_non_finite_number_is_named_by_its_path(doc, bad, data):
    check_finite(doc)  # finite documents pass
    places = list(_paths(doc))
    if not places:
        return
    path, container, key = data.draw(st.sampled_from(places))
    container[key] = bad
    with pytest.raises(NonFiniteResultError) as info:
        check_finite(doc)
    assert f" at {path};" in str(info.value)


def test_deep_nesting_does_not_hit_the_recursion_limit():
    doc: list = [1.0]
    for _ in range(5000):
        doc = [doc]
    check_finite(doc)


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
TEXT_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@settings(max_examples=100, deadline=None)
@given(doc=TEXT_JSON)
def test_visible_strings_leaves_no_control_character_and_keeps_shape(doc):
    from tinyemo_audit.user_text import CONTROL_CODEPOINTS, visible

    out = _results_guard.visible_strings(doc)
    assert not any(ord(c) in CONTROL_CODEPOINTS for s in _strings(out) for c in s)
    assert list(_strings(out)) == [visible(s) for s in _strings(doc)]  # same order, same shape
    assert _results_guard.visible_strings(out) == out  # once visible, stays as it is
