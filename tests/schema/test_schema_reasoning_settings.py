"""Tests of schema/reasoning_settings.py: the reasoning audit's settings and lexicons, hostile values refused in one line."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit.settings import CONFIG_DICT, read_settings
from tinyemo_audit.errors import InputError

BAD = {
    "enabled: a string other than auto": ({"enabled": "yes"}, "reasoning.enabled"),
    "enabled: a number": ({"enabled": 1}, "reasoning.enabled"),
    "unknown key": ({"colour": "red"}, "unknown key 'colour'; valid keys: enabled, twins_per_attribute"),
    "too few twins": ({"twins_per_attribute": 1}, "reasoning.twins_per_attribute: must be at least 2"),
    "no tokens": ({"max_new_tokens": 0}, "reasoning.max_new_tokens: must be at least 1"),
    "too many tokens": ({"max_new_tokens": 10_000}, "reasoning.max_new_tokens: must be at most 512"),
    "few permutations": ({"leakage": {"n_perm": 5}}, "reasoning.leakage.n_perm: must be at least 100"),
    "one fold": ({"leakage": {"folds": 1}}, "reasoning.leakage.folds: must be at least 2"),
    "unknown leakage key": ({"leakage": {"classifier": "svm"}}, "unknown key 'classifier'; valid keys: folds, n_perm"),
    "empty lexicon": ({"lexicons": {"hair": {}}}, "reasoning.lexicons.hair: an empty lexicon"),
    "empty groups": ({"lexicons": {"hair": {"groups": {}}}}, "an empty lexicon"),
    "empty list": ({"lexicons": {"age": {"general": []}}}, "reasoning.lexicons.age.general"),
    "unknown lexicon key": ({"lexicons": {"age": {"words": ["old"]}}}, "unknown key 'words'; valid keys: general, groups"),
    "term not a string": ({"lexicons": {"age": {"groups": {"old": [42]}}}}, "must be a string"),
    "term without a word": ({"lexicons": {"age": {"general": ["..."]}}}, "a term must hold a word"),
    "control character": ({"lexicons": {"age": {"general": ["old\x1b[2J"]}}}, "control characters"),
    "lexicons not a mapping": ({"lexicons": ["age"]}, "reasoning.lexicons: must be a mapping"),
    "attributes empty": ({"attributes": []}, "reasoning.attributes"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_hostile_reasoning_settings_are_one_line(case):
    override, fragment = BAD[case]
    with pytest.raises(InputError) as err:
        read_settings({"reasoning": override})
    message = str(err.value)
    assert message.startswith(f"{CONFIG_DICT}: ") and fragment in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 400


@pytest.mark.shipped_settings
def test_defaults_and_merging():
    values = read_settings().values["reasoning"]
    assert values["enabled"] == "auto" and values["expressions"] == ["neutral"]
    assert set(values["lexicons"]) == {"skin_group", "gender", "age"}
    merged = read_settings({"reasoning": {"enabled": False, "lexicons": {"age": None,
                                                                        "gender": {"general": ["sex"]}}}}).values
    assert merged["reasoning"]["enabled"] is False
    assert "age" not in merged["reasoning"]["lexicons"]  # null removes an attribute's lexicon
    gender = merged["reasoning"]["lexicons"]["gender"]
    assert gender["general"] == ["sex"] and "feminine" in gender["groups"]  # lists replace, mappings merge


@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=8), st.lists(st.integers(), max_size=2)))
def test_enabled_accepts_only_auto_true_false(value):
    if value == "auto":
        assert read_settings({"reasoning": {"enabled": value}}).values["reasoning"]["enabled"] == "auto"
        return
    with pytest.raises(InputError):
        read_settings({"reasoning": {"enabled": value}})
