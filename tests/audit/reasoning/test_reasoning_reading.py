"""Tests of audit/reasoning/_reading.py: the paired reading shift by hand, and the MiniLM reading's direction."""

import numpy as np
import pytest

from tinyemo_audit.audit.reasoning._reading import minilm_reading, pair_order, read_twins, text_shift_probe

from reasoning_audit_fixtures import CALM, HOSTILE, fast_settings, planted_texts, word_reading


def test_hand_computed_shift_toward_angry():
    tt = planted_texts(n=4, planted=2)
    readings = read_twins(tt, word_reading)
    assert readings.shape == (4, 2, 3)
    out = text_shift_probe(tt, readings, reference=0, settings=fast_settings(), seed=0)
    assert out["identical"] == {"dark": 2}
    (row,) = out["shifts"]  # only "angry" changes; all four are neutral, so no "*" comparison
    assert (row["label"], row["true_class"], row["value"], row["reference"]) == ("angry", "neutral", "dark", "light")
    assert row["mean_shift"] == 0.5 and row["reading_reference"] == 0 and row["reading_value"] == 0.5
    # Exact sign-flip: differences (1, 1, 0, 0); |mean| >= 0.5 when the two non-zero signs agree: 8 of 16.
    assert row["p_value"] == pytest.approx(8 / 16) and row["n_identical"] == 2 and row["n"] == 4


def test_pairs_ranked_by_rise():
    readings = np.zeros((3, 2, 1))
    readings[:, 1, 0] = [0.1, 0.5, 0.5]
    assert pair_order(readings, np.arange(3), 0, 1, 0).tolist() == [1, 2, 0]


@pytest.mark.slow
def test_minilm_reading_reads_hostile_as_angry():
    scores = minilm_reading([CALM, CALM + HOSTILE, CALM], ["angry", "happy"])
    assert scores.shape == (3, 2)
    assert scores[1, 0] - scores[0, 0] > 0.02  # the planted sentence moves the text toward angry
    assert scores[0, 0] == pytest.approx(scores[2, 0])  # the same text reads the same
