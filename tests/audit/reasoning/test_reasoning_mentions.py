"""Tests of audit/reasoning/_mentions.py: mention counts by group and emotion, and the paired shift, by hand."""

import numpy as np
import pytest

from tinyemo_audit.audit.reasoning import TwinTexts
from tinyemo_audit.audit.reasoning._mentions import first_mention, lexicon_terms, mention_probe

from reasoning_audit_fixtures import CLASSES, fast_settings

LEXICON = {"general": ["skin"], "groups": {"dark": ["dark-skinned", "dark skin"], "light": ["pale"]}}


def _texts():
    conditional = np.array([["calm", "calm, dark skin"], ["pale calm", "calm"], ["calm", "a dark-skinned man"],
                            ["calm", "calm"]], dtype=object)
    return TwinTexts("skin_group", ("light", "dark"), CLASSES, ["a", "b", "c", "d"], [0, 0, 2, 2],
                     np.full((4, 2), None, dtype=object), conditional.copy(), conditional)


def test_terms_general_first_once():
    assert lexicon_terms({"general": ["skin"], "groups": {"a": ["x", "skin"], "b": ["y"]}}) == ("skin", "x", "y")


def test_hand_computed_counts_and_shift():
    out = mention_probe(_texts(), LEXICON, reference=0, settings=fast_settings(), seed=0)
    assert out["rates"]["dark"]["*"] == {"count": 2, "n": 4, "rate": 0.5}
    assert out["rates"]["light"]["*"] == {"count": 1, "n": 4, "rate": 0.25}
    assert out["rates"]["dark"]["neutral"] == {"count": 1, "n": 2, "rate": 0.5}
    assert out["named"] == {"light": {"light": 1}, "dark": {"dark": 2, "(general)": 1}}  # "skin" of "dark skin"
    rows = {r["true_class"]: r for r in out["shifts"]}
    star = rows["*"]  # differences (1, -1, 1, 0)
    assert star["mean_shift"] == pytest.approx(0.25)
    assert (star["count_reference"], star["count_value"], star["n"]) == (1, 2, 4)
    assert star["p_value"] == pytest.approx(1.0)  # three ±1 differences: |sum| >= 1 under every sign vector
    assert set(rows) == {"*", "angry", "neutral"}


def test_first_mention():
    assert first_mention("A pale and dark-skinned pair", LEXICON) == "pale"
    assert first_mention("nothing", LEXICON) is None
