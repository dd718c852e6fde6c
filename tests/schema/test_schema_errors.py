"""tinyemo_audit/schema/_errors.py: one ValidationError becomes one bounded line naming the file and key path."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from schema_strategies import QUICK, assert_one_line, junk_values
from tinyemo_audit.errors import InputError
from tinyemo_audit.schema._base import Name, Section
from tinyemo_audit.schema._errors import MESSAGE_LIMIT, SOURCE_LIMIT, input_error, key_path, source_text, validate


class Item(Section):
    name: Name
    size: Annotated[int, Field(ge=0, le=10)] = 0


class Doc(Section):
    items: list[Item] = []
    table: dict[Name, int] = {}
    label: Name = "x"


def error_of(data, source="f.yaml") -> str:
    with pytest.raises(InputError) as info:
        validate(Doc, data, source=source)
    return str(info.value)


def test_list_items_are_named_by_their_name():
    assert error_of({"items": [{"name": "a"}, {"name": "big one", "size": 11}]}) == (
        "f.yaml: items[1] ('big one').size: must be at most 10; got 11")


def test_missing_and_unknown_keys_name_their_parent():
    assert error_of({"items": [{}]}) == "f.yaml: items[0]: missing required key 'name'"
    assert error_of({"items": [{"name": "a", "sise": 1}]}) == (
        "f.yaml: items[0] ('a'): unknown key 'sise'; valid keys: name, size")


def test_a_bad_key_of_a_mapping_is_named_as_the_key():
    assert error_of({"table": {"": 1}}).startswith("f.yaml: table. (the key): must not be empty")


def test_only_the_first_problem_is_named_with_a_count():
    assert error_of({"label": 1, "table": 2, "items": 3}).endswith("(and 2 more problems)")


def test_hostile_sources_keys_and_values_stay_bounded_and_visible():
    message = error_of({"table": {"k\x1b[31m" * 500: "v" * 100_000}}, source="/d/" + "\u202e" * 300 + "f.yaml")
    assert_one_line(message)
    assert "\u202e" not in message and "\x1b" not in message
    assert len(source_text("/" + "a" * 1000)) == SOURCE_LIMIT


def test_key_path_walks_lists_and_mappings():
    data = {"gates": [{"name": "g1"}, {"name": "g\n2"}]}
    assert key_path(("gates", 1, "on"), data) == "gates[1] ('g\\n2').on"
    assert key_path((), data) == ""


@QUICK
@given(st.one_of(junk_values, st.dictionaries(st.sampled_from(["items", "table", "label", "x"]), junk_values)),
       st.text(max_size=300))
def test_any_invalid_document_is_one_bounded_line(data, source):
    try:
        validate(Doc, data, source=source)
    except InputError as err:
        assert_one_line(str(err), limit=MESSAGE_LIMIT)


class _Union(BaseModel):
    model_config = {"extra": "forbid"}
    enabled: Literal["auto"] | bool = False
    n: int = 1


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=20), st.lists(st.integers(), max_size=3), st.floats(allow_nan=False),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)))
def test_a_value_no_union_member_takes_is_one_problem_named_at_its_key(value):
    if value == "auto" or isinstance(value, bool):
        return
    with pytest.raises(ValidationError) as caught:
        _Union.model_validate({"enabled": value}, strict=True)
    message = str(input_error(caught.value, source="a.yaml", data={"enabled": value}))
    assert message.startswith("a.yaml: enabled: must be 'auto', or must be true or false; got ")
    assert "more problem" not in message and "literal[" not in message
