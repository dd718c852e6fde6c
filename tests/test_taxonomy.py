"""Tests for tinyemo_audit.taxonomy: taxonomies, synonyms and mappings as data."""

from __future__ import annotations

import dataclasses

import pytest

from tinyemo_audit.errors import UnknownNameError
from tinyemo_audit.taxonomy import get_taxonomy, list_taxonomies

PARROTT25 = (
    "affection", "cheerfulness", "confusion", "contentment", "disappointment", "disgust",
    "enthrallment", "envy", "exasperation", "gratitude", "horror", "irritability", "lust", "neglect",
    "nervousness", "optimism", "pride", "rage", "relief", "sadness", "shame", "suffering", "surprise",
    "sympathy", "zest",
)


def test_class_lists_in_order():
    assert get_taxonomy("fer7").classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert get_taxonomy("mikels8").classes == (
        "amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness",
    )
    assert get_taxonomy("ekman6").classes == ("anger", "disgust", "fear", "joy", "sadness", "surprise")
    assert get_taxonomy("parrott25").classes == PARROTT25


def test_list_and_unknown():
    names = list_taxonomies()
    assert {"fer7", "ekman6", "mikels8", "parrott25"} <= set(names)
    with pytest.raises(UnknownNameError) as err:
        get_taxonomy("plutchik8")
    assert "fer7" in str(err.value) and "parrott25" in str(err.value)


@pytest.mark.parametrize("name", list_taxonomies())
def test_synonyms_cover_every_class(name):
    taxonomy = get_taxonomy(name)
    assert set(taxonomy.synonyms) == set(taxonomy.classes)
    for label, words in taxonomy.synonyms.items():
        assert words[0] == label and len(set(words)) == len(words)
        assert all(w and w == w.strip() for w in words)


@pytest.mark.parametrize("name", list_taxonomies())
def test_mappings_land_on_target_classes(name):
    taxonomy = get_taxonomy(name)
    for target, pairs in taxonomy.mappings.items():
        assert set(pairs) <= set(taxonomy.classes)
        assert set(pairs.values()) <= set(get_taxonomy(target).classes)


def test_parrott_primary_emotions():
    to_ekman = get_taxonomy("parrott25").map_to("ekman6")
    assert set(to_ekman) == set(PARROTT25)  # complete
    assert to_ekman["rage"] == "anger" and to_ekman["horror"] == "fear"
    assert to_ekman["disgust"] == "disgust" and to_ekman["zest"] == "joy"
    to_parrott6 = get_taxonomy("parrott25").map_to("parrott6")
    assert to_parrott6["lust"] == "love" and to_parrott6["disgust"] == "anger"


def test_partial_mapping_and_round_trip():
    fer_to_ekman = get_taxonomy("fer7").map_to("ekman6")
    assert "neutral" not in fer_to_ekman
    back = get_taxonomy("ekman6").map_to("fer7")
    assert all(back[v] == k for k, v in fer_to_ekman.items())
    with pytest.raises(UnknownNameError):
        get_taxonomy("fer7").map_to("parrott25")


def test_index_and_immutability():
    taxonomy = get_taxonomy("fer7")
    assert taxonomy.index("neutral") == 6
    with pytest.raises(UnknownNameError):
        taxonomy.index("bored")
    with pytest.raises(dataclasses.FrozenInstanceError):
        taxonomy.name = "x"
    with pytest.raises(TypeError):
        taxonomy.synonyms["angry"] = ("x",)
