"""Tests for tinyemo_audit.reasoning.evaluate: the metrics against a hand-computed small case."""

from __future__ import annotations

import numpy as np
import pytest

from tinyemo_audit.reasoning.cues import load_cue_vocabulary
from tinyemo_audit.reasoning.evaluate import reasoning_metrics
from tinyemo_audit.reasoning.explain import Explanation

VOCAB = load_cue_vocabulary()


def _e(mode, projector, stated, text="", hint=None, tokens=10, seconds=0.5):
    return Explanation("x", mode, projector, 0.9, hint, text, stated, tokens, seconds)


def test_metrics_by_hand():
    free = [
        _e("free", "happy", "happy", "I can see raised cheeks and lip corners pulled up."),
        _e("free", "sad", "angry", "The face shows lowered and knitted brows."),
        _e("free", "fear", None, "no label here"),
        _e("free", "neutral", "neutral", "The face is relaxed."),
    ]
    conditional = [
        _e("conditional", "happy", "happy", hint="happy"),
        _e("conditional", "sad", "sad", hint="sad"),
        _e("conditional", "fear", "surprise", hint="fear"),
        _e("conditional", "neutral", None, hint="neutral"),
    ]
    truth = ["happy", "sad", "fear", "neutral"]
    drawn = np.zeros((4, len(VOCAB.cues)), dtype=bool)
    ids = VOCAB.ids
    drawn[0, [ids.index("cheeks_raised"), ids.index("lip_corners_up"), ids.index("mouth_open")]] = True
    drawn[1, [ids.index("inner_brows_raised"), ids.index("lip_corners_down")]] = True
    out = reasoning_metrics(free, conditional, truth, drawn)
    assert out["n"] == 4
    assert out["label_accuracy"] == 2 / 4
    assert out["projector_accuracy"] == 1.0
    assert out["projector_agreement"] == 2 / 4
    assert out["hint_following"] == 2 / 4
    assert out["parse_failures"] == 2 / 8
    assert out["cue_precision"] == pytest.approx(2 / 3)  # 3 named, 2 of them drawn
    assert out["cue_recall"] == pytest.approx(2 / 5)  # 5 drawn, 2 of them named
    assert out["tokens_per_second"] == pytest.approx(80 / 4.0)


def test_unlabelled_items_and_no_drawn_cues():
    free = [_e("free", "happy", "happy")]
    conditional = [_e("conditional", "happy", "happy", hint="happy")]
    out = reasoning_metrics(free, conditional, [None], None)
    assert out["label_accuracy"] is None and out["cue_recall"] is None and out["hint_following"] == 1.0
