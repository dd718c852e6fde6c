"""Tests for tinyemo_audit.reasoning.parse: the stated label of a generated answer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.reasoning.parse import label_marker, stated_label

FER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)


@settings(max_examples=100, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=6, unique=True), st.data(), st.text(max_size=40),
       st.sampled_from(["", ".", "!", " ", "\n", ". More words."]))
def test_the_stated_label_parses_back_whatever_the_reasoning(classes, data, reasoning, tail):
    label = data.draw(st.sampled_from(classes))
    text = f"Reasoning: {reasoning} Predicted Label: {label.upper() if len(label) % 2 else label}{tail}"
    assert stated_label(text, classes) == label


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=60))
def test_a_text_without_the_marker_is_a_parse_failure(text):
    if "predicted label:" not in text.lower():
        assert stated_label(text, FER) is None


def test_the_last_marker_wins_and_prefixes_do_not_count():
    assert stated_label("Predicted Label: sad ... Predicted Label: happy", FER) == "happy"
    assert stated_label("Predicted Label: happyish", FER) is None
    assert stated_label("Predicted Label: very happy", FER) is None
    assert stated_label("Predicted Label: happy-ish", ("happy", "happy-ish")) == "happy-ish"


def test_marker_comes_from_the_answer_template():
    assert label_marker("Answer: {reasoning} => Emotion: {label}") == "=> Emotion:"
    assert stated_label("Answer: x => Emotion: fear", FER, "Answer: {reasoning} => Emotion: {label}") == "fear"
