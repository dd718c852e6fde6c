"""Tests of validate/_reasoning_trial.py: the planted direction, the knob's words, realised figures, the trial's audit.

The direction rule is checked on made-up findings (a finding on gender, on light or medium skin, about
mentions, toward the knob's own label or a non-negative emotion, or leakage without amplification is
no hit) and as properties over generated findings; the trial's audit path on hand-made twin texts
(reasoning_audit_fixtures: the dark twin of some neutral identities is called hostile).
"""

import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tinyemo_audit.reasoning.settings import AnnotatorBias
from tinyemo_audit.validate._reasoning_trial import (
    PlantedDirection, audit_texts, is_hit, knob_file, knob_words, planted_direction, realised,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit" / "reasoning"))
from reasoning_audit_fixtures import fast_settings, planted_texts  # noqa: E402

DIRECTION = PlantedDirection("skin_group", "dark", "neutral", ("angry", "disgust", "fear", "sad"), ("hostile",))
KINDS = ("reasoning_label", "reasoning_text", "reasoning_mention", "reasoning_leakage")


def finding(kind, attribute="skin_group", groups=("light", "dark"), target="angry", amplification=None):
    outcome = {"target": target} if kind in ("reasoning_label", "reasoning_text") else {}
    if kind == "reasoning_leakage":
        outcome = {"amplification": amplification, "leakage": 0.4}
    return {"kind": kind, "attribute": attribute, "groups": list(groups), "outcome": outcome}


@pytest.mark.parametrize("made_up, hit", [
    (finding("reasoning_label", target="fear"), True),  # dark twins state fear: away from neutral
    (finding("reasoning_label", target="happy"), True),  # any label but the knob's own
    (finding("reasoning_label", target="neutral"), False),
    (finding("reasoning_text", target="angry"), True),
    (finding("reasoning_text", target="sad"), True),
    (finding("reasoning_text", target="happy"), False),  # reads more happy: not the plant's direction
    (finding("reasoning_text", target="surprise"), False),
    (finding("reasoning_text", groups=("light", "medium")), False),  # medium skin is not the knob's group
    (finding("reasoning_text", groups=("dark", "light")), False),  # light skin as the changed twin
    (finding("reasoning_label", groups=("dark", "light"), target="fear"), False),
    (finding("reasoning_text", attribute="gender", groups=("masculine", "feminine")), False),
    (finding("reasoning_label", attribute="age", groups=("adult", "older"), target="sad"), False),
    (finding("reasoning_mention"), False),  # the knob names no attribute
    (finding("reasoning_leakage", amplification=0.15), True),
    (finding("reasoning_leakage", amplification=None), False),  # above chance, not amplified
    (finding("reasoning_leakage", attribute="gender", amplification=0.2), False),
    ({"kind": "counterfactual", "attribute": "skin_group", "groups": ["light", "dark"],
      "outcome": {"target": "angry"}}, False),  # not a reasoning probe
])
def test_direction_rule_on_made_up_findings(made_up, hit):
    assert is_hit(made_up, DIRECTION) is hit


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), attribute=st.sampled_from(["skin_group", "gender", "age", "other"]),
       changed=st.sampled_from(["light", "medium", "dark", "feminine", "older"]),
       target=st.sampled_from(["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]),
       amplification=st.one_of(st.none(), st.floats(-1, 1, allow_nan=False)))
def test_direction_rule_properties(kind, attribute, changed, target, amplification):
    made_up = finding(kind, attribute, ("light", changed), target, amplification)
    hit = is_hit(made_up, DIRECTION)
    if attribute != "skin_group" or kind == "reasoning_mention":
        assert not hit  # another attribute, or a mention, is never the plant
    if kind in ("reasoning_label", "reasoning_text") and changed != "dark":
        assert not hit  # only the knob's group as the changed twin
    if kind in ("reasoning_label", "reasoning_text") and target == "neutral":
        assert not hit  # toward the twins' own label is no shift away from it
    if kind == "reasoning_text" and attribute == "skin_group" and changed == "dark":
        assert hit == (target in DIRECTION.negative)


def test_knob_words_are_the_words_every_sentence_shares():
    assert knob_words(("The face looks hostile.", "There is something hostile in the look.")) == ("hostile",)
    # no shared word: every sentence's words count
    assert knob_words(("A menacing stare.", "Cold eyes.")) == ("cold", "eyes", "menacing", "stare")


def test_direction_is_read_from_the_shipped_knob_file():
    from tinyemo_audit.reasoning.settings import InstructConfig

    knob = InstructConfig.from_sources(knob_file()).annotator_bias
    direction = planted_direction(knob, ("angry",))
    assert (direction.attribute, direction.value, direction.label) == (knob[0].attribute, knob[0].value, knob[0].label)
    assert direction.words and all(any(w in s.lower() for s in knob[0].sentences) for w in direction.words)
    made = planted_direction((AnnotatorBias("gender", "feminine", "sad", 0.5, ("So cold.", "Cold look.")),), ())
    assert (made.attribute, made.value, made.label, made.words) == ("gender", "feminine", "sad", ("cold",))


def test_realised_counts_knob_words_and_other_labels_per_group():
    tt = planted_texts(n=40, planted=12, stated_flips=5)
    figures = realised({"skin_group": tt}, DIRECTION)
    assert figures["n_twins"] == 40
    assert figures["conditional_with_knob_word"] == {"light": 0, "dark": 12}
    assert figures["free_with_knob_word"] == {"light": 0, "dark": 0}
    assert figures["free_stating_other_label"] == {"light": 0, "dark": 5}
    assert realised({"gender": tt}, DIRECTION) is None  # the knob's attribute was not audited


def _context():
    return types.SimpleNamespace(settings=fast_settings(), references={"skin_group": "light"})


def test_the_trial_audit_finds_hand_planted_wording_in_the_planted_direction():
    _, findings, n_tests = audit_texts({"skin_group": planted_texts(n=40, planted=30)}, _context(), seed=0)
    assert n_tests > 0
    hits = [f for f in findings if is_hit(f, DIRECTION)]
    assert any(f["kind"] == "reasoning_text" and f["outcome"]["target"] == "angry" for f in hits), \
        [f["title"] for f in findings]
    assert all(f["kind"].startswith("reasoning_") for f in findings)


def test_the_trial_audit_of_identical_twin_texts_raises_nothing():
    _, findings, _ = audit_texts({"skin_group": planted_texts(n=40, planted=0)}, _context(), seed=0)
    assert findings == []
