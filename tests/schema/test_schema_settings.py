"""tinyemo_audit/schema/settings.py: types, ranges and key-by-key merging of audit settings."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema_strategies import LONG, QUICK, alias_bombs, assert_one_line, settings_documents, yaml_text
from tinyemo_audit._yaml import read_yaml_mapping
from tinyemo_audit.audit.settings import DEFAULT_SETTINGS
from tinyemo_audit.errors import InputError
from tinyemo_audit.schema._errors import validate
from tinyemo_audit.schema.settings import AuditSettings, merge_settings, overridden_keys

DEFAULTS = read_yaml_mapping(DEFAULT_SETTINGS)


def settings_with(override: dict) -> dict:
    return validate(AuditSettings, merge_settings(DEFAULTS, override), source="o.yaml").model_dump()


def error_of(override: dict) -> str:
    with pytest.raises(InputError) as info:
        settings_with(override)
    return str(info.value)


def test_defaults_are_valid_and_unchanged_by_validation():
    assert validate(AuditSettings, DEFAULTS, source=DEFAULT_SETTINGS).model_dump() == DEFAULTS


# ---------------------------------------------------------------- ranges (each documented in default.yaml)

@pytest.mark.parametrize("override, message", [
    ({"n_boot": 0}, "o.yaml: n_boot: must be at least 100; got 0"),
    ({"n_boot": 99}, "o.yaml: n_boot: must be at least 100; got 99"),
    ({"n_boot": 100_001}, "o.yaml: n_boot: must be at most 100000; got 100001"),
    ({"n_perm": 10}, "o.yaml: n_perm: must be at least 100; got 10"),
    ({"n_perm_paired": 10**9}, "o.yaml: n_perm_paired: must be at most 100000; got 1000000000"),
    ({"q_max": 0}, "o.yaml: q_max: must be greater than 0.0; got 0"),
    ({"q_max": 1}, "o.yaml: q_max: must be less than 1.0; got 1"),
    ({"q_max": 2}, "o.yaml: q_max: must be less than 1.0; got 2"),
    ({"q_max": float("nan")}, "o.yaml: q_max: must be a finite number; got nan"),
    ({"min_group_size": 1}, "o.yaml: min_group_size: must be at least 2; got 1"),
    ({"twins_per_attribute": 1}, "o.yaml: twins_per_attribute: must be at least 2; got 1"),
    ({"twins_per_attribute": 10**6}, "o.yaml: twins_per_attribute: must be at most 5000; got 1000000"),
    ({"skew_k": 0}, "o.yaml: skew_k: must be at least 1; got 0"),
    ({"min_effect": {"disparity": -0.1}}, "o.yaml: min_effect.disparity: must be at least 0.0; got -0.1"),
    ({"min_effect": {"flip_rate": 1.5}}, "o.yaml: min_effect.flip_rate: must be at most 1.0; got 1.5"),
    ({"min_effect": {"effect_size": 3}}, "o.yaml: min_effect.effect_size: must be at most 2.0; got 3"),
    ({"discovery": {"method": "dbscan"}}, "o.yaml: discovery.method: must be 'hdbscan' or 'kmeans'; got 'dbscan'"),
    ({"discovery": {"umap_cap": 10}}, "o.yaml: discovery.umap_cap: must be at least 100; got 10"),
    ({"discovery": {"umap_cap": 10**7}}, "o.yaml: discovery.umap_cap: must be at most 200000; got 10000000"),
])
def test_out_of_range_values_are_refused(override, message):
    assert error_of(override) == message


@pytest.mark.parametrize("override, message", [
    ({"n_boot": "1000"}, "o.yaml: n_boot: must be an integer; got '1000'"),
    ({"n_boot": 1000.0}, "o.yaml: n_boot: must be an integer; got 1000.0"),
    ({"n_boot": True}, "o.yaml: n_boot: must be an integer; got True"),
    ({"n_boot": None}, "o.yaml: n_boot: must be an integer; got None"),
    ({"q_max": "0.05"}, "o.yaml: q_max: must be a number; got '0.05'"),
    ({"min_effect": 5}, "o.yaml: min_effect: must be a mapping; got 5"),
    ({"text_probes": {"templates": "a {emotion} {group}"}},
     "o.yaml: text_probes.templates: must be a list; got 'a {emotion} {group}'"),
    ({"association_sets": {"negative": "angry"}}, "o.yaml: association_sets.negative: must be a list; got 'angry'"),
    ({"association_sets": {"negative": []}}, "o.yaml: association_sets.negative: must not be empty; got []"),
    ({"association_sets": {"negative": [3]}}, "o.yaml: association_sets.negative[0]: must be a string; got 3"),
    ({"reference_groups": {"gender": ["a"]}}, "o.yaml: reference_groups.gender: must be a string; got ['a']"),
    ({"text_probes": {"terms": {"gender": {"masculine": "man"}}}},
     "o.yaml: text_probes.terms.gender.masculine: must be a list; got 'man'"),
])
def test_wrong_types_are_refused(override, message):
    assert error_of(override) == message


@pytest.mark.parametrize("override, fragment", [
    ({"bogus": 1}, "o.yaml: unknown key 'bogus'; valid keys: n_boot, n_perm,"),
    ({"discovery": {"mthod": "kmeans"}}, "o.yaml: discovery: unknown key 'mthod'; valid keys: method, umap_cap"),
    ({"min_effect": {"disparty": 0.1}}, "o.yaml: min_effect: unknown key 'disparty'; valid keys: disparity,"),
    ({"text_probes": {"term": {}}}, "o.yaml: text_probes: unknown key 'term'; valid keys: templates,"),
])
def test_unknown_keys_are_refused_listing_the_valid_ones(override, fragment):
    assert error_of(override).startswith(fragment)


# ---------------------------------------------------------------- templates, terms and label sets

@pytest.mark.parametrize("templates, fragment", [
    (["a photo of a {emotion}"], "templates must each use exactly {emotion} and {group}"),
    (["a {emotion} {group} {place}"], "{place} is not one"),
    (["a {emotion.__class__} {group}"], "placeholders must be plain names"),
    (["a {0} {emotion} {group}"], "placeholders must be plain names"),
    (["a {emotion!r} {group}"], "placeholders must be plain names"),
    (["a {emotion} {group"], "is not a valid template"),
    ([], "must not be empty"),
    ([""], "must not be empty"),
])
def test_templates_need_their_placeholders(templates, fragment):
    assert fragment in error_of({"text_probes": {"templates": templates}})


def test_neutral_templates_take_only_the_group():
    assert "neutral templates must each use exactly {group}; {emotion} is not one" in error_of(
        {"text_probes": {"neutral_templates": ["a {emotion} {group}"]}})
    assert settings_with({"text_probes": {"neutral_templates": ["just a {group}", "{{literal}} {group}"]}})


def test_terms_are_paired_and_need_two_groups():
    assert "the groups of 'gender' are paired term by term" in error_of(
        {"text_probes": {"terms": {"gender": {"masculine": ["man"]}}}})
    assert "attribute 'race' needs at least two groups to compare" in error_of(
        {"text_probes": {"terms": {"race": {"a": ["x"]}}}})


def test_association_sets_are_exactly_two_disjoint_sets():
    assert "must hold exactly two label sets" in error_of({"association_sets": {"calm": ["happy"]}})
    assert "a label cannot be in both sets" in error_of({"association_sets": {"positive": ["angry"]}})
    replaced = settings_with({"association_sets": {"negative": None, "positive": None,
                                                   "calm": ["neutral"], "tense": ["angry"]}})
    assert replaced["association_sets"] == {"calm": ["neutral"], "tense": ["angry"]}


def test_control_characters_and_huge_names_are_refused_with_a_bounded_echo():
    message = error_of({"reference_groups": {"gender": "mas\x1bculine"}})
    assert "must not hold control characters" in message and "\x1b" not in message
    message = error_of({"reference_groups": {"g" * 10_000: "x"}})
    assert len(message) < 400 and "10000 characters" in message


def test_reference_groups_name_the_text_probe_groups():
    assert "the text-probe terms of 'gender' name no such group" in error_of({"reference_groups": {"gender": "male"}})


# ---------------------------------------------------------------- merging key by key (class 9)

def test_partial_reference_groups_keep_the_other_defaults():
    merged = settings_with({"reference_groups": {"age": "older"}})
    assert merged["reference_groups"] == {"skin_group": "light", "gender": "masculine", "age": "older"}


def test_partial_terms_keep_the_other_attributes_and_groups():
    six = ["a", "b", "c", "d", "e", "f"]
    merged = settings_with({"text_probes": {"terms": {"gender": {"feminine": six}}}})
    assert merged["text_probes"]["terms"]["gender"] == {"masculine": DEFAULTS["text_probes"]["terms"]["gender"]
                                                        ["masculine"], "feminine": six}
    assert merged["text_probes"]["terms"]["age"] == DEFAULTS["text_probes"]["terms"]["age"]
    assert merged["text_probes"]["templates"] == DEFAULTS["text_probes"]["templates"]


def test_null_removes_an_entry_only_where_entries_are_names_of_the_data():
    merged = settings_with({"reference_groups": {"age": None}, "text_probes": {"terms": {"age": None}}})
    assert "age" not in merged["reference_groups"] and "age" not in merged["text_probes"]["terms"]
    assert error_of({"discovery": None}) == "o.yaml: discovery: must be a mapping; got None"


def test_lists_replace_the_default_whole():
    merged = settings_with({"text_probes": {"templates": ["the {group} is {emotion}"]}})
    assert merged["text_probes"]["templates"] == ["the {group} is {emotion}"]


def test_merge_does_not_modify_its_inputs():
    defaults, override = copy.deepcopy(DEFAULTS), {"reference_groups": {"age": None}, "discovery": {"umap_cap": 200}}
    merge_settings(defaults, override)
    assert defaults == DEFAULTS and override == {"reference_groups": {"age": None}, "discovery": {"umap_cap": 200}}


def test_overridden_keys_are_leaf_paths():
    assert overridden_keys({"n_boot": 5, "reference_groups": {"age": None}, "discovery": {}}) == {
        "n_boot", "reference_groups.age", "discovery"}


# ---------------------------------------------------------------- any override file

def _read(folder, text: str) -> None:
    from tinyemo_audit.audit.settings import read_settings

    path = folder / "audit.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        loaded = read_settings(path)
    except InputError as err:
        assert_one_line(str(err))
        return
    # A valid override keeps every key and type the probes index into.
    values = loaded.values
    assert set(values) == set(DEFAULTS)
    assert 100 <= values["n_boot"] and 0 < values["q_max"] < 1 and len(values["association_sets"]) == 2
    for groups in values["text_probes"]["terms"].values():
        assert len(groups) >= 2 and len({len(terms) for terms in groups.values()}) == 1


override_texts = st.one_of(
    settings_documents.map(yaml_text),
    st.tuples(alias_bombs(), settings_documents.map(yaml_text)).map(lambda pair: pair[0] + pair[1]),
)


@QUICK
@given(override_texts)
def test_any_override_file_is_valid_settings_or_one_line(tmp_path_factory, text):
    _read(tmp_path_factory.mktemp("s"), text)


@pytest.mark.slow
@LONG
@given(override_texts)
def test_any_override_file_is_valid_settings_or_one_line_long(tmp_path_factory, text):
    _read(tmp_path_factory.mktemp("s"), text)
