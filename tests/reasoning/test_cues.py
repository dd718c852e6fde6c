"""Tests for tinyemo_audit.reasoning.cues: the one cue vocabulary, what faces show and what texts name."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.data.faces.attributes import EXPRESSIONS
from tinyemo_audit.data.faces.render import CONTROLS, EXPRESSION_CONTROLS
from tinyemo_audit.reasoning.cues import cue_scores, load_cue_vocabulary
from tinyemo_audit.reasoning.templates import join_phrases

VOCAB = load_cue_vocabulary()


def test_every_cue_is_a_renderer_control_in_one_direction():
    pairs = [(c.control, c.sign) for c in VOCAB.cues]
    assert len(set(pairs)) == len(pairs)
    assert all(c.control in CONTROLS and c.sign in (1, -1) for c in VOCAB.cues)


def test_no_phrase_of_one_cue_contains_a_phrase_of_another():
    # Otherwise a text naming one cue would also count as naming the other.
    for cue in VOCAB.cues:
        for other in VOCAB.cues:
            if other is cue:
                continue
            for phrase in cue.phrases:
                for inner in other.phrases:
                    assert inner.lower() not in phrase.lower(), (cue.id, phrase, other.id, inner)


def test_neutral_faces_show_no_cue_and_full_expressions_show_their_controls():
    neutral = EXPRESSIONS.index("neutral")
    assert not VOCAB.visible(np.array([neutral]), np.array([1.0])).any()
    visible = VOCAB.visible(np.arange(len(EXPRESSIONS)), np.ones(len(EXPRESSIONS)))
    for e, expression in enumerate(EXPRESSIONS):
        for j, cue in enumerate(VOCAB.cues):
            drawn = EXPRESSION_CONTROLS[e, CONTROLS.index(cue.control)] * cue.sign
            assert visible[e, j] == (drawn > VOCAB.threshold), (expression, cue.id)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, len(EXPRESSIONS) - 1), st.floats(0.0, 1.0))
def test_reference_names_only_visible_cues_and_at_most_max_named(expression, intensity):
    named = VOCAB.named_in_reference(np.array([expression]), np.array([intensity]))[0]
    visible = {VOCAB.ids[j] for j in np.flatnonzero(VOCAB.visible(np.array([expression]), np.array([intensity]))[0])}
    assert set(named) <= visible
    assert len(named) == min(len(visible), VOCAB.max_named)
    assert named == [c for c in VOCAB.ids if c in named]  # vocabulary order (top to bottom of the face)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(range(len(VOCAB.cues))), unique=True, max_size=5), st.integers(0, 3))
def test_a_text_names_exactly_the_cues_whose_phrases_it_contains(chosen, variant):
    phrases = [VOCAB.cues[j].phrases[variant % len(VOCAB.cues[j].phrases)] for j in chosen]
    text = f"Reasoning: The face shows {join_phrases(phrases)}. Predicted Label: fear"
    named = VOCAB.named_in_text([text])[0]
    assert set(np.flatnonzero(named)) == set(chosen)


def test_phrases_match_whole_words_only():
    assert not VOCAB.named_in_text(["unraised cheeksy"]).any()
    assert VOCAB.named_in_text(["RAISED CHEEKS."])[0][VOCAB.ids.index("cheeks_raised")]


def test_cue_scores_by_hand():
    named = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=bool)
    drawn = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=bool)
    scores = cue_scores(named, drawn)
    assert scores["cue_precision"] == 2 / 3
    assert scores["cue_recall"] == 2 / 4
    assert cue_scores(np.zeros((2, 3), bool), np.zeros((2, 3), bool))["cue_precision"] is None
